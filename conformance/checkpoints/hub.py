"""Resolve a Hugging Face model name from the local cache only (never the network)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from conformance.errors import CheckpointError

__all__ = ["hub_cache_dir", "looks_like_hub_name", "resolve_hub_name"]

_NAME = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*(?:@[\w./-]+)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def looks_like_hub_name(text: str) -> bool:
    """True for `org/name` or `org/name@revision` (a path that exists is never a hub name)."""
    return bool(_NAME.match(text)) and "/" in text.split("@", 1)[0] and ".." not in text


def hub_cache_dir() -> Path:
    """The hub cache: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.

    (The legacy $HUGGINGFACE_HUB_CACHE and $XDG_CACHE_HOME are honoured as huggingface_hub does.)
    """
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def resolve_hub_name(name: str) -> Path:
    """The cached snapshot directory of `org/name[@revision]` (revision: branch, tag or commit).

    Raises CheckpointError, saying where it looked, when the model is not in the local cache.
    """
    repo, _, revision = name.partition("@")
    revision = revision or "main"
    if not looks_like_hub_name(name):
        raise CheckpointError(f"{name!r}: neither an existing path nor a Hugging Face model name "
                              "like 'facebook/encodec_24khz'.")
    cache = hub_cache_dir()
    repo_dir = cache / ("models--" + repo.replace("/", "--"))
    looked = [f"cache directory: {cache}", f"model directory: {repo_dir}"]
    if _COMMIT.match(revision):
        commit = revision
    else:
        ref = repo_dir / "refs" / revision
        looked.append(f"revision file: {ref}")
        if not ref.is_file():
            raise CheckpointError(
                f"{name}: not in the local Hugging Face cache (no revision '{revision}'); "
                "download it first (this tool never uses the network).", details=looked)
        commit = ref.read_text(encoding="utf-8").strip()
        if not _COMMIT.match(commit):
            raise CheckpointError(f"{ref}: holds {commit[:60]!r}, not a commit hash.",
                                  details=looked)
    snapshot = repo_dir / "snapshots" / commit
    looked.append(f"snapshot: {snapshot}")
    if not snapshot.is_dir():
        raise CheckpointError(
            f"{name}: not in the local Hugging Face cache (no snapshot {commit[:12]}); download "
            "it first (this tool never uses the network).", details=looked)
    return snapshot
