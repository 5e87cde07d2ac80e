"""Quality thresholds per model family x bandwidth x metric, as data, and the check against them.

A `Threshold` is a floor (`minimum`, for scores) or a ceiling (`maximum`, for distances) with
the values it was set from and their sources. A `ThresholdSet` holds at most one per
(family, bandwidth, metric) and checks metric results against them:

- a metric that could not be computed is its own outcome (`not_computed`, with the reason),
  never a pass and never a number;
- a bandwidth that is not tabulated uses the nearest LOWER tabulated bandwidth (quality grows
  with bandwidth, so the lower rung's floor is the safe one) and says so in the outcome's
  `note`; a bandwidth below every tabulated one has no threshold (`NoThresholdError`).

Built-in sets: `released` (floors for the released encodec_24khz model, from published
numbers: `conformance.quality.released`) and `none` (empty). The golden checkpoints' measured
thresholds ship in their data folder (`conformance.golden.thresholds`).

Files (`load_thresholds`): YAML or JSON (parsed within `conformance.safe_parse`'s limits),
either a list of entries or ``{"base": "released" | "none", "name": ..., "thresholds":
[entries]}``. An entry names family, bandwidth_kbps and metric plus any Threshold fields; an
entry whose key exists in the base updates that threshold, a new key must give `minimum` or
`maximum`. `overrides` is ``{family: {bandwidth: {metric: limit or {field: value}}}}``,
applied after the file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conformance.errors import ConfigFileError, NoThresholdError, ThresholdError
from conformance.quality.metrics import METRICS, MetricResult
from conformance.safe_parse import parse_json, parse_yaml
from conformance.status import Status

__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "CheckOutcome", "Threshold", "ThresholdSet",
           "built_in_sets", "check_entry", "finite_number", "format_outcomes",
           "load_thresholds", "read_thresholds_file"]

#: Metrics where larger is better (thresholds give a `minimum`) and where smaller is better
#: (distances: thresholds give a `maximum`).
HIGHER_IS_BETTER = frozenset({"pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr"})
LOWER_IS_BETTER = frozenset({"mel_distance", "log_spectral_distance"})

_BW_TOL = 1e-9


# ------------------------------------------------------------------------------ the data
@dataclass(frozen=True)
class Threshold:
    """One floor (`minimum`, for scores) or ceiling (`maximum`, for distances).

    `anchor_value` / `anchor_range` summarise the published (or measured) values it is set
    from: the median and the (min, max). `sources` cite each (published numbers by the source
    keys of docs/published_numbers.md, with name and link). `measured` is None for thresholds
    set from published numbers, True for thresholds set from a measurement.
    """

    family: str
    bandwidth_kbps: float
    metric: str
    minimum: float | None = None
    maximum: float | None = None
    anchor_value: float | None = None
    anchor_range: tuple[float, float] | None = None
    sources: tuple[str, ...] = ()
    margin_note: str = ""
    measured: bool | None = None
    provenance: str = "built-in"

    def __post_init__(self) -> None:
        where = f"threshold {self.family}@{self.bandwidth_kbps}/{self.metric}"
        if not isinstance(self.family, str) or not self.family:
            raise ThresholdError(f"{where}: family must be a non-empty string")
        if self.metric not in METRICS:
            raise ThresholdError(f"{where}: unknown metric {self.metric!r}; known: "
                                 f"{', '.join(METRICS)}")
        bw = finite_number(self.bandwidth_kbps, f"{where}: bandwidth_kbps")
        if bw <= 0:
            raise ThresholdError(f"{where}: bandwidth_kbps={bw} must be > 0")
        object.__setattr__(self, "bandwidth_kbps", bw)
        if (self.minimum is None) == (self.maximum is None):
            raise ThresholdError(f"{where}: give exactly one of minimum and maximum "
                                 f"(got minimum={self.minimum}, maximum={self.maximum})")
        want = "minimum" if self.metric in HIGHER_IS_BETTER else "maximum"
        if getattr(self, want) is None:
            raise ThresholdError(f"{where}: {self.metric} is "
                                 f"{'higher' if want == 'minimum' else 'lower'}-is-better, "
                                 f"so it needs a {want}, not a "
                                 f"{'maximum' if want == 'minimum' else 'minimum'}")
        object.__setattr__(self, want, finite_number(getattr(self, want), f"{where}: {want}"))
        if self.anchor_value is not None:
            object.__setattr__(self, "anchor_value",
                               finite_number(self.anchor_value, f"{where}: anchor_value"))
        if self.anchor_range is not None:
            lo, hi = (finite_number(v, f"{where}: anchor_range") for v in self.anchor_range)
            if lo > hi:
                raise ThresholdError(f"{where}: anchor_range=({lo}, {hi}) is not (low, high)")
            object.__setattr__(self, "anchor_range", (lo, hi))
        if isinstance(self.sources, str):
            raise ThresholdError(f"{where}: sources must be a list of strings")
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        if self.measured not in (None, True, False):
            raise ThresholdError(f"{where}: measured={self.measured!r} must be a bool or null")

    @property
    def key(self) -> tuple[str, float, str]:
        return (self.family, self.bandwidth_kbps, self.metric)

    @property
    def direction(self) -> Literal["minimum", "maximum"]:
        return "minimum" if self.minimum is not None else "maximum"

    @property
    def limit(self) -> float:
        """The minimum or the maximum, whichever this threshold has."""
        return self.minimum if self.minimum is not None else self.maximum  # type: ignore

    def shortfall(self, observed: float) -> float:
        """How far `observed` falls short of the limit (0.0 when it meets it)."""
        if self.minimum is not None:
            return max(0.0, self.minimum - observed)
        return max(0.0, observed - self.limit)

    def describe(self) -> str:
        """`>= 2.238` or `<= 1.1`, plus the anchor range when there is one."""
        text = f"{'>=' if self.direction == 'minimum' else '<='} {self.limit:.3f}"
        if self.anchor_range is not None:
            text += f" (anchors {self.anchor_range[0]:.3f}-{self.anchor_range[1]:.3f})"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["sources"] = list(self.sources)
        d["anchor_range"] = None if self.anchor_range is None else list(self.anchor_range)
        return d


def finite_number(v: Any, what: str) -> float:
    """`v` as a float; a bool, a non-number, NaN or inf is refused naming `what`."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ThresholdError(f"{what}={v!r}: must be a finite number")
    return float(v)


