"""Quality thresholds per model family x bandwidth x metric, as data, and the check against them.

Two built-in sets, never mixed:

- `RELEASED` (name "released"): floors for the released checkpoints, anchored on published
  numbers (docs: shared/docs/eval_anchors.md section A3). Only encodec_24khz has published
  PESQ/STOI numbers; encodec_32khz and encodec_48khz have none (eval_anchors A3(i)), so they
  are not tabulated rather than guessed. Each floor sits a documented margin BELOW the lowest
  published value (`PESQ_MARGIN`, `STOI_FACTOR`; see `MARGIN_NOTE`), so a correctly loaded
  checkpoint passes and a broken load (static noise, random weights: PESQ-WB about 1.03,
  STOI 0.4-0.55 on our speech clips) fails.
- `GOLDEN` (name "golden"): the small checkpoints trained by this repo (`training.configs`).
  Placeholders with `measured=False` (the issue's floor, at each family's top bandwidth) until
  measured values replace them (`measured_threshold`).

Every threshold is for clean speech clips. Mel distance is not tabulated for released models:
the published "mel" (Codec-SUPERB, DAC-style) is another definition than `metrics.mel_distance`.

Checking (`ThresholdSet.check`): a metric that could not be computed is its own outcome
("not_computed", with the reason), never a pass and never a number. A bandwidth that is not
tabulated uses the nearest LOWER tabulated bandwidth (quality grows with bandwidth, so the
lower rung's floor is the safe one) and says so in the outcome's `note`; a bandwidth below
every tabulated one has no threshold and raises `NoThresholdError`.

Files (`load_thresholds`): YAML (`yaml.safe_load`) or JSON, either a list of entries or
``{"base": "released" | "golden" | "none", "name": ..., "thresholds": [entries]}``. An entry
names family, bandwidth_kbps and metric plus any Threshold fields; an entry whose key exists in
the base updates that threshold, a new key must give `minimum` or `maximum`. `overrides` is
``{family: {bandwidth: {metric: limit or {field: value}}}}``, applied after the file.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .metrics import METRICS, MetricResult
from .training.configs import GOLDEN as GOLDEN_RECIPES

Status = Literal["passed", "failed", "not_computed"]

#: Metrics where larger is better (thresholds give a `minimum`) and where smaller is better
#: (distances: thresholds give a `maximum`).
HIGHER_IS_BETTER = frozenset({"pesq_wb", "pesq_nb", "stoi", "estoi", "si_sdr"})
LOWER_IS_BETTER = frozenset({"mel_distance", "log_spectral_distance"})

#: Released floors: lowest published PESQ-WB minus PESQ_MARGIN; lowest STOI times STOI_FACTOR.
PESQ_MARGIN = 0.3
STOI_FACTOR = 0.9
_BW_TOL = 1e-9

MARGIN_NOTE = (
    f"floor = lowest published value - {PESQ_MARGIN} (PESQ-WB) or x {STOI_FACTOR} (STOI). "
    "The published runs differ from ours in (1) resampler: our PESQ goes 24 -> 16 kHz through "
    "the pinned audio_io resampler, the toolkits through librosa/soxr/julius (a few "
    "hundredths); (2) data: we score a handful of short clips, not LibriSpeech test-clean, "
    "and single clips scatter by several tenths of PESQ around a corpus mean (the two "
    "Codec-SUPERB snapshots alone differ by up to 0.19 PESQ / 0.026 STOI at one "
    "bandwidth); (3) metric code: Codec-SUPERB's STOI is its own re-implementation at the "
    "native rate, ours is pystoi 0.4.1 at 10 kHz; (4) device and version drift of the "
    "decoder (about 2 % in transformers' goldens). eval_anchors' tighter 0.1 / 0.02 suits "
    "corpus means, not a few clips. This is a 'loaded correctly' gate; subtle regressions "
    "are for thresholds measured on the golden clips."
)

GOLDEN_NOTE = (
    "placeholder: the golden-checkpoint issue's floor (measured=False); replace it with the "
    "measured value minus a margin once the checkpoint is trained (measured_threshold)"
)
ISSUE_SOURCE = "golden-checkpoint issue: acceptance floor for the repo's golden checkpoints"


class ThresholdError(ValueError):
    """A threshold entry, file or override is invalid (the message names it)."""


class NoThresholdError(LookupError):
    """No threshold applies to the family / bandwidth / metric asked for."""


# ------------------------------------------------------------------------------ the data
@dataclass(frozen=True)
class Threshold:
    """One floor (`minimum`, for scores) or ceiling (`maximum`, for distances).

    `anchor_value` / `anchor_range` summarise the published (or measured) values it is set
    from: the median and the (min, max). `sources` cite each with its label from
    eval_anchors.md ([primary], [secondary], [informal]). `measured` is None for thresholds
    from published anchors, False for golden placeholders, True once set from a measurement.
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
        bw = _number(self.bandwidth_kbps, f"{where}: bandwidth_kbps")
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
        object.__setattr__(self, want, _number(getattr(self, want), f"{where}: {want}"))
        if self.anchor_value is not None:
            object.__setattr__(self, "anchor_value",
                               _number(self.anchor_value, f"{where}: anchor_value"))
        if self.anchor_range is not None:
            lo, hi = (_number(v, f"{where}: anchor_range") for v in self.anchor_range)
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
        if self.measured is False:
            text += " (placeholder, not measured)"
        return text

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["sources"] = list(self.sources)
        d["anchor_range"] = None if self.anchor_range is None else list(self.anchor_range)
        return d


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ThresholdError(f"{what}={v!r}: must be a finite number")
    return float(v)


