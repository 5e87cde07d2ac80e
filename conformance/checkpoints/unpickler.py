"""Reading untrusted checkpoint files without running their code.

- `load_torch`: `torch.load(weights_only=True)` first. AudioCraft *training* checkpoints hold
  OmegaConf objects (`xp.cfg`) and a `collections.defaultdict` (EMA state) that torch's
  weights-only unpickler refuses, so a refusal is retried with a restricted unpickler whose
  `find_class` admits only the globals in `ALLOWED_GLOBALS` (OmegaConf classes are mapped to
  small stand-ins; omegaconf itself is never imported). Plain pickle files go through the same
  restricted unpickler. Nothing else ever unpickles.
- `load_safetensors`: the safetensors library (no pickle at all).

The stand-ins become plain dicts in `conformance.checkpoints.omegaconf_plain`.
"""

from __future__ import annotations

import _compat_pickle
import builtins
import codecs
import contextlib
import io
import os
import pickle
import struct
import tarfile
import types
import zipfile
from collections import OrderedDict, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from conformance.errors import CheckpointError, HostileCheckpointError

# ------------------------------------------------------------------------ OmegaConf stand-ins


class OmegaConfStub:
    """Stand-in for a pickled OmegaConf object: keeps the pickled state and nothing else.

    Instances are created by the unpickler (NEWOBJ with no arguments, then BUILD with the
    object's `__dict__`); no OmegaConf code runs.
    """

    __slots__ = ("state",)

    def __new__(cls, *args: Any, **kwargs: Any) -> OmegaConfStub:
        obj = object.__new__(cls)
        obj.state = {}
        return obj

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            merged: dict[Any, Any] = {}
            for part in state:
                if isinstance(part, Mapping):
                    merged.update(part)
            state = merged
        self.state = dict(state) if isinstance(state, Mapping) else {"_value": state}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} stand-in>"


class DictConfigStub(OmegaConfStub):
    """Stand-in for `omegaconf.DictConfig` (`state['_content']`: key -> node, or None/str)."""


class ListConfigStub(OmegaConfStub):
    """Stand-in for `omegaconf.ListConfig` (`state['_content']`: list of nodes, or None/str)."""


class ValueNodeStub(OmegaConfStub):
    """Stand-in for an OmegaConf value node (`state['_val']`; `UnionNode`: `state['_content']`)."""


class MetadataStub(OmegaConfStub):
    """Stand-in for `omegaconf.base.Metadata` / `ContainerMetadata` (ignored)."""


class TypingAnyStub:
    """Stand-in for `typing.Any`, which OmegaConf metadata stores as a key/element type."""

    def __repr__(self) -> str:
        return "<typing.Any stand-in>"


TYPING_ANY = TypingAnyStub()

_OMEGACONF_GLOBALS: dict[str, Any] = {
    "omegaconf.dictconfig.DictConfig": DictConfigStub,
    "omegaconf.listconfig.ListConfig": ListConfigStub,
    "omegaconf.base.UnionNode": ValueNodeStub,
    "omegaconf.base.ContainerMetadata": MetadataStub,
    "omegaconf.base.Metadata": MetadataStub,
    "typing.Any": TYPING_ANY,
    **{f"omegaconf.nodes.{name}": ValueNodeStub for name in (
        "AnyNode", "StringNode", "IntegerNode", "FloatNode", "BooleanNode", "BytesNode",
        "NoneNode", "LiteralNode")},
}

# ---------------------------------------------------------------------------------- allowlist


