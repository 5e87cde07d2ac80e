"""The `encodec-conformance` command itself: help for every subcommand, --version, and exit
codes with one-sentence errors."""

from __future__ import annotations

import argparse

import pytest

from conformance import __version__
from conformance.checkpoints.formats import LOADABLE_FORMATS
from conformance.checkpoints.write import write_audiocraft
from conformance.cli import checkpoint_commands
from conformance.cli.main import build_parser, main
from conformance.errors import (
    CheckpointError,
    ConfigConflictError,
    ExitCode,
    InvalidArgument,
    KeyMappingError,
)
from conformance.model.presets import PRESETS
from conformance.testing.weights import random_model
from tests.checkpoint_files import (
    write_audiocraft_pointer,
)
from tests.configs import small

SMALL48 = small("encodec_48khz")
SMALL24 = small("encodec_24khz")


@pytest.fixture()
def ckpt(tmp_path):
    return write_audiocraft(tmp_path / "ac48.th", SMALL48, random_model(SMALL48, 3).state_dict())


def _subcommands() -> list[str]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_the_subcommands_are_the_documented_ones():
    assert _subcommands() == ["bench", "convert", "decode", "demo", "encode", "export",
                              "golden", "inspect", "merge-reports", "validate"]


@pytest.mark.parametrize("command", _subcommands())
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: encodec-conformance {command}") and "--help" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"encodec-conformance {__version__}"


def test_choices_come_from_the_registries(capsys):
    """--format lists every loadable format and --preset every preset, from their registries."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["inspect", "x", "--format", "nope"])
    err = capsys.readouterr().err
    assert all(f"'{f}'" in err for f in LOADABLE_FORMATS) and "audiocraft-pointer" not in err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["inspect", "x", "--preset", "nope"])
    err = capsys.readouterr().err
    assert all(f"'{p}'" in err for p in PRESETS)


@pytest.mark.parametrize("error", [CheckpointError("refused"), InvalidArgument("bad value"),
                                   KeyMappingError("keys do not fit"),
                                   ConfigConflictError("contradiction", ["field: a vs b"])])
def test_a_conformance_error_exits_with_its_own_code(error, monkeypatch, capsys):
    def fail(args):
        raise error

    monkeypatch.setattr(checkpoint_commands, "_inspect", fail)
    assert main(["inspect", "anything"]) == error.exit_code
    err = capsys.readouterr().err
    assert err.startswith(f"error: {error.message}") and "Traceback" not in err
    assert all(f"  {d}" in err for d in error.details)


def test_an_unexpected_exception_is_a_bug_with_its_traceback(monkeypatch, capsys):
    def crash(args):
        raise ZeroDivisionError("a programming error")

    monkeypatch.setattr(checkpoint_commands, "_inspect", crash)
    assert main(["inspect", "anything"]) == ExitCode.BUG == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a programming error" in err
    assert "This is a bug" in err








@pytest.mark.parametrize("case", ["garbage", "empty", "pointer", "missing"])
def test_unreadable_inputs_exit_2_with_one_sentence(case, tmp_path, capsys):
    path = tmp_path / "x.th"
    if case == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "pointer":
        write_audiocraft_pointer(path, "facebook/encodec_32khz")
    code = main(["inspect", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err
    if case == "pointer":
        assert "facebook/encodec_32khz" in err






