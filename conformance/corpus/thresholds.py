"""Corpus thresholds: limits on the mean and on the worst-5 % tail of each metric over the
files of a corpus, per bandwidth, and where the defaults come from.

A `CorpusThreshold` limits one statistic of one metric at one bandwidth: `mean`, or the tail
quantile -- `p05` (5th percentile) for scores where higher is better (PESQ, STOI, SI-SDR),
`p95` for distances where lower is better (mel distance, LSD) -- so "the 5th percentile" is
always the boundary of the worst 5 % of the files.

**Defaults** (`default_thresholds`) are derived from the per-clip thresholds the `validate`
audio check applies to the checkpoint's family (`per_clip_base`):

- the golden thresholds (`golden_checkpoints/thresholds.json`: the worst of the two held-out
  speech clips less one margin of `conformance.golden.thresholds.MARGINS`) for a checkpoint
  whose config is a bundled golden checkpoint's, or for `--family F` (then F's golden
  thresholds);
- the released floors (`conformance.quality.released`: lowest published value less a margin)
  for a checkpoint whose config is a released preset's;
- none otherwise: the statistics are reported without a verdict.

From each per-clip limit L: the **mean** must meet L itself (an average file at least as good
as the worst golden speech clip, less its margin), and the **tail** (p05 / p95) must meet L
loosened by `TAIL_MARGINS` = three golden margins (STOI 0.06, PESQ-WB 0.15 absolute; mel
distance x 1.06). These are speech measures: for music or other material give your own file.

**Files** (`load_thresholds`, --thresholds): YAML or JSON, parsed safely, either a list of
entries or ``{"base": "default" | "none", "name": ..., "thresholds": [entries]}``; an entry is
``{bandwidth_kbps, metric, statistic, minimum | maximum}`` with an optional ``family`` (an
entry for another family is ignored) and ``source``. With base `default` (the default) an
entry replaces the derived threshold of the same bandwidth, metric and statistic.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.errors import ThresholdError
from conformance.golden.thresholds import MARGINS
from conformance.quality.thresholds import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    ThresholdSet,
    check_entry,
    finite_number,
    read_thresholds_file,
)
from conformance.status import Status

__all__ = ["STATISTICS", "TAIL_MARGINS", "CorpusThreshold", "CorpusThresholds",
           "default_thresholds", "load_thresholds", "per_clip_base", "tail_statistic"]

#: The statistics a threshold may limit.
STATISTICS = ("mean", "p05", "p95")
#: How much looser the tail threshold is than the per-clip one: three golden margins
#: (absolute for scores; relative for mel distance, the distances' margin being relative).
TAIL_MARGINS: dict[str, float] = {metric: 3 * margin for metric, margin in MARGINS.items()}


def tail_statistic(metric: str) -> str:
    """The worst-5 % boundary of `metric`: p05 for scores, p95 for distances."""
    return "p95" if metric in LOWER_IS_BETTER else "p05"


@dataclass(frozen=True)
class CorpusThreshold:
    """A minimum (scores) or maximum (distances) on one statistic of one metric."""

    bandwidth_kbps: float
    metric: str
    statistic: str
    minimum: float | None = None
    maximum: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        where = f"corpus threshold {self.metric}@{self.bandwidth_kbps}/{self.statistic}"
        if self.metric not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
            raise ThresholdError(f"{where}: unknown metric {self.metric!r}; known: "
                                 f"{', '.join(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))}")
        if self.statistic not in STATISTICS:
            raise ThresholdError(f"{where}: statistic must be one of {', '.join(STATISTICS)}")
        bw = finite_number(self.bandwidth_kbps, f"{where}: bandwidth_kbps")
        if bw <= 0:
            raise ThresholdError(f"{where}: bandwidth_kbps must be > 0")
        object.__setattr__(self, "bandwidth_kbps", bw)
        want = "maximum" if self.metric in LOWER_IS_BETTER else "minimum"
        other = "minimum" if want == "maximum" else "maximum"
        if getattr(self, other) is not None or getattr(self, want) is None:
            raise ThresholdError(f"{where}: {self.metric} is "
                                 f"{'lower' if want == 'maximum' else 'higher'}-is-better, so "
                                 f"give a {want} (and no {other})")
        object.__setattr__(self, want, finite_number(getattr(self, want), f"{where}: {want}"))

    @property
    def key(self) -> tuple[float, str, str]:
        return (self.bandwidth_kbps, self.metric, self.statistic)

    @property
    def direction(self) -> str:
        return "minimum" if self.minimum is not None else "maximum"

    @property
    def limit(self) -> float:
        return self.minimum if self.minimum is not None else self.maximum  # type: ignore

    def judge(self, observed: float | None, reason: str | None = None) -> dict[str, Any]:
        """The outcome of `observed` (None: not computed, with `reason`)."""
        out = {"bandwidth_kbps": self.bandwidth_kbps, "metric": self.metric,
               "statistic": self.statistic, "direction": self.direction, "limit": self.limit,
               "observed": observed, "source": self.source}
        if observed is None:
            return {**out, "status": Status.NOT_COMPUTED.value,
                    "reason": reason or "no file computed this metric"}
        ok = observed >= self.limit if self.minimum is not None else observed <= self.limit
        sign = ">=" if self.minimum is not None else "<="
        text = (f"{self.statistic} {self.metric} at {self.bandwidth_kbps:g} kbps = "
                f"{observed:.4f}, {'meets' if ok else 'should be'} {sign} {self.limit:.4f}")
        return {**out, "status": (Status.PASSED if ok else Status.FAILED).value,
                "reason": text}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class CorpusThresholds:
    """The thresholds a corpus verdict uses, and where they come from."""

    name: str
    family: str | None
    entries: tuple[CorpusThreshold, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        seen = set()
        for t in self.entries:
            if t.key in seen:
                raise ThresholdError(f"{self.name}: two thresholds for {t.metric} "
                                     f"{t.statistic} at {t.bandwidth_kbps:g} kbps")
            seen.add(t.key)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "family": self.family, "source": self.source,
                "thresholds": [t.to_dict() for t in self.entries]}

    def judge_file(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One file against the tail thresholds (p05 / p95), as the pytest plugin judges each
        file: a file worse than the corpus's worst-5 % limit fails. Metrics the file did not
        compute are `not_computed`; thresholds of metrics or bandwidths the record lacks are
        left out."""
        out = []
        for t in self.entries:
            if t.statistic == "mean":
                continue
            per_bw = next((v for k, v in (record.get("bandwidths") or {}).items()
                           if math.isclose(float(k), t.bandwidth_kbps, rel_tol=1e-9)), None)
            m = ((per_bw or {}).get("metrics") or {}).get(t.metric)
            if m is None:
                continue
            o = t.judge(m.get("value"), m.get("reason"))
            if o["status"] != Status.NOT_COMPUTED.value:
                sign = ">=" if t.minimum is not None else "<="
                o["reason"] = (f"{t.metric} at {t.bandwidth_kbps:g} kbps = {o['observed']:.4f}, "
                               f"{'meets' if o['status'] == Status.PASSED.value else 'should be'}"
                               f" {sign} {t.limit:.4f} (the corpus {t.statistic} limit)")
            out.append(o)
        return out


