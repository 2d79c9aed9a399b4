"""A/B statistics per metric and the perf verdict of a run (docs/gate-statistics.md §1–§7, §9).

Pure functions over :class:`~cvewatch.gate.model.MetricSamples`: a one-sided Mann-Whitney U test,
Benjamini-Hochberg across the run's metrics, a seeded percentile bootstrap CI of the ratio of medians, the
pass / fail / inconclusive rule with the family's margin, instability, and how many more runs would likely
decide an inconclusive metric.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from cvewatch.errors import InputError
from cvewatch.gate.model import MARGINS, Direction, Family, MetricSamples
from cvewatch.gate.verdict_types import Reason, Status, combine

MIN_SAMPLES = 5
Q_FDR = 0.05
CONFIDENCE = 0.95
RESAMPLES = 2000
DEFAULT_SEED = 20250101
MAX_MORE_RUNS = 1000
_Z_CI, _Z_ONE_SIDED, _Z_POWER = 1.959964, 1.644854, 0.841621


class SampleSizeError(InputError):
    """Too few samples of a metric on one side of a gate run for any verdict."""


@dataclass(frozen=True)
class GateSettings:
    """The statistics' parameters; the defaults are the documented ones."""

    q: float = Q_FDR
    min_samples: int = MIN_SAMPLES
    resamples: int = RESAMPLES
    seed: int = DEFAULT_SEED
    margins: Mapping[Family, float] | None = None

    def margin(self, family: Family) -> float:
        """The margin of ``family`` (the settings' own, else the default)."""
        return (self.margins or MARGINS).get(family, MARGINS[family])


@dataclass(frozen=True)
class MetricComparison:
    """Everything the gate computed for one metric, and its verdict."""

    name: str
    unit: str
    family: Family
    direction: Direction
    n_baseline: int
    n_candidate: int
    median_baseline: float
    median_candidate: float
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    margin: float
    baseline_cv: float
    unstable: bool
    significant: bool
    status: Status
    more_runs: int | None
    reason: str

    @property
    def change_percent(self) -> float:
        """The change of the median in per cent (positive = the value went up)."""
        return (self.ratio - 1.0) * 100.0


@dataclass(frozen=True)
class PerfVerdict:
    """The perf verdict of a run: every metric's comparison and the combined status."""

    comparisons: tuple[MetricComparison, ...]
    status: Status
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class _Raw:
    """Per-metric figures before the multiple-testing adjustment."""

    samples: MetricSamples
    b: np.ndarray
    c: np.ndarray
    p: float
    ratio: float
    ci: tuple[float, float]


def _values(samples: MetricSamples, side: str, minimum: int) -> np.ndarray:
    values = np.asarray(samples.values, dtype=np.float64)
    if len(values) < minimum:
        raise SampleSizeError(
            f"metric {samples.name!r}: {len(values)} {side} sample(s), at least {minimum} are needed",
            side,
        )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise InputError(f"metric {samples.name!r}: {side} values must be positive and finite", side)
    return values


def seed_for(name: str, seed: int) -> int:
    """The bootstrap seed of one metric: the run seed plus the CRC-32 of its name."""
    return seed + zlib.crc32(name.encode("utf-8"))


