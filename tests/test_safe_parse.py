"""Untrusted YAML and JSON are parsed within bounds: no object tags, no exponential expansion,
no unbounded nesting or size, every refusal a ConfigFileError that finishes quickly."""

from __future__ import annotations

import json
import time

import pytest

from conformance.errors import ConfigFileError, RefusedInput
from conformance.safe_parse import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TEXT_BYTES,
    check_tree,
    parse_json,
    parse_yaml,
)

BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
       f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
       f"*{chr(97 + i)}]" for i in range(8)])


def test_valid_configs_parse():
    assert parse_yaml("seanet: {ratios: [8, 5, 4, 2], causal: true}") == {
        "seanet": {"ratios": [8, 5, 4, 2], "causal": True}}
    assert parse_json('{"upsampling_ratios": [8, 5, 4, 2]}') == {
        "upsampling_ratios": [8, 5, 4, 2]}


@pytest.mark.parametrize(("text", "match"), [
    (BILLION_LAUGHS, "expands to more than"),
    ("[" * 5000 + "]" * 5000, "nested too deeply|nested more than"),
    ("!!python/object/apply:os.system ['echo hacked']", r"not valid \(safe\) YAML"),
    ("x: !!python/name:os.system", r"not valid \(safe\) YAML"),
    ("x: " + "9" * 5000, "cannot be read"),
    ("x: [unclosed", r"not valid \(safe\) YAML"),
])
def test_hostile_yaml_is_refused_quickly(text, match):
    t0 = time.perf_counter()
    with pytest.raises(ConfigFileError, match=match):
        parse_yaml(text, "evil.yaml")
    assert time.perf_counter() - t0 < 5.0  # a sanity bound, not a benchmark


@pytest.mark.parametrize(("text", "match"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply|nested more than"),
    ('{"x": ' + "9" * 5000 + "}", "not valid JSON"),
    ("{not json", "not valid JSON"),
    ('{"a": [' + ", ".join(["[0, 0, 0, 0]"] * (MAX_NODES // 4)) + "]}", "expands to more"),
])
def test_hostile_json_is_refused(text, match):
    with pytest.raises(ConfigFileError, match=match):
        parse_json(text, "evil.json")


def test_size_limit_is_checked_before_parsing():
    with pytest.raises(ConfigFileError, match=f"more than the {MAX_TEXT_BYTES} bytes"):
        parse_yaml("a: 1\n" * (MAX_TEXT_BYTES // 4), "big.yaml")


def test_shared_references_count_every_time_they_are_used():
    leaf = list(range(10))
    tree = {"a": [leaf] * 100}  # 1,000 leaves reached through one shared list
    check_tree(tree, "ok")
    with pytest.raises(ConfigFileError, match="expands to more than 500"):
        check_tree(tree, "x", max_nodes=500)
    deep: list = []
    node = deep
    for _ in range(MAX_DEPTH + 2):
        node.append([])
        node = node[0]
    with pytest.raises(ConfigFileError, match=f"nested more than {MAX_DEPTH}"):
        check_tree(deep, "deep")


def test_refusals_are_refused_input():
    assert issubclass(ConfigFileError, RefusedInput)
    with pytest.raises(RefusedInput):
        parse_json(json.dumps([1]) + "garbage", "x")
