"""OmegaConf configs as plain data: the unpickler's stand-ins become dicts and lists, and
`${a.b}` references are resolved the way OmegaConf would, without importing omegaconf.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conformance.checkpoints.unpickler import DictConfigStub, ListConfigStub, ValueNodeStub
from conformance.safe_parse import MAX_DEPTH, MAX_NODES

__all__ = ["MAX_RESOLVED_CHARS", "resolve_interpolations", "to_plain"]

#: A `${...}` reference whose resolved string would be longer than this is left unresolved.
MAX_RESOLVED_CHARS = 1 << 16


def to_plain(obj: Any, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> Any:
    """OmegaConf stand-ins, defaultdicts and OrderedDicts -> plain dicts/lists, recursively.

    Interpolations (`${a.b}`) and missing values (`???`) are kept as strings; see
    `resolve_interpolations`. ValueError for a container that contains itself, for more than
    `max_nodes` values (shared references count each time, as the copy would hold them) and
    for nesting deeper than `max_depth`.
    """
    budget = [max_nodes]
    return _plain(obj, set(), budget, max_depth)


def _plain(obj: Any, active: set[int], budget: list[int], depth: int) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("the config expands to too many values (shared references count "
                         "each time they are used)")
    if depth < 0:
        raise ValueError("the config is nested too deeply")
    if isinstance(obj, ValueNodeStub):
        key = "_val" if "_val" in obj.state else "_content"
        return _plain(obj.state.get(key), active, budget, depth - 1)
    if isinstance(obj, (DictConfigStub, ListConfigStub)):
        content = obj.state.get("_content")
        if isinstance(content, (Mapping, list, tuple)):
            plain = _plain(content, active, budget, depth - 1)
            return list(plain) if isinstance(obj, ListConfigStub) else plain
        return content  # None (null config), "???" (missing) or "${...}" (interpolation)
    if isinstance(obj, (Mapping, list, tuple)):
        if id(obj) in active:
            raise ValueError("the data contains itself (a reference cycle)")
        active.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                return {k: _plain(v, active, budget, depth - 1) for k, v in obj.items()}
            items = [_plain(v, active, budget, depth - 1) for v in obj]
            return items if isinstance(obj, list) else tuple(items)
        finally:
            active.discard(id(obj))
    return obj


_INTERP = re.compile(r"(?<!\\)\$\{([^${}]*)\}")
_REF = re.compile(r"^\.*[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+|\[\d+\])*$")

Path_ = tuple[Any, ...]


def resolve_interpolations(tree: Any) -> tuple[Any, list[str]]:
    """Resolve OmegaConf node references (`${a.b}`, `${.sibling}`, `x_${a}`) in a plain tree.

    Returns the resolved copy and a list of problems (unknown keys, cycles, resolver calls such
    as `${oc.env:X}`, strings that would grow beyond `MAX_RESOLVED_CHARS`); those values are
    left as written. Every node is resolved once (references to it reuse the result), so
    chains of references cost linear time.
    """
    problems: list[str] = []
    done: dict[Path_, Any] = {}

    def lookup(ref: str, container: Path_, stack: tuple[Path_, ...]) -> Any:
        dots = len(ref) - len(ref.lstrip("."))
        if dots - 1 > len(container):
            raise KeyError(ref)
        base = container[: len(container) - dots + 1] if dots else ()
        path = (*base, *(p for p in re.split(r"\.|\[(\d+)\]", ref[dots:]) if p))
        node: Any = tree
        for p in path:
            if isinstance(node, Mapping) and p in node:
                node = node[p]
            elif isinstance(node, list) and str(p).isdigit() and int(p) < len(node):
                node = node[int(p)]
            else:
                raise KeyError(ref)
        if path in stack:
            raise RecursionError(ref)
        return resolve(node, path, stack)

    def resolve_str(s: str, path: Path_, stack: tuple[Path_, ...]) -> Any:
        whole = _INTERP.fullmatch(s)
        if whole is None and not _INTERP.search(s):
            return s, None
        stack = (*stack, path)

        def value(m: re.Match[str]) -> Any:
            ref = m.group(1).strip()
            if not _REF.match(ref):
                raise LookupError(ref)
            return lookup(ref, path[:-1], stack)

        try:
            result = value(whole) if whole is not None else _INTERP.sub(
                lambda m: str(value(m)), s)
        except (KeyError, RecursionError, LookupError) as e:
            kind = {KeyError: "unknown key", RecursionError: "reference cycle"}.get(
                type(e), "resolver call or unsupported syntax")
            return s, kind
        if isinstance(result, str) and len(result) > MAX_RESOLVED_CHARS:
            return s, f"expands to more than {MAX_RESOLVED_CHARS} characters"
        return result, None

    def resolve(node: Any, path: Path_, stack: tuple[Path_, ...]) -> Any:
        if path in done:
            result, kind = done[path]
        elif isinstance(node, str):
            result, kind = resolve_str(node, path, stack)
        elif isinstance(node, Mapping):
            result, kind = {k: resolve(v, (*path, k), stack) for k, v in node.items()}, None
        elif isinstance(node, list):
            result, kind = [resolve(v, (*path, str(i)), stack) for i, v in enumerate(node)], None
        else:
            result, kind = node, None
        if kind is not None and not stack:  # report once, at the value that holds it
            problems.append(f"{'.'.join(map(str, path)) or '<root>'}: {node!r} ({kind})")
        done[path] = (result, kind)
        return result

    return resolve(tree, (), ()), problems
