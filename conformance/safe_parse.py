"""Parsing YAML and JSON from untrusted files, bounded in size, nesting and expansion.

Config files are as hostile as checkpoints. YAML is parsed with PyYAML's pure-Python
`SafeLoader` (no object tags; its recursion stays inside Python's recursion limit), JSON with
the standard library; before either runs, the text must be at most `MAX_TEXT_BYTES`. After
parsing, `check_tree` walks the result as a consumer would, counting a shared node (a YAML
alias, a pickle memo reference) every time it is reached, and refuses more than `MAX_NODES`
nodes or `MAX_DEPTH` levels: a "billion laughs" document is a few hundred bytes that expand
exponentially. Numbers with thousands of digits are refused by Python's own int-conversion
limit; non-finite or absurd values are refused later, by the config's validation, which names
the field.

Every refusal is a `ConfigFileError` naming the source and the limit, raised within a second
or two whatever the file holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.errors import ConfigFileError

__all__ = ["MAX_DEPTH", "MAX_NODES", "MAX_TEXT_BYTES", "check_tree", "parse_json",
           "parse_yaml"]

#: Largest config text accepted (an AudioCraft training xp.cfg is about 30 KB).
MAX_TEXT_BYTES = 1 << 20
#: Most nodes (containers and scalars) a parsed config may expand to.
MAX_NODES = 200_000
#: Deepest nesting a parsed config may have.
MAX_DEPTH = 64


def _text(data: str | bytes, source: str) -> str:
    size = len(data.encode("utf-8", errors="replace")) if isinstance(data, str) else len(data)
    if size > MAX_TEXT_BYTES:
        raise ConfigFileError(f"{source}: {size} bytes, more than the {MAX_TEXT_BYTES} bytes a "
                              "config may have; refused")
    if isinstance(data, bytes):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigFileError(f"{source}: not UTF-8 text ({exc})") from exc
    return data


def _short(exc: BaseException, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_tree(obj: Any, source: str, *, max_nodes: int = MAX_NODES,
               max_depth: int = MAX_DEPTH) -> None:
    """Refuse a parsed tree that expands to more than `max_nodes` nodes or nests deeper than
    `max_depth` (shared nodes count every time they are reached; stops at the limit)."""
    count = 0
    stack: list[tuple[Any, int]] = [(obj, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > max_nodes:
            raise ConfigFileError(f"{source}: expands to more than {max_nodes} values (shared "
                                  "references, e.g. YAML aliases, count each time they are "
                                  "used); refused")
        if depth > max_depth:
            raise ConfigFileError(f"{source}: nested more than {max_depth} levels deep; refused")
        if isinstance(node, Mapping):
            stack.extend((v, depth + 1) for v in node.values())
            stack.extend((k, depth + 1) for k in node if not isinstance(k, str))
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend((v, depth + 1) for v in node)


def parse_yaml(text: str | bytes, source: str = "<yaml text>") -> Any:
    """`yaml.load(text, SafeLoader)` within the limits above (ConfigFileError otherwise)."""
    import yaml

    text = _text(text, source)
    try:
        data = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{source}: not valid (safe) YAML ({_short(exc)})") from exc
    except RecursionError as exc:
        raise ConfigFileError(f"{source}: nested too deeply to parse; refused") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an int of 5000 digits
        raise ConfigFileError(f"{source}: holds a value that cannot be read "
                              f"({_short(exc)})") from exc
    check_tree(data, source)
    return data


def parse_json(text: str | bytes, source: str = "<json text>") -> Any:
    """`json.loads(text)` within the limits above (ConfigFileError otherwise)."""
    import json

    text = _text(text, source)
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise ConfigFileError(f"{source}: nested too deeply to parse; refused") from exc
    except ValueError as exc:  # JSONDecodeError, or an int of 5000 digits
        raise ConfigFileError(f"{source}: not valid JSON ({_short(exc)})") from exc
    check_tree(data, source)
    return data
