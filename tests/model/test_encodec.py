"""Model API contracts: clear errors for bad input, the latent path, keys and properties."""

from __future__ import annotations

import pytest
import torch

from conformance import ConfigError, EncodecConfig
from conformance import ModelInputError as InputError
from conformance.model.encodec import Encoded
from conformance.testing.weights import random_model
from tests.configs import CHUNKED_48, LADDER_24

pytestmark = pytest.mark.usefixtures("no_grad")

SMALL, SMALL48 = LADDER_24, CHUNKED_48


@pytest.fixture(scope="module")
def model():
    return random_model(SMALL, seed=3)


@pytest.fixture(scope="module")
def model48():
    return random_model(SMALL48, seed=4)


@pytest.mark.parametrize("wav, match", [
    (torch.zeros(1, 2, 100), "channel"),
    (torch.zeros(1, 100), r"\[B, C, T\]"),
    (torch.zeros(1, 1, 0), "no samples"),
    (torch.zeros(1, 1, 100, dtype=torch.int16), "floating"),
    (torch.full((1, 1, 100), float("nan")), "NaN"),
    (torch.full((1, 1, 100), float("inf")), "infinite"),
])
def test_bad_audio_is_refused_clearly(model, wav, match):
    with pytest.raises(InputError, match=match):
        model.encode(wav, 1.5)


def test_wrong_sample_rate_is_refused(model):
    with pytest.raises(InputError, match="16000.*24000"):
        model.encode(torch.zeros(1, 1, 100), 1.5, sample_rate=16000)
    assert model.encode(torch.zeros(1, 1, 100), 1.5, sample_rate=24000).n_q == 2


def test_silence_encodes_without_nan(model48):
    """A silent chunk gets scale 1e-8 and decodes to (near) silence, never NaN."""
    enc = model48.encode(torch.zeros(1, 2, 5000), "all")
    assert all(float(c.scale.max()) == pytest.approx(1e-8) for c in enc.chunks)
    out = model48.decode(enc)
    assert bool(torch.isfinite(out).all()) and float(out.abs().max()) < 1e-6


def test_bandwidth_choice_is_explicit(model):
    wav = torch.randn(1, 1, 640) * 0.1
    with pytest.raises(ConfigError, match="exactly one"):
        model.encode(wav, 1.5, n_q=2)
    with pytest.raises(ConfigError, match="n_q=9"):
        model.encode(wav, n_q=9)
    with pytest.raises(ConfigError, match=r"choose one of \[1.5, 3.0, 6.0\]"):
        model.encode(wav, 2.0)
    with pytest.raises(ConfigError, match="'all'"):
        model.encode(wav, "everything")
    assert model.encode(wav, "smallest").n_q == 2
    assert model.encode(wav, "all").n_q == 8
    assert model.encode(wav, 6.0).n_q == 8


def test_decode_checks_codes(model, model48):
    with pytest.raises(ValueError, match="out of range"):
        model.decode(torch.full((1, 2, 3), 1024))
    with pytest.raises(ValueError, match="codebooks"):
        model.decode(torch.zeros(1, 9, 3, dtype=torch.long))
    with pytest.raises(InputError, match="integer"):
        model.decode(torch.zeros(1, 2, 3))
    with pytest.raises(InputError, match="does not renormalise"):
        model.decode(torch.zeros(1, 2, 3, dtype=torch.long), scale=torch.ones(1, 1))
    with pytest.raises(InputError, match="chunked"):
        model48.decode(torch.zeros(1, 2, 3, dtype=torch.long))
    enc = model48.encode(torch.randn(1, 2, 100) * 0.1, "all")
    enc.chunks[0].scale = None
    with pytest.raises(InputError, match="scale"):
        model48.decode(enc)


def test_fewer_codebooks_decode(model):
    """Decoding the first k codebooks of an all-codebook encode equals encoding with k."""
    wav = torch.randn(1, 1, 1000) * 0.1
    full = model.encode(wav, "all").codes
    for k in (1, 3, 8):
        assert torch.equal(model.decode(full[:, :k]), model.decode(model.encode(wav, n_q=k)))