def per_clip_base(family: str | None, how: str) -> ThresholdSet | None:
    """The per-clip thresholds the defaults derive from: `how` is "golden" or "released"
    (see `conformance.corpus.runner.threshold_family`), None when there are none."""
    if family is None or how not in ("golden", "released"):
        return None
    if how == "released":
        from conformance.quality.released import RELEASED

        return RELEASED
    from conformance.golden.thresholds import golden_thresholds

    return golden_thresholds()


def default_thresholds(family: str | None, how: str) -> CorpusThresholds:
    """The derived defaults (module doc) for `family`, from its `how` per-clip set."""
    base = per_clip_base(family, how)
    if base is None or family not in base.families():
        return CorpusThresholds("none", family, (), "no per-clip thresholds apply to this "
                                "checkpoint's family: statistics without a verdict")
    entries = []
    for t in base:
        if t.family != family or t.metric not in TAIL_MARGINS:
            continue
        where = f"{base.name} per-clip {t.metric} {t.describe()} ({t.provenance})"
        limit = t.limit
        if t.direction == "minimum":
            tail = round(limit - TAIL_MARGINS[t.metric], 4)
            entries.append(CorpusThreshold(t.bandwidth_kbps, t.metric, "mean", minimum=limit,
                                           source=f"{where}"))
            entries.append(CorpusThreshold(t.bandwidth_kbps, t.metric, "p05", minimum=tail,
                                           source=f"{where} - {TAIL_MARGINS[t.metric]:g}"))
        else:
            tail = round(limit * (1 + TAIL_MARGINS[t.metric]), 4)
            entries.append(CorpusThreshold(t.bandwidth_kbps, t.metric, "mean", maximum=limit,
                                           source=f"{where}"))
            entries.append(CorpusThreshold(t.bandwidth_kbps, t.metric, "p95", maximum=tail,
                                           source=f"{where} x (1 + "
                                           f"{TAIL_MARGINS[t.metric]:g})"))
    entries.sort(key=lambda e: (e.bandwidth_kbps, e.metric, e.statistic))
    return CorpusThresholds(f"default ({how} {family})", family, tuple(entries),
                            f"derived from the {how} per-clip thresholds of {family}: mean >= "
                            "the per-clip limit, worst-5 % tail within three golden margins")