@dataclass(frozen=True)
class CheckOutcome:
    """One metric checked against one threshold.

    `status` is passed, failed or not_computed (then `observed` and `shortfall` are
    None and `reason` says why). `shortfall` is how far the value misses the limit (0.0 when
    passed). `bandwidth_used` is the tabulated bandwidth whose threshold applied; `note` says
    when it differs from the requested `bandwidth_kbps`.
    """

    family: str
    bandwidth_kbps: float
    metric: str
    status: Status
    observed: float | None
    threshold: Threshold
    shortfall: float | None
    bandwidth_used: float
    note: str | None = None
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    @property
    def message(self) -> str:
        """One line in observed / expected / [context] form."""
        ctx = f"[{self.family} @ {self.bandwidth_kbps:g} kbps, {self.threshold.provenance}"
        ctx += f"; {self.note}]" if self.note else "]"
        t = self.threshold
        if self.status is Status.NOT_COMPUTED:
            return f"{self.metric} not computed: {self.reason} {ctx}"
        if self.status is Status.PASSED:
            return f"{self.metric}={self.observed:.3f} {t.describe()} {ctx}"
        return (f"{self.metric}={self.observed:.3f}, but should be {t.describe()} "
                f"(short by {self.shortfall:.3f}) {ctx}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["status"] = self.status.value
        d["threshold"] = self.threshold.to_dict()
        return d


def format_outcomes(outcomes: Iterable[CheckOutcome]) -> str:
    """One line per outcome: status, then its message."""
    return "\n".join(f"{o.status:<12} {o.message}" for o in outcomes)


# ------------------------------------------------------------------------------ the set
@dataclass(frozen=True)
class ThresholdSet:
    """A named collection of thresholds, at most one per (family, bandwidth, metric)."""

    name: str
    thresholds: tuple[Threshold, ...] = ()
    _index: dict[tuple[str, float, str], Threshold] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(self.thresholds))
        for t in self.thresholds:
            if self._find(t.key) is not None:
                raise ThresholdError(f"set {self.name!r}: duplicate threshold for "
                                     f"{t.family}@{t.bandwidth_kbps}/{t.metric}")
            self._index[t.key] = t

    def _find(self, key: tuple[str, float, str]) -> Threshold | None:
        family, bw, metric = key
        for (f, b, m), t in self._index.items():
            if f == family and m == metric and math.isclose(b, bw, rel_tol=_BW_TOL):
                return t
        return None

    def __len__(self) -> int:
        return len(self.thresholds)

    def __iter__(self) -> Iterator[Threshold]:
        return iter(self.thresholds)

    def families(self) -> list[str]:
        return sorted({t.family for t in self.thresholds})

    def metrics(self, family: str) -> list[str]:
        """The metrics tabulated for `family`, in METRICS order."""
        have = {t.metric for t in self.thresholds if t.family == family}
        return [m for m in METRICS if m in have]

    def bandwidths(self, family: str, metric: str | None = None) -> list[float]:
        """Tabulated bandwidths of `family` (for one metric, or any), ascending."""
        return sorted({t.bandwidth_kbps for t in self.thresholds
                       if t.family == family and (metric is None or t.metric == metric)})

    def get(self, family: str, bandwidth: float, metric: str) -> Threshold | None:
        """The threshold tabulated at exactly this bandwidth, or None."""
        return self._find((family, float(bandwidth), metric))

    def lookup(self, family: str, bandwidth: float, metric: str) -> tuple[Threshold, str | None]:
        """The threshold for `bandwidth`, or the nearest lower tabulated one with a note."""
        exact = self.get(family, bandwidth, metric)
        if exact is not None:
            return exact, None
        tabulated = self.bandwidths(family, metric)
        if not tabulated:
            raise NoThresholdError(
                f"set {self.name!r} has no {metric} threshold for {family!r} (families: "
                f"{', '.join(self.families()) or 'none'}; metrics for {family!r}: "
                f"{', '.join(self.metrics(family)) or 'none'})")
        lower = [b for b in tabulated if b < bandwidth]
        if not lower:
            raise NoThresholdError(
                f"set {self.name!r}: {bandwidth:g} kbps is below every tabulated {metric} "
                f"bandwidth for {family!r} ({', '.join(f'{b:g}' for b in tabulated)} kbps); "
                "a higher rung's floor would be too strict, so none applies")
        used = lower[-1]
        note = (f"no {metric} threshold tabulated at {bandwidth:g} kbps; used the nearest "
                f"lower tabulated bandwidth, {used:g} kbps")
        return self._find((family, used, metric)), note  # type: ignore[return-value]

    def check(self, family: str, bandwidth: float, results: Mapping[str, MetricResult],
              metrics: Iterable[str] | None = None) -> list[CheckOutcome]:
        """Check `results` (metric name -> MetricResult) against the thresholds.

        Checks every metric tabulated for `family` (or those in `metrics`). A tabulated metric
        missing from `results` or not computed is a "not_computed" outcome. Metrics in
        `results` without a threshold are ignored. Raises NoThresholdError when the family is
        not in the set or a checked metric has no threshold at or below `bandwidth`.
        """
        names = self.metrics(family) if metrics is None else list(metrics)
        if not names:
            raise NoThresholdError(f"set {self.name!r} has no thresholds for {family!r}; "
                                   f"families: {', '.join(self.families()) or 'none'}")
        outcomes = []
        for metric in names:
            threshold, note = self.lookup(family, bandwidth, metric)
            result = results.get(metric)
            common = dict(family=family, bandwidth_kbps=float(bandwidth), metric=metric,
                          threshold=threshold, bandwidth_used=threshold.bandwidth_kbps,
                          note=note)
            if result is None:
                outcomes.append(CheckOutcome(status=Status.NOT_COMPUTED, observed=None,
                                             shortfall=None, reason="metric was not run "
                                             "(absent from the results)", **common))
                continue
            if not isinstance(result, MetricResult):
                raise TypeError(f"results[{metric!r}] is a {type(result).__name__}: expected a "
                                "MetricResult (a bare number could hide a failed metric)")
            if not result.ok:
                outcomes.append(CheckOutcome(status=Status.NOT_COMPUTED, observed=None,
                                             shortfall=None, reason=result.reason, **common))
                continue
            short = threshold.shortfall(result.value)
            outcomes.append(CheckOutcome(status=Status.PASSED if short == 0.0 else Status.FAILED,
                                         observed=result.value, shortfall=short, **common))
        return outcomes

    def updated(self, entries: Iterable[Mapping[str, Any]], provenance: str,
                name: str | None = None) -> ThresholdSet:
        """A new set with `entries` applied: existing keys updated, new keys added."""
        current = {t.key: t for t in self.thresholds}
        for i, entry in enumerate(entries):
            where = f"{provenance}: entry {i}"
            check_entry(entry, where, _FIELDS, ("family", "bandwidth_kbps", "metric"))
            fields = dict(entry)
            fields["bandwidth_kbps"] = finite_number(fields["bandwidth_kbps"],
                                                     f"{where}: bandwidth")
            if fields.get("anchor_range") is not None:
                fields["anchor_range"] = tuple(fields["anchor_range"])
            old = self._find((fields["family"], fields["bandwidth_kbps"], fields["metric"]))
            try:
                if old is None:
                    new = Threshold(**{"provenance": provenance, **fields})
                else:
                    if "minimum" in fields or "maximum" in fields:  # a new limit replaces both
                        fields.setdefault("minimum", None)
                        fields.setdefault("maximum", None)
                    fields["bandwidth_kbps"] = old.bandwidth_kbps
                    new = dataclasses.replace(old, **{"provenance": provenance, **fields})
            except TypeError as exc:
                raise ThresholdError(f"{where}: {exc}") from exc
            current[new.key] = new
        return ThresholdSet(name or self.name, tuple(current.values()))

    def with_overrides(self, overrides: Mapping[str, Any],
                       provenance: str = "overrides") -> ThresholdSet:
        """Apply ``{family: {bandwidth: {metric: limit or {field: value}}}}``.

        A bare number sets the limit in the metric's direction (minimum for scores, maximum
        for distances).
        """
        return self.updated(_flatten_overrides(overrides, provenance), provenance)

    def to_dict(self) -> dict[str, Any]:
        """`{"name": ..., "thresholds": [...]}`; `load_thresholds` reads it back."""
        return {"base": "none", "name": self.name,
                "thresholds": [t.to_dict() for t in self.thresholds]}