def bootstrap_ratio_ci(
    b: np.ndarray, c: np.ndarray, resamples: int, seed: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Percentile bootstrap CI of median(c) / median(b), both sides resampled independently."""
    rng = np.random.Generator(np.random.PCG64(seed))
    mb = np.median(b[rng.integers(0, len(b), size=(resamples, len(b)))], axis=1)
    mc = np.median(c[rng.integers(0, len(c), size=(resamples, len(c)))], axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(mc / mb, [tail, 1.0 - tail])
    return float(low), float(high)


def one_sided_p(b: np.ndarray, c: np.ndarray, direction: Direction) -> float:
    """Mann-Whitney U p-value for "the candidate is worse" (greater for lower-is-better, less otherwise)."""
    alternative = "greater" if direction is Direction.LOWER else "less"
    if np.all(b == b[0]) and np.all(c == b[0]):
        return 1.0
    return float(sps.mannwhitneyu(c, b, alternative=alternative, method="auto").pvalue)


def _raw(samples: MetricSamples, baseline: MetricSamples, settings: GateSettings) -> _Raw:
    b = _values(baseline, "baseline", settings.min_samples)
    c = _values(samples, "candidate", settings.min_samples)
    ratio = float(np.median(c) / np.median(b))
    ci = bootstrap_ratio_ci(b, c, settings.resamples, seed_for(samples.name, settings.seed))
    return _Raw(samples, b, c, one_sided_p(b, c, samples.direction), ratio, ci)


def degradation(ratio: float, direction: Direction) -> float:
    """A ratio of medians on the degradation scale: positive = worse (§1)."""
    return math.log(ratio) if direction is Direction.LOWER else -math.log(ratio)


def margin_boundary(margin: float, direction: Direction) -> float:
    """The margin on the degradation scale: log(1 + m) for lower-is-better, -log(1 - m) otherwise."""
    return math.log1p(margin) if direction is Direction.LOWER else -math.log1p(-margin)


def more_runs(d_hat: float, d_low: float, d_high: float, boundary: float, n_b: int, n_c: int) -> int | None:
    """Runs to add to both sides for an 80 % chance of a decision (§5); None when more than 1,000."""
    se = (d_high - d_low) / (2.0 * _Z_CI)
    targets = []
    if d_hat < boundary:
        targets.append((boundary - d_hat) / (_Z_CI + _Z_POWER))
    if d_hat > 0:
        targets.append(d_hat / (_Z_ONE_SIDED + _Z_POWER))
    if se <= 0 or not targets:
        return None
    target, now = max(targets), 1.0 / n_b + 1.0 / n_c
    for k in range(1, MAX_MORE_RUNS + 1):
        if se * math.sqrt((1.0 / (n_b + k) + 1.0 / (n_c + k)) / now) <= target:
            return k
    return None


def _describe(raw: _Raw, p_adj: float, margin: float) -> str:
    low, high = raw.ci
    return (
        f"median {(raw.ratio - 1) * 100:+.1f} % "
        f"(95 % CI {(low - 1) * 100:+.1f} % .. {(high - 1) * 100:+.1f} %), "
        f"p = {raw.p:.2g} (BH {p_adj:.2g}), margin {margin * 100:g} %"
    )


def _decide(raw: _Raw, p_adj: float, settings: GateSettings) -> MetricComparison:
    s = raw.samples
    margin = settings.margin(s.family)
    low, high = sorted(degradation(r, s.direction) for r in raw.ci)
    d_hat, boundary = degradation(raw.ratio, s.direction), margin_boundary(margin, s.direction)
    significant = p_adj <= settings.q
    runs: int | None = None
    if high <= boundary:
        status = Status.PASS
        verb = "improvement" if high < 0 else "significant but within the margin" if significant else "pass"
    elif significant:
        status, verb = Status.FAIL, "fail: regression beyond the margin not excluded"
    else:
        status = Status.INCONCLUSIVE
        runs = more_runs(d_hat, low, high, boundary, len(raw.b), len(raw.c))
        more = f"about {runs} more run(s) per side" if runs else "more than 1,000 runs: on the margin"
        verb = f"inconclusive ({more} would likely decide)"
    cv = float(np.std(raw.b, ddof=1) / np.mean(raw.b))
    unstable = cv > margin / 2.0
    text = f"{verb}: {_describe(raw, p_adj, margin)}"
    if unstable:
        text += f"; unstable: baseline CV {cv * 100:.1f} % > half the margin {margin * 50:g} %, not blocking"
    return MetricComparison(
        s.name,
        s.unit,
        s.family,
        s.direction,
        len(raw.b),
        len(raw.c),
        float(np.median(raw.b)),
        float(np.median(raw.c)),
        raw.ratio,
        raw.ci[0],
        raw.ci[1],
        raw.p,
        p_adj,
        margin,
        cv,
        unstable,
        significant,
        status,
        runs,
        text,
    )


def _check_pair(b: MetricSamples, c: MetricSamples) -> None:
    if (b.unit, b.direction, b.family) != (c.unit, c.direction, c.family):
        raise InputError(
            f"metric {b.name!r} is {b.unit}/{b.direction}/{b.family} in the baseline but "
            f"{c.unit}/{c.direction}/{c.family} in the candidate"
        )


def compare_run(
    baseline: Mapping[str, MetricSamples],
    candidate: Mapping[str, MetricSamples],
    settings: GateSettings | None = None,
) -> PerfVerdict:
    """Compare every metric of a run, adjust with Benjamini-Hochberg, decide (§9)."""
    settings = settings or GateSettings()
    common = sorted(set(baseline) & set(candidate))
    for name in common:
        _check_pair(baseline[name], candidate[name])
    raws = [_raw(candidate[name], baseline[name], settings) for name in common]
    adjusted = sps.false_discovery_control([r.p for r in raws], method="bh") if raws else []
    comparisons = tuple(_decide(r, float(p), settings) for r, p in zip(raws, adjusted, strict=True))
    reasons = [
        Reason("perf", c.name, c.status, c.reason, blocking=not c.unstable and c.status is not Status.PASS)
        for c in comparisons
    ]
    for name in sorted(set(baseline) - set(candidate)):
        reasons.append(Reason("perf", name, Status.INCONCLUSIVE, "missing from the candidate's results"))
    for name in sorted(set(candidate) - set(baseline)):
        reasons.append(Reason("perf", name, Status.PASS, "new metric: no baseline", blocking=False))
    if not comparisons:
        reasons.append(
            Reason("perf", "perf", Status.INCONCLUSIVE, "no metric in both baseline and candidate")
        )
    return PerfVerdict(comparisons, combine(reasons), tuple(reasons))
