"""Errors and warnings raised while reading checkpoints."""

from __future__ import annotations


class CheckpointError(Exception):
    """A checkpoint is unreadable or was refused (the CLI exits with code 2).

    `message` is one sentence naming the file and the problem; `details` holds optional extra
    lines (offending keys, places searched, ...), shown indented under the message.
    """

    exit_code = 2

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        self.message = message
        self.details: list[str] = list(details or [])
        super().__init__(message)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return "\n".join([self.message, *(f"  - {d}" for d in self.details)])


class CheckpointWarning(UserWarning):
    """A checkpoint was read, but something in it deserves attention (e.g. fp16 weights)."""
