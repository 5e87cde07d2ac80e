"""Every error the package raises, on one base that carries the command line's exit code.

    ConformanceError                     base; `message`, `details`, `exit_code`
    ├── RefusedInput          exit 2     input unreadable or refused
    │   ├── CheckpointError              a checkpoint file: unreadable, hostile, not a checkpoint
    │   │   └── HostileCheckpointError   it would run code when loaded: refused before it ran
    │   ├── ModelInputError              audio, codes or latents of the wrong shape/type/values
    │   ├── AudioFileError               an audio file: unreadable, empty, unconvertible
    │   ├── ConfigFileError              config text: unreadable, too large, too nested
    │   └── CodesFileError               a codes file that is unreadable or not this model's
    ├── InvalidArgument       exit 2     a value given by the caller is invalid (a ValueError)
    │   ├── ConfigError                  a config field is invalid (the message names it)
    │   │   └── ConfigResolutionError    not enough information to build a config
    │   ├── ThresholdError               a threshold entry, file or override is invalid
    │   ├── NoThresholdError             no threshold applies (also a LookupError)
    │   ├── UnknownKeyError              a key that is not a key of the given layout
    │   └── BreakerNotApplicable         a breaker has no meaning for this config
    └── CheckFailed           exit 1     something was checked and does not hold
        ├── KeyMappingError              keys or shapes do not fit (report names every key)
        │   └── KeyStyleError            no EnCodec key at all, or two key styles mixed
        ├── ConfigConflictError          a config contradicts the weights
        ├── VerificationError            a written file does not read back equal
        └── ConformanceAssertionError    a conformance assertion (also an AssertionError)

Warnings: `CheckpointWarning`. The CLI turns a `ConformanceError` into one sentence on stderr
(plus indented details) and `exit_code`; anything else is a bug and shows its traceback
(exit code 3).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "AudioFileError", "BreakerNotApplicable", "CheckFailed", "CheckpointError",
    "CheckpointWarning", "CodesFileError", "ConfigConflictError", "ConfigError",
    "ConfigFileError", "ConfigResolutionError", "ConformanceAssertionError", "ConformanceError",
    "ExitCode", "HostileCheckpointError", "InvalidArgument", "KeyMappingError", "KeyStyleError",
    "ModelInputError", "NoThresholdError", "RefusedInput", "ThresholdError", "UnknownKeyError",
    "VerificationError",
]


class ExitCode(IntEnum):
    """Exit codes of `encodec-conformance`."""

    OK = 0
    CHECK_FAILED = 1  #: not conformant: a check failed
    REFUSED = 2  #: input unreadable or refused, or an invalid argument
    BUG = 3  #: an unexpected exception (a traceback is shown)


class ConformanceError(Exception):
    """Base of every error this package raises on purpose.

    `message` is one sentence naming the problem and what was expected; `details` holds
    extra lines (every offending key, the places searched, ...), shown indented under it.
    """

    exit_code: ExitCode = ExitCode.REFUSED

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        self.message = message
        self.details: list[str] = list(details or [])
        super().__init__(message)

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return "\n".join([self.message, *(f"  - {d}" for d in self.details)])


# ----------------------------------------------------------------------------- refused input
class RefusedInput(ConformanceError):
    """An input is unreadable or refused (exit code 2)."""

    exit_code = ExitCode.REFUSED


class CheckpointError(RefusedInput):
    """A checkpoint is unreadable or was refused: corrupt, truncated, hostile, not a checkpoint,
    NaN weights, a pointer without weights, a hub name that is not cached."""


class HostileCheckpointError(CheckpointError):
    """A checkpoint would run code when loaded (a global outside the unpickling allowlist, a
    TorchScript archive); it was refused before anything ran."""


class ModelInputError(RefusedInput, ValueError):
    """Audio, codes or latents given to a model have the wrong shape, type or values."""


class AudioFileError(RefusedInput, ValueError):
    """An audio file is unreadable, empty, or cannot be converted to what the model takes."""


class ConfigFileError(RefusedInput):
    """A config file or config text (config.json, xp.cfg, a thresholds file) is unreadable,
    too large, too deeply nested or expands too far."""


class CodesFileError(RefusedInput):
    """A codes file is unreadable or does not belong to this checkpoint."""


# -------------------------------------------------------------------------- invalid arguments
class InvalidArgument(ConformanceError, ValueError):
    """A value given by the caller is invalid (exit code 2)."""

    exit_code = ExitCode.REFUSED


class ConfigError(InvalidArgument):
    """A configuration value is invalid or inconsistent; the message names the field."""


class ConfigResolutionError(ConfigError):
    """Not enough information to build a config (the message says what to pass)."""


class ThresholdError(InvalidArgument):
    """A threshold entry, file or override is invalid (the message names it)."""


class NoThresholdError(InvalidArgument, LookupError):
    """No threshold applies to the family / bandwidth / metric asked for."""


class UnknownKeyError(InvalidArgument, KeyError):
    """A key is not a parameter or buffer of a model with the given config and layout."""

    def __str__(self) -> str:  # KeyError would quote the message
        return ConformanceError.__str__(self)


class BreakerNotApplicable(InvalidArgument):
    """A breaker has no meaning for this model's config (the message says why)."""


# ------------------------------------------------------------------------------ failed checks
class CheckFailed(ConformanceError):
    """Something was checked and does not hold (exit code 1)."""

    exit_code = ExitCode.CHECK_FAILED


class KeyMappingError(CheckFailed):
    """A state dict does not fit its target; `report` (a MappingReport, when there is one)
    names every missing, unexpected, duplicated or mis-shaped key."""

    def __init__(self, report_or_message, details: list[str] | None = None) -> None:
        if isinstance(report_or_message, str):
            self.report = None
            super().__init__(report_or_message, details)
            return
        self.report = report_or_message
        head, *rest = report_or_message.format().splitlines()
        super().__init__(head, [line.removeprefix("  - ") for line in rest])

    def __str__(self) -> str:
        if self.report is not None:
            return self.report.format()
        return super().__str__()


class KeyStyleError(KeyMappingError):
    """A state dict's keys are in neither EnCodec key style (no EnCodec key at all), or in
    both at once."""


class ConfigConflictError(CheckFailed):
    """A config (the file's own, a preset, the file name or a flag) contradicts the weights;
    each detail names the field, the claimed value and what the weights imply."""


class VerificationError(CheckFailed):
    """What was written does not read back equal to what was meant."""


class ConformanceAssertionError(CheckFailed, AssertionError):
    """A conformance assertion failed: what was observed, what was expected, and the call."""


# ----------------------------------------------------------------------------------- warnings
class CheckpointWarning(UserWarning):
    """A checkpoint was read, but something in it deserves attention (fp16 weights, ignored
    tensors, unresolved config references)."""