_FIELDS = frozenset(f.name for f in dataclasses.fields(Threshold))


def _flatten_overrides(overrides: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    if not isinstance(overrides, Mapping):
        raise ThresholdError(f"{where}: expected {{family: {{bandwidth: {{metric: value}}}}}}, "
                             f"got a {type(overrides).__name__}")
    entries = []
    for family, by_bw in overrides.items():
        if not isinstance(by_bw, Mapping):
            raise ThresholdError(f"{where}[{family!r}]: expected {{bandwidth: {{metric: ...}}}}")
        for bw, by_metric in by_bw.items():
            try:
                bandwidth = float(bw)
            except (TypeError, ValueError):
                raise ThresholdError(f"{where}[{family!r}]: bandwidth {bw!r} is not a "
                                     "number") from None
            if not isinstance(by_metric, Mapping):
                raise ThresholdError(f"{where}[{family!r}][{bw!r}]: expected {{metric: ...}}")
            for metric, value in by_metric.items():
                entry: dict[str, Any] = {"family": family, "bandwidth_kbps": bandwidth,
                                         "metric": metric}
                if isinstance(value, Mapping):
                    entry.update(value)
                else:
                    direction = "maximum" if metric in LOWER_IS_BETTER else "minimum"
                    entry[direction] = finite_number(
                        value, f"{where}[{family!r}][{bw!r}][{metric!r}]")
                entries.append(entry)
    return entries


def built_in_sets() -> dict[str, ThresholdSet]:
    """The built-in threshold sets by name: `released` and `none`."""
    from conformance.quality.released import RELEASED

    return {"released": RELEASED, "none": ThresholdSet("none")}


# ------------------------------------------------------------------------------ loading
def read_thresholds_file(path: Path) -> Any:
    """The parsed content of a .yaml/.yml/.json thresholds file (bounded, safe parsing); any
    problem is a ThresholdError naming the file."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise ThresholdError(f"{path}: unknown threshold file type {suffix!r} (use .yaml, .yml "
                             "or .json)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ThresholdError(f"{path}: not readable ({exc.strerror or exc})") from exc
    try:
        return parse_json(data, str(path)) if suffix == ".json" else parse_yaml(data, str(path))
    except ConfigFileError as exc:
        raise ThresholdError(exc.message, exc.details) from exc



def check_entry(entry: Any, where: str, known: Iterable[str], required: Iterable[str]) -> None:
    """Refuse a thresholds-file entry that is not a mapping, names a field outside `known` or
    lacks one of `required`; `where` (file and entry number) starts the message."""
    if not isinstance(entry, Mapping):
        raise ThresholdError(f"{where} is a {type(entry).__name__}, expected a mapping")
    unknown = sorted(set(entry) - set(known))
    if unknown:
        raise ThresholdError(f"{where}: unknown field(s) {', '.join(unknown)}; known: "
                             f"{', '.join(sorted(known))}")
    missing = [k for k in required if k not in entry]
    if missing:
        raise ThresholdError(f"{where}: missing {', '.join(missing)}")

def load_thresholds(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                    *, base: str | ThresholdSet = "released") -> ThresholdSet:
    """The `base` set (a built-in name or a ThresholdSet), updated by the file at `path` (its
    own "base" key, if any, replaces the argument), then by `overrides`."""
    data: Any = None
    if path is not None:
        path = Path(path)
        data = read_thresholds_file(path)
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - {"base", "name", "thresholds"})
            if unknown:
                raise ThresholdError(f"{path}: unknown top-level key(s) {', '.join(unknown)} "
                                     "(known: base, name, thresholds)")
            base = data.get("base", base)
        elif not isinstance(data, list):
            raise ThresholdError(f"{path}: expected a list of thresholds or a mapping with "
                                 f"'thresholds', got {type(data).__name__}")
    if isinstance(base, str):
        sets = built_in_sets()
        if base not in sets:
            raise ThresholdError(f"base={base!r}: choose one of {', '.join(sets)}")
        base = sets[base]
    result = base
    if data is not None:
        entries = data if isinstance(data, list) else data.get("thresholds") or []
        if not isinstance(entries, list):
            raise ThresholdError(f"{path}: 'thresholds' must be a list")
        name = data.get("name") if isinstance(data, Mapping) else None
        result = result.updated(entries, provenance=f"file {path.name}", name=name)
    if overrides:
        result = result.with_overrides(overrides)
    return result