def _codecs_encode(obj: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """`_codecs.encode` as protocol-2 pickles use it for bytes (latin-1 and utf-8 only)."""
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        name = None
    if not isinstance(obj, str) or name not in ("iso8859-1", "utf-8"):
        raise RefusedGlobalError(f"_codecs.encode(encoding={encoding!r})")
    return codecs.encode(obj, encoding, errors)


def _torch_globals() -> dict[str, Any]:
    """The torch globals that `torch.save` writes for tensors, parameters, dtypes and storages."""
    utils = torch._utils
    rc: dict[str, Any] = {
        f"torch._utils.{f.__name__}": f for f in (
            utils._rebuild_tensor, utils._rebuild_tensor_v2, utils._rebuild_tensor_v3,
            utils._rebuild_parameter, utils._rebuild_parameter_with_state)
    }
    rc["torch._tensor._rebuild_from_type_v2"] = torch._tensor._rebuild_from_type_v2
    rc["torch.Tensor"] = torch.Tensor
    rc["torch.nn.parameter.Parameter"] = torch.nn.Parameter
    rc["torch.Size"] = torch.Size
    rc["torch.device"] = torch.device
    rc["torch.UntypedStorage"] = torch.UntypedStorage
    rc["torch.storage.UntypedStorage"] = torch.UntypedStorage
    for name in dir(torch):
        value = getattr(torch, name)
        if isinstance(value, torch.dtype):
            rc[f"torch.{name}"] = value
        elif name.endswith("Storage") and isinstance(value, type) and not name.startswith(
                ("Typed", "Untyped", "_")):
            with contextlib.suppress(KeyError):
                rc[f"torch.{name}"] = torch.serialization.StorageType(name)
    return rc


_BUILTIN_NAMES = ("dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str",
                  "bytes", "bytearray", "bool")

#: Every global the restricted unpickler admits, as "module.name" -> the object it yields.
ALLOWED_GLOBALS: dict[str, Any] = {
    "collections.OrderedDict": OrderedDict,
    "collections.defaultdict": defaultdict,
    "_codecs.encode": _codecs_encode,
    **{f"builtins.{n}": getattr(builtins, n) for n in _BUILTIN_NAMES},
    **_OMEGACONF_GLOBALS,
    **_torch_globals(),
}


class RefusedGlobalError(pickle.UnpicklingError):
    """The pickle asked for a global that is not on the allowlist."""

    def __init__(self, global_name: str) -> None:
        self.global_name = global_name
        super().__init__(f"global '{global_name}' is not on the allowlist")


def _normalize_global(module: str, name: str) -> tuple[str, str]:
    """Python 2 names (protocol < 3 pickles, e.g. `__builtin__.long`) -> Python 3 names."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in `ALLOWED_GLOBALS`."""

    def find_class(self, module: str, name: str) -> Any:
        module, name = _normalize_global(module, name)
        key = f"{module}.{name}"
        try:
            return ALLOWED_GLOBALS[key]
        except KeyError:
            raise RefusedGlobalError(key) from None


def _restricted_load(file: Any, **kwargs: Any) -> Any:
    return RestrictedUnpickler(file, **kwargs).load()


def _restricted_loads(data: bytes, **kwargs: Any) -> Any:
    return RestrictedUnpickler(io.BytesIO(data), **kwargs).load()


#: A stand-in for the `pickle` module, passed to `torch.load(pickle_module=...)`.
restricted_pickle = types.ModuleType("conformance_restricted_pickle")
restricted_pickle.Unpickler = RestrictedUnpickler  # type: ignore[attr-defined]
restricted_pickle.load = _restricted_load  # type: ignore[attr-defined]
restricted_pickle.loads = _restricted_loads  # type: ignore[attr-defined]
restricted_pickle.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]

# ------------------------------------------------------------------------------------ loaders


def _checked_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file.")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file.")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: the file is empty (0 bytes).")
    return path


