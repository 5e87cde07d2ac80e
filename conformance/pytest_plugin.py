"""pytest plugin (entry point `encodec_conformance`, installed with the package).

    pytest --encodec-checkpoint PATH_OR_HUB_NAME [--encodec-checkpoint ...]
    pytest --encodec-impl MODULE:FACTORY [--encodec-family encodec_24khz] [--encodec-tolerance bf16]
           [--encodec-xfails FILE] [--encodec-thresholds FILE] [--encodec-strict-layouts]
           [-k impl.codes] [-n auto]
    pytest --encodec-checkpoint PATH --encodec-audio DIR [--encodec-audio-thresholds FILE] [-n auto]

With either option the plugin collects the packaged checks (`conformance/checks/
pytest_checks.py`) from any directory -- only them when no test path is given on the command
line, alongside the given paths otherwise. Every check case is one test, named
`<subject>-<check id>-<case>` (e.g. `mymodel.th-audio.quality-speech_female...-6kbps`,
`encodec_24khz-impl.codes-encodec_24khz-speech-6kbps`), so `-k` selects by check id, family,
clip or bandwidth. A failure prints what was observed, what was expected, and a snippet that
reproduces it; `not_applicable` and `not_computed` outcomes are skips with their reason; an
expected failure (the xfails file or the adapter's own `expected_failures`) is an xfail. The
same engine runs `encodec-conformance validate`.

With `--encodec-audio DIR` (and one `--encodec-checkpoint`), the plugin collects one test per
audio file below DIR instead of the checkpoint checks (`conformance/corpus/pytest_audio.py`),
with the file's path relative to DIR as its id: each file is evaluated as `validate --audio`
evaluates it and fails when a metric is worse than the corpus's worst-5 % limit.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

__all__ = ["pytest_addoption", "pytest_configure", "pytest_generate_tests",
           "pytest_terminal_summary"]

_CHECKS_MODULE = Path(__file__).resolve().parent / "checks" / "pytest_checks.py"
_AUDIO_MODULE = Path(__file__).resolve().parent / "corpus" / "pytest_audio.py"
_KEY = "_encodec_conformance"


def pytest_addoption(parser: Any) -> None:
    from conformance.checks.tolerance import TOLERANCES
    from conformance.golden.bundle import FAMILIES

    group = parser.getgroup("encodec-conformance", "EnCodec conformance checks")
    group.addoption("--encodec-checkpoint", action="append", default=[],
                    metavar="PATH_OR_HUB_NAME",
                    help="run the checkpoint checks on this checkpoint (repeatable)")
    group.addoption("--encodec-impl", action="append", default=[], metavar="MODULE:FACTORY",
                    help="run the implementation checks on the adapter this factory makes "
                    "for each golden checkpoint (repeatable)")
    group.addoption("--encodec-family", action="append", default=[], choices=FAMILIES,
                    help="only these golden families for --encodec-impl; for "
                    "--encodec-checkpoint, the family whose thresholds apply")
    group.addoption("--encodec-tolerance", default="fp32", choices=sorted(TOLERANCES),
                    help="precision profile of --encodec-impl (default fp32)")
    group.addoption("--encodec-strict-layouts", action="store_true",
                    help="an exception on an edge chunk layout (chunk_overrun, partial_chunks) "
                    "is an error instead of 'not applicable'")
    group.addoption("--encodec-xfails", metavar="FILE",
                    help="expected failures, one 'check-id-pattern  reason' per line")
    group.addoption("--encodec-thresholds", metavar="FILE",
                    help="YAML/JSON thresholds for the audio checks of --encodec-checkpoint")
    group.addoption("--encodec-audio", metavar="DIR",
                    help="one test per audio file below DIR (ids: relative paths) for the one "
                    "--encodec-checkpoint, instead of its checks")
    group.addoption("--encodec-audio-thresholds", metavar="FILE",
                    help="corpus thresholds (YAML/JSON) whose worst-5 %% limits each file of "
                    "--encodec-audio must meet (default: the family's derived ones)")


def _wanted(config: Any) -> bool:
    return bool(config.getoption("encodec_checkpoint", default=None)
                or config.getoption("encodec_impl", default=None)
                or config.getoption("encodec_audio", default=None))


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "peers: compares the reference with transformers and the original encodec")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line(
        "markers", "golden: runs the bundled golden checkpoints (regression, quality, "
        "sensitivity)")
    config.addinivalue_line("markers", "encodec_check: a packaged conformance check")
    if not _wanted(config):
        return
    modules = [str(_AUDIO_MODULE)] if config.getoption("encodec_audio", default=None) else []
    if config.getoption("encodec_impl", default=None) or not modules:
        modules.append(str(_CHECKS_MODULE))
    explicit = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    if explicit:
        config.args.extend(modules)
    else:  # no path given: only the checks, whatever the current directory holds
        config.args[:] = modules


def _state(config: Any) -> dict[str, Any]:
    state = getattr(config, _KEY, None)
    if state is None:
        state = _build(config)
        setattr(config, _KEY, state)
    return state


def _build(config: Any) -> dict[str, Any]:
    from conformance.checks.engine import checkpoint_subject, implementation_subject, plan
    from conformance.checks.expected import parse_xfails
    from conformance.golden.bundle import FAMILIES
    from conformance.quality.thresholds import load_thresholds

    families = list(config.getoption("encodec_family") or [])
    xfails_path = config.getoption("encodec_xfails")
    xfails = parse_xfails(xfails_path) if xfails_path else {}
    thresholds_path = config.getoption("encodec_thresholds")
    thresholds = load_thresholds(thresholds_path) if thresholds_path else load_thresholds()
    subjects = []
    audio = config.getoption("encodec_audio", default=None)
    if audio:
        from conformance.corpus.pytest_audio import audio_cases

        paths = config.getoption("encodec_checkpoint") or []
        if len(paths) != 1:
            raise pytest.UsageError(f"--encodec-audio needs exactly one --encodec-checkpoint, "
                                    f"got {len(paths)}")
        cases = audio_cases(audio, paths[0], config.getoption("encodec_audio_thresholds"),
                            families[0] if families else None)
    for path in [] if audio else config.getoption("encodec_checkpoint") or []:
        subjects.append(checkpoint_subject(path, thresholds=thresholds,
                                           family=families[0] if families else None))
    for spec in config.getoption("encodec_impl") or []:
        for family in families or FAMILIES:
            subjects.append(implementation_subject(
                spec, family, config.getoption("encodec_tolerance"),
                strict_layouts=config.getoption("encodec_strict_layouts")))
    for s in subjects:
        s.expected.add(xfails, str(xfails_path))
    items = []
    for s in subjects:
        for case in plan(s):
            label = f"{s.name.split('@')[-1]}-{case.check.id}" + "".join(
                f"-{part}" for part in case.case if part != s.name.split("@")[-1])
            items.append((label, s, case))
    _warn_stale(xfails, str(xfails_path), [case.id for _, _, case in items])
    return {"subjects": subjects, "items": items, "audio": cases if audio else []}


def _warn_stale(entries: dict[str, str], source: str, ids: list[str]) -> None:
    """An xfails entry that names no collected case is stale (a typo, or a check renamed):
    say so at collection time, which also reaches the summary under xdist."""
    from conformance.checks.expected import id_matches

    for pattern in entries:
        if not any(id_matches(pattern, i) for i in ids):
            warnings.warn(pytest.PytestWarning(
                f"{source}: expected-failure entry {pattern!r} matches no check case"),
                stacklevel=2)


def pytest_generate_tests(metafunc: Any) -> None:
    if "encodec_audio_file" in metafunc.fixturenames:
        cases = _state(metafunc.config)["audio"] if _wanted(metafunc.config) else []
        metafunc.parametrize("encodec_audio_file", [c for _, c in cases],
                             ids=[label for label, _ in cases])
        return
    if "encodec_case" not in metafunc.fixturenames:
        return
    state = _state(metafunc.config) if _wanted(metafunc.config) else {"items": []}
    items = state["items"]
    metafunc.parametrize("encodec_case", [(s, c) for _, s, c in items],
                         ids=[label for label, _, _ in items])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    state = getattr(config, _KEY, None)
    if not state:
        return
    from conformance.checks.expected import unmatched_entries

    unmatched = [u for u in unmatched_entries([s.expected for s in state["subjects"]])
                 if "(adapter " not in u]
    if unmatched and not hasattr(config, "workerinput"):
        terminalreporter.write_sep("-", "encodec-conformance: expected-failure entries that "
                                   "matched nothing")
        for entry in unmatched:
            terminalreporter.write_line(f"  {entry}")