def test_decode_latents_errors(model):
    z = torch.zeros(1, 8, 5)
    with pytest.raises(InputError, match="layout"):
        model.decode_latents(z, layout="TBD")
    with pytest.raises(InputError, match="latent dimension is 8"):
        model.decode_latents(torch.zeros(1, 7, 5))
    with pytest.raises(InputError, match="dim 2 is 5"):
        model.decode_latents(z, layout="BTD")
    with pytest.raises(InputError, match="3 dims"):
        model.decode_latents(torch.zeros(8, 5))
    with pytest.raises(InputError, match="std.shape"):
        model.decode_latents(z, std=torch.ones(3))
    with pytest.raises(InputError, match="finite"):
        model.decode_latents(torch.full((1, 8, 5), float("nan")))
    out = model.decode_latents(torch.zeros(2, 5, 8), mean=0.0, std=1.0, layout="BTD")
    assert out.shape == (2, 1, 5 * SMALL.hop_length)


def test_decode_latents_denormalises_before_permuting(model):
    """JASCO's path: z * std + mean on [B, T, D] (per-dimension stats), then [B, D, T]."""
    gen = torch.Generator().manual_seed(0)
    z_btd = torch.randn(1, 6, 8, generator=gen)
    mean, std = torch.randn(8, generator=gen), torch.rand(8, generator=gen) + 0.5
    expected = model.decoder((z_btd * std + mean).permute(0, 2, 1))
    got = model.decode_latents(z_btd, mean=mean, std=std, layout="BTD")
    assert torch.allclose(got, expected, atol=1e-6)
    # the same stats in BDT layout apply along dim 1
    got_bdt = model.decode_latents(z_btd.permute(0, 2, 1), mean=mean, std=std, layout="BDT")
    assert torch.allclose(got_bdt, expected, atol=1e-6)


def test_time_group_norm_single_value_input_is_a_clear_error():
    cfg = EncodecConfig(sample_rate=100, channels=1, dimension=1, n_filters=2, ratios=(1,),
                        causal=False, norm="time_group_norm", lstm=0, n_q=1, bins=2,
                        target_bandwidths=())
    with pytest.raises(InputError, match="too short"):
        random_model(cfg).encode(torch.randn(1, 1, 1), "all")


def test_canonical_state_dict_keys(model, model48):
    keys = set(model.state_dict())
    assert "encoder.model.0.conv.conv.weight_g" in keys
    assert "decoder.model.3.convtr.convtr.weight_v" in keys
    assert "encoder.model.13.lstm.weight_ih_l1" in keys
    assert "encoder.model.1.shortcut.conv.conv.bias" in keys
    assert "quantizer.vq.layers.7._codebook.embed_avg" in keys
    assert model.state_dict()["decoder.model.3.convtr.convtr.weight_g"].shape == (64, 1, 1)
    keys48 = set(model48.state_dict())
    assert "decoder.model.3.convtr.norm.weight" in keys48
    assert "encoder.model.0.conv.conv.weight" in keys48


def test_encoded_codes_concatenate_chunks(model48):
    enc = model48.encode(torch.randn(2, 2, 6000) * 0.1, 3.0)
    assert isinstance(enc, Encoded)
    assert enc.codes.shape == (2, 2, sum(c.codes.shape[-1] for c in enc.chunks))
    assert len(enc.scales) == len(enc.chunks) > 1
    assert enc.bandwidth == 3.0 and enc.length == 6000 and enc.sample_rate == 48000


@pytest.mark.parametrize("cfg", [LADDER_24, CHUNKED_48], ids=["unchunked", "chunked"])
def test_encode_latents_are_what_the_quantizer_codes(cfg):
    model = random_model(cfg, seed=1).eval()
    n = int(2.3 * (cfg.segment_length or cfg.sample_rate))
    wav = 0.3 * torch.randn(2, cfg.channels, n, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        latents = model.encode_latents(wav)
        encoded = model.encode(wav, n_q=model.n_q)
    assert len(latents) == len(encoded.chunks) > (1 if cfg.segment_length else 0)
    for (z, scale), chunk in zip(latents, encoded.chunks, strict=True):
        assert torch.equal(model.quantizer.encode(z, model.n_q), chunk.codes)
        assert (scale is None) == (chunk.scale is None)
        if scale is not None:
            assert torch.equal(scale, chunk.scale)
