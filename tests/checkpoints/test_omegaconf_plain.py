"""OmegaConf configs as plain data: stand-ins to dicts, cycles refused, references resolved like
OmegaConf."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conformance.checkpoints.omegaconf_plain import resolve_interpolations, to_plain
from conformance.checkpoints.unpickler import (
    load_torch,
)
from conformance.errors import CheckpointError


def _assert_refused(path: Path, marker: Path, global_name: str) -> None:
    with pytest.raises(CheckpointError) as info:
        load_torch(path)
    msg = str(info.value)
    assert global_name in msg and str(path) in msg, msg
    assert "refused" in msg
    assert not marker.exists(), "the hostile payload ran"


def test_to_plain_converts_containers_and_refuses_cycles() -> None:
    dd = collections.defaultdict(list, {"a": collections.OrderedDict(b=[1, (2, 3)])})
    out = to_plain(dd)
    assert out == {"a": {"b": [1, (2, 3)]}}
    assert type(out) is dict and type(out["a"]) is dict
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="cycle"):
        to_plain(cyclic)


def test_resolve_interpolations_like_omegaconf() -> None:
    tree = {"sample_rate": 32000, "channels": 1,
            "encodec": {"sample_rate": "${sample_rate}", "causal": False},
            "seanet": {"channels": "${channels}", "causal": "${encodec.causal}",
                       "sib": "${.channels}", "up": "${..sample_rate}", "ratios": [8, 5],
                       "r1": "${seanet.ratios[1]}", "name": "sr${sample_rate}_c${channels}"},
            "chain": {"a": "${chain.b}", "b": "${encodec.sample_rate}"}}
    resolved, problems = resolve_interpolations(tree)
    assert problems == []
    assert resolved == OmegaConf.to_container(OmegaConf.create(tree), resolve=True)
    assert tree["seanet"]["channels"] == "${channels}", "the input must not be modified"


def test_resolve_interpolations_reports_what_it_cannot_resolve() -> None:
    tree = {"a": "${missing.key}", "b": "${oc.env:HOME}", "c": "${c}", "d": "???", "e": 1}
    resolved, problems = resolve_interpolations(tree)
    assert resolved == tree
    assert len(problems) == 3
    assert any("a:" in p and "unknown key" in p for p in problems)
    assert any("b:" in p and "resolver" in p for p in problems)
    assert any("c:" in p and "cycle" in p for p in problems)