_ENTRY_FIELDS = frozenset({"family", "bandwidth_kbps", "metric", "statistic", "minimum",
                           "maximum", "source"})


def load_thresholds(path: str | Path, family: str | None, how: str) -> CorpusThresholds:
    """The thresholds of the file at `path` (see the module doc), on the defaults of `family`
    or on nothing (`base: none`)."""
    path = Path(path)
    parsed = read_thresholds_file(path)
    base_name, name, entries = "default", None, parsed
    if isinstance(parsed, Mapping):
        unknown = sorted(set(parsed) - {"base", "name", "thresholds"})
        if unknown:
            raise ThresholdError(f"{path}: unknown top-level key(s) {', '.join(unknown)} "
                                 "(known: base, name, thresholds)")
        base_name = parsed.get("base", "default")
        name = parsed.get("name")
        entries = parsed.get("thresholds") or []
    if base_name not in ("default", "none"):
        raise ThresholdError(f"{path}: base={base_name!r}: choose 'default' or 'none'")
    if not isinstance(entries, list):
        raise ThresholdError(f"{path}: expected a list of thresholds, or a mapping whose "
                             "'thresholds' is one")
    base = default_thresholds(family, how) if base_name == "default" else CorpusThresholds(
        "none", family)
    current = {t.key: t for t in base.entries}
    for i, entry in enumerate(entries):
        where = f"{path.name}: entry {i}"
        check_entry(entry, where, _ENTRY_FIELDS, ("bandwidth_kbps", "metric", "statistic"))
        if entry.get("family") is not None and entry["family"] != family:
            continue
        fields = {k: v for k, v in entry.items() if k != "family"}
        fields.setdefault("source", f"file {path.name}")
        try:
            t = CorpusThreshold(**fields)
        except ThresholdError as exc:
            raise ThresholdError(f"{where}: {exc.message}") from exc
        current[t.key] = t
    entries_out = tuple(sorted(current.values(),
                               key=lambda e: (e.bandwidth_kbps, e.metric, e.statistic)))
    return CorpusThresholds(name or f"file {path.name}", family, entries_out,
                            f"{path} on base {base_name}")