@dataclass(frozen=True)
class CheckOutcome:
    """One metric checked against one threshold.

    `status` is "passed", "failed" or "not_computed" (then `observed` and `shortfall` are
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
        return self.status == "passed"

    @property
    def message(self) -> str:
        """One line in observed / expected / [context] form."""
        ctx = f"[{self.family} @ {self.bandwidth_kbps:g} kbps, {self.threshold.provenance}"
        ctx += f"; {self.note}]" if self.note else "]"
        t = self.threshold
        if self.status == "not_computed":
            return f"{self.metric} not computed: {self.reason} {ctx}"
        if self.status == "passed":
            return f"{self.metric}={self.observed:.3f} {t.describe()} {ctx}"
        return (f"{self.metric}={self.observed:.3f}, but should be {t.describe()} "
                f"(short by {self.shortfall:.3f}) {ctx}")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
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
                outcomes.append(CheckOutcome(status="not_computed", observed=None,
                                             shortfall=None, reason="metric was not run "
                                             "(absent from the results)", **common))
                continue
            if not isinstance(result, MetricResult):
                raise TypeError(f"results[{metric!r}] is a {type(result).__name__}: expected a "
                                "MetricResult (a bare number could hide a failed metric)")
            if not result.ok:
                outcomes.append(CheckOutcome(status="not_computed", observed=None,
                                             shortfall=None, reason=result.reason, **common))
                continue
            short = threshold.shortfall(result.value)
            outcomes.append(CheckOutcome(status="passed" if short == 0.0 else "failed",
                                         observed=result.value, shortfall=short, **common))
        return outcomes

    def updated(self, entries: Iterable[Mapping[str, Any]], provenance: str,
                name: str | None = None) -> ThresholdSet:
        """A new set with `entries` applied: existing keys updated, new keys added."""
        current = {t.key: t for t in self.thresholds}
        for i, entry in enumerate(entries):
            where = f"{provenance}: entry {i}"
            if not isinstance(entry, Mapping):
                raise ThresholdError(f"{where} is a {type(entry).__name__}, expected a mapping")
            unknown = sorted(set(entry) - _FIELDS)
            if unknown:
                raise ThresholdError(f"{where}: unknown field(s) {', '.join(unknown)}; known: "
                                     f"{', '.join(sorted(_FIELDS))}")
            missing = [k for k in ("family", "bandwidth_kbps", "metric") if k not in entry]
            if missing:
                raise ThresholdError(f"{where}: missing {', '.join(missing)}")
            fields = dict(entry)
            fields["bandwidth_kbps"] = _number(fields["bandwidth_kbps"], f"{where}: bandwidth")
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
                    entry[direction] = _number(value, f"{where}[{family!r}][{bw!r}][{metric!r}]")
                entries.append(entry)
    return entries


# ------------------------------------------------------------------ released: published anchors
_SUPERB_1 = ("Codec-SUPERB results snapshot 1 (web/src/results/data.js @3bd3812, dataset not "
             "named; eval_anchors A3a) [primary]")
_SUPERB_2 = ("Codec-SUPERB codec-superb-tiny rerun, Speech split (@ec31105; eval_anchors A3a) "
             "[primary]")
_XCODEC2 = ("Llasa / X-codec2 paper arXiv 2502.04128 Table 1, LibriSpeech test-clean "
            "(eval_anchors A3b) [secondary]")
_MOSS = ("MOSS-Audio-Tokenizer-v2 model card (arXiv 2602.10934), LibriSpeech test-clean EN "
         "(eval_anchors A3c) [secondary]")
_SCIT = ("SCIT report, 8 LibriSpeech train-clean-100 utterances (eval_anchors A3h) "
         "[informal]")
_CODECSCOPE = "codecscope README, one 8 s LibriVox narration (eval_anchors A3h) [informal]"

#: encodec_24khz on clean speech: (bandwidth, metric) -> (source, published value) pairs.
ANCHORS_24KHZ: dict[tuple[float, str], tuple[tuple[str, float], ...]] = {
    (1.5, "pesq_wb"): ((_SUPERB_1, 1.462), (_SUPERB_2, 1.516), (_XCODEC2, 1.56),
                       (_MOSS, 1.56), (_SCIT, 1.587)),
    (3.0, "pesq_wb"): ((_SUPERB_1, 1.923), (_SUPERB_2, 1.984), (_SCIT, 2.151)),
    (6.0, "pesq_wb"): ((_SUPERB_1, 2.538), (_SUPERB_2, 2.635), (_XCODEC2, 2.77),
                       (_SCIT, 2.850)),
    (12.0, "pesq_wb"): ((_SUPERB_1, 3.114), (_SUPERB_2, 3.304), (_SCIT, 3.490)),
    (24.0, "pesq_wb"): ((_SUPERB_1, 3.467), (_SUPERB_2, 3.658)),
    (1.5, "stoi"): ((_SUPERB_1, 0.773), (_SUPERB_2, 0.799), (_XCODEC2, 0.85), (_MOSS, 0.85),
                    (_SCIT, 0.841)),
    (3.0, "stoi"): ((_SUPERB_1, 0.841), (_SUPERB_2, 0.861), (_SCIT, 0.895)),
    (6.0, "stoi"): ((_SUPERB_1, 0.893), (_SUPERB_2, 0.910), (_XCODEC2, 0.94), (_SCIT, 0.937),
                    (_CODECSCOPE, 0.937)),
    (12.0, "stoi"): ((_SUPERB_1, 0.930), (_SUPERB_2, 0.943), (_SCIT, 0.962)),
    (24.0, "stoi"): ((_SUPERB_1, 0.952), (_SUPERB_2, 0.960)),
}


def _published(family: str, bandwidth: float, metric: str,
               anchors: tuple[tuple[str, float], ...]) -> Threshold:
    values = [v for _, v in anchors]
    low = min(values)
    floor = low - PESQ_MARGIN if metric.startswith("pesq") else low * STOI_FACTOR
    return Threshold(
        family=family, bandwidth_kbps=bandwidth, metric=metric, minimum=round(floor, 3),
        anchor_value=round(statistics.median(values), 4), anchor_range=(low, max(values)),
        sources=tuple(f"{src}: {v}" for src, v in anchors), margin_note=MARGIN_NOTE,
        measured=None, provenance="built-in released")


RELEASED = ThresholdSet("released", tuple(
    _published("encodec_24khz", bw, metric, anchors)
    for (bw, metric), anchors in ANCHORS_24KHZ.items()))


# ------------------------------------------------------------------- golden: issue placeholders
#: The issue's floors for the golden checkpoints at their top bandwidth, on speech.
GOLDEN_FLOORS: dict[str, dict[str, float]] = {
    "encodec_24khz": {"stoi": 0.85, "pesq_wb": 1.3},
    "encodec_32khz": {"stoi": 0.75},
    "encodec_48khz": {"stoi": 0.75},
}


def _golden() -> ThresholdSet:
    out = []
    for family, floors in GOLDEN_FLOORS.items():
        top = GOLDEN_RECIPES[family].config.bandwidths[-1]
        for metric, floor in floors.items():
            out.append(Threshold(
                family=family, bandwidth_kbps=top, metric=metric, minimum=floor,
                sources=(f"{ISSUE_SOURCE}: {metric} >= {floor} at the top bandwidth "
                         f"({top:g} kbps) on speech",),
                margin_note=GOLDEN_NOTE, measured=False, provenance="built-in golden"))
    return ThresholdSet("golden", tuple(out))


GOLDEN = _golden()
BUILT_IN: dict[str, ThresholdSet] = {"released": RELEASED, "golden": GOLDEN,
                                     "none": ThresholdSet("none")}


def measured_threshold(placeholder: Threshold, observed: list[float] | float,
                       margin: float) -> Threshold:
    """A measured golden threshold: the worst observed value minus (or, for a distance,
    plus) `margin`, never looser than the placeholder's floor. Raises ThresholdError if an
    observed value itself fails the placeholder (the checkpoint misses the issue's floor)."""
    values = [float(observed)] if isinstance(observed, (int, float)) else [float(v)
                                                                           for v in observed]
    if not values or margin < 0:
        raise ThresholdError("measured_threshold needs observed values and a margin >= 0")
    failing = [v for v in values if placeholder.shortfall(v) > 0]
    if failing:
        raise ThresholdError(f"{placeholder.family}@{placeholder.bandwidth_kbps:g}/"
                             f"{placeholder.metric}: measured {failing} miss the floor "
                             f"{placeholder.describe()}")
    if placeholder.direction == "minimum":
        limit = {"minimum": max(placeholder.limit, min(values) - margin)}
    else:
        limit = {"maximum": min(placeholder.limit, max(values) + margin)}
    return dataclasses.replace(
        placeholder, **limit, anchor_value=statistics.median(values),
        anchor_range=(min(values), max(values)), measured=True,
        sources=(*placeholder.sources, f"measured on the golden clips: {values}"),
        margin_note=f"measured worst value {'-' if 'minimum' in limit else '+'} {margin}, "
                    f"no looser than the issue floor {placeholder.limit}",
        provenance="measured")


# ------------------------------------------------------------------------------ loading
def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ThresholdError(f"{path}: not valid YAML ({exc})") from exc
    if suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ThresholdError(f"{path}: not valid JSON ({exc})") from exc
    raise ThresholdError(f"{path}: unknown threshold file type {suffix!r} (use .yaml, .yml "
                         "or .json)")


def load_thresholds(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                    *, base: str | ThresholdSet = "released") -> ThresholdSet:
    """The `base` set (a built-in name or a ThresholdSet), updated by the file at `path` (its
    own "base" key, if any, replaces the argument), then by `overrides`."""
    data: Any = None
    if path is not None:
        path = Path(path)
        data = _read(path)
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
        if base not in BUILT_IN:
            raise ThresholdError(f"base={base!r}: choose one of {', '.join(BUILT_IN)}")
        base = BUILT_IN[base]
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