def _head(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def looks_like_safetensors(path: str | os.PathLike) -> bool:
    """True when the file starts with a safetensors header (u64 length, then '{')."""
    head = _head(Path(path), 9)
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 2 <= n <= Path(path).stat().st_size - 8


def _refused(path: Path, err: RefusedGlobalError) -> HostileCheckpointError:
    return HostileCheckpointError(
        f"{path}: refused to load, the pickle needs the global '{err.global_name}', which is "
        "not on the allowlist of safe globals (the file may run code when unpickled).",
        details=["Only tensors, plain containers and OmegaConf configs are accepted."])


def _find_refusal(err: BaseException | None) -> RefusedGlobalError | None:
    while err is not None:
        if isinstance(err, RefusedGlobalError):
            return err
        err = err.__cause__ or err.__context__
    return None


def _check_torch_zip(path: Path) -> None:
    """Refuse zip files that are not torch checkpoints, and TorchScript archives."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(f"{path}: a corrupt zip archive ({e}).") from e
    records = {n.split("/", 1)[-1] for n in names}
    if "constants.pkl" in records:
        raise HostileCheckpointError(f"{path}: a TorchScript archive, not a checkpoint; "
                                     "refused (loading it would run TorchScript code).")
    if "data.pkl" not in records:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise CheckpointError(f"{path}: a zip archive but not a PyTorch checkpoint (no data.pkl; "
                              f"it holds {shown or 'nothing'}).")


def _torch_load(path: Path) -> Any:
    """weights_only first; on a refused global, the restricted unpickler."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # a global the weights-only unpickler refuses: retry with our allowlist
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint, it is truncated or "
                              f"corrupt ({type(e).__name__}: {_short(e)}).") from e
    try:
        # weights_only is off ONLY because pickle_module is the restricted unpickler
        kw = {"map_location": "cpu", "pickle_module": restricted_pickle}
        return torch.load(path, weights_only=False, pickle_module=kw.pop("pickle_module"), **kw)
    except Exception as e:
        refusal = _find_refusal(e)
        if refusal is not None:
            raise _refused(path, refusal) from e
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: "
                              f"{_short(e)}).") from e


def _short(e: BaseException, limit: int = 200) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def load_torch(path: str | os.PathLike) -> Any:
    """Load a `torch.save` file (zip or legacy) or a plain pickle, admitting only safe globals.

    Raises CheckpointError for empty, truncated, non-pickle and refused files.
    """
    path = _checked_file(path)
    head = _head(path, 4)
    if zipfile.is_zipfile(path):
        _check_torch_zip(path)
        return _torch_load(path)
    if head.startswith(b"PK"):
        raise CheckpointError(f"{path}: a truncated or corrupt zip archive (PyTorch checkpoints "
                              "are zip files); re-download or re-export it.")
    if looks_like_safetensors(path):
        raise CheckpointError(f"{path}: a safetensors file, not a PyTorch pickle.")
    if tarfile.is_tarfile(path):
        raise CheckpointError(f"{path}: a legacy tar-format torch file (torch < 0.4); "
                              "not supported.")
    with open(path, "rb") as f:
        try:
            first = RestrictedUnpickler(f).load()
        except RefusedGlobalError as e:
            raise _refused(path, e) from e
        except Exception as e:
            raise CheckpointError(
                f"{path}: neither a PyTorch checkpoint nor a pickle file, or it is truncated "
                f"({type(e).__name__}: {_short(e)}; starts with {_head(path)!r}).") from e
    if isinstance(first, int) and first == torch.serialization.MAGIC_NUMBER:
        return _torch_load(path)  # legacy (non-zip) torch.save format
    return first


def load_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a safetensors file (no pickle) into CPU tensors; CheckpointError if corrupt."""
    from safetensors.torch import load_file

    path = _checked_file(path)
    try:
        return load_file(str(path), device="cpu")
    except Exception as e:
        raise CheckpointError(f"{path}: not a valid safetensors file, it is truncated or corrupt "
                              f"({type(e).__name__}: {_short(e)}).") from e


__all__: list[str] = [
    "ALLOWED_GLOBALS",
    "DictConfigStub",
    "ListConfigStub",
    "RefusedGlobalError",
    "RestrictedUnpickler",
    "ValueNodeStub",
    "load_safetensors",
    "load_torch",
    "looks_like_safetensors",
    "restricted_pickle",
]
