"""Known-answer vectors: small models whose expected codes and audio were produced by the PEER
implementations (transformers and the original encodec package), so the default test env (which
does not install them) still compares the reference against independent code.

Regenerate with `python -m tests.known_answers` inside the peers env (`tox -e peers -- ...` or
an env with `.[peers]`); `tests/test_known_answers.py::test_vectors_match_installed_peers`
(peers env) proves the stored vectors are what the installed peers produce today.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from conformance.model.config import EncodecConfig
from conformance.model.presets import AUDIOGEN_16KHZ, ENCODEC_24KHZ, ENCODEC_32KHZ, ENCODEC_48KHZ

DATA = Path(__file__).resolve().parent / "data" / "known_answers"

_TINY = dict(n_filters=2, dimension=8, bins=64, n_q=4)
CASES: dict[str, tuple[EncodecConfig, int, tuple[str, ...]]] = {
    # name: (config, input length, peers that can run it)
    "causal24": (ENCODEC_24KHZ.replace(**_TINY, target_bandwidths=(0.9, 1.8)), 3 * 320 * 7 + 11,
                 ("transformers", "encodec")),
    "chunked48": (ENCODEC_48KHZ.replace(**_TINY, target_bandwidths=(1.8, 3.6), segment=0.02),
                  2500, ("transformers", "encodec")),
    "noshortcut32": (ENCODEC_32KHZ.replace(**_TINY, target_bandwidths=(0.6, 1.2)), 640 * 6 + 5,
                     ("transformers", "encodec")),
    "constant16": (AUDIOGEN_16KHZ.replace(**_TINY, target_bandwidths=(0.6, 1.2)), 320 * 9 - 3,
                   ("transformers", "encodec")),
    "odd_structure": (EncodecConfig(
        name="odd_structure", sample_rate=12000, channels=1, dimension=12, n_filters=4,
        n_residual_layers=2, ratios=(4, 3, 2), kernel_size=5, last_kernel_size=3,
        residual_kernel_size=3, dilation_base=3, causal=True, norm="none", pad_mode="constant",
        true_skip=False, compress=2, lstm=0, trim_right_ratio=0.5, bins=32, n_q=3,
        target_bandwidths=(2.5, 7.5)), 24 * 30 + 7, ("encodec",)),
}


def case_input(cfg: EncodecConfig, length: int) -> torch.Tensor:
    from tests.helpers import signal

    return signal(2, cfg.channels, length, seed=length)


def generate() -> None:
    """Write weights, input and peer outputs for every case (needs the peers extra)."""
    import importlib.metadata as md

    from safetensors.torch import save_file

    from conformance.adapters.encodec_package import EncodecPackageAdapter
    from conformance.adapters.transformers import TransformersAdapter
    from conformance.testing.weights import random_model

    DATA.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    for name, (cfg, length, peer_names) in CASES.items():
        model = random_model(cfg, seed=1234)
        wav = case_input(cfg, length)
        tensors = {f"weight/{k}": v.contiguous() for k, v in model.state_dict().items()}
        tensors["input"] = wav
        meta = {"config": cfg.to_dict(), "length": length, "peers": {}, "outputs": {}}
        outputs = {}
        for peer_name in peer_names:
            peer = {"transformers": TransformersAdapter,
                    "encodec": EncodecPackageAdapter}[peer_name].from_model(model)
            meta["peers"][peer_name] = md.version(peer_name)
            for bw in cfg.bandwidths:
                frames = peer.encode(wav, bw)
                entry = {"codes": [c for c, _ in frames], "audio": peer.decode(frames),
                         "scales": [s for _, s in frames if s is not None]}
                if bw in outputs:  # every peer must agree before anything is stored
                    prev = outputs[bw]
                    assert all(torch.equal(a, b) for a, b in zip(prev["codes"], entry["codes"]))
                    assert (prev["audio"] - entry["audio"]).abs().max() < 1e-5
                    continue
                outputs[bw] = entry
        for bw, entry in outputs.items():
            for i, c in enumerate(entry["codes"]):
                tensors[f"codes/{bw}/{i}"] = c.contiguous()
            for i, s in enumerate(entry["scales"]):
                tensors[f"scale/{bw}/{i}"] = s.reshape(-1).contiguous()
            tensors[f"audio/{bw}"] = entry["audio"].contiguous()
            meta["outputs"][str(bw)] = {"chunks": len(entry["codes"]),
                                        "n_q": model.n_q_for_bandwidth(bw)}
        save_file(tensors, str(DATA / f"{name}.safetensors"))
        (DATA / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
        print(f"{name}: {len(tensors)} tensors, peers {meta['peers']}")


if __name__ == "__main__":
    generate()
