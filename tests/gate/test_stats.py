"""A/B statistics with fixed seeds and known distributions."""

from __future__ import annotations

import numpy as np
import pytest

from cvewatch.errors import InputError
from cvewatch.gate.model import Direction, Family, MetricSamples
from cvewatch.gate.stats import (
    GateSettings,
    SampleSizeError,
    bootstrap_ratio_ci,
    compare_run,
    more_runs,
    one_sided_p,
)
from cvewatch.gate.verdict_types import Status


def samples(
    name: str, values: np.ndarray, direction: Direction = Direction.HIGHER, family: Family = Family.CPU
) -> MetricSamples:
    return MetricSamples(name, "ops/s", direction, family, tuple(float(v) for v in values))


def run(b: np.ndarray, c: np.ndarray, direction: Direction = Direction.HIGHER, family: Family = Family.CPU):
    return compare_run({"m": samples("m", b, direction, family)}, {"m": samples("m", c, direction, family)})


def noise(seed: int, n: int = 10, cv: float = 0.01, mean: float = 1000.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, mean * cv, n)


def test_identical_samples_pass() -> None:
    b = noise(1)
    verdict = run(b, b.copy())
    assert verdict.status is Status.PASS
    comparison = verdict.comparisons[0]
    assert comparison.ratio == 1.0 and comparison.p_value > 0.4


def test_ten_percent_throughput_drop_fails() -> None:
    verdict = run(noise(1), noise(2) * 0.90)
    assert verdict.status is Status.FAIL
    c = verdict.comparisons[0]
    assert c.significant and c.ci_high < 0.95
    assert verdict.reasons[0].blocking and "fail" in verdict.reasons[0].message


def test_ten_percent_latency_rise_fails_and_drop_passes() -> None:
    assert run(noise(3), noise(4) * 1.10, Direction.LOWER).status is Status.FAIL
    improved = run(noise(3), noise(4) * 0.90, Direction.LOWER)
    assert improved.status is Status.PASS and "improvement" in improved.comparisons[0].reason


def test_throughput_rise_is_an_improvement_not_a_failure() -> None:
    verdict = run(noise(5), noise(6) * 1.20)
    assert verdict.status is Status.PASS and verdict.comparisons[0].p_value > 0.99


def test_small_regression_inside_margin_passes_with_a_note() -> None:
    verdict = run(noise(7, n=20, cv=0.005), noise(8, n=20, cv=0.005) * 0.98)
    c = verdict.comparisons[0]
    assert c.status is Status.PASS and c.significant
    assert "significant but within the margin" in c.reason


def test_cluster_margin_is_ten_percent() -> None:
    seven = run(noise(9, n=20, cv=0.005), noise(10, n=20, cv=0.005) * 1.07, Direction.LOWER, Family.CLUSTER)
    assert seven.status is Status.PASS
    assert run(noise(9), noise(10) * 1.07, Direction.LOWER, Family.CPU).status is Status.FAIL


def test_noisy_metric_is_unstable_and_not_blocking() -> None:
    verdict = run(noise(11, cv=0.05), noise(12, cv=0.05) * 0.92)
    c = verdict.comparisons[0]
    assert c.unstable and c.baseline_cv > 0.025
    assert not verdict.reasons[0].blocking and verdict.status is Status.PASS
    assert "unstable" in c.reason


def test_inconclusive_with_more_runs() -> None:
    # a stable baseline, a candidate that spread out: no significant drop, but one past 5 % not excluded
    b = np.array([100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8])
    verdict = run(b, np.array([88.0, 94.0, 99.0, 100.0, 101.0, 102.0, 96.0]))
    c = verdict.comparisons[0]
    assert c.status is Status.INCONCLUSIVE and not c.unstable
    assert c.more_runs is not None and c.more_runs >= 1
    assert f"about {c.more_runs} more run(s)" in c.reason
    assert verdict.status is Status.INCONCLUSIVE


def test_more_runs_formula() -> None:
    # SE 1 %, estimate 0, margin 5 %: pass needs SE <= 5/2.80 = 1.785 %: already there -> 1 run
    assert more_runs(0.0, -0.0196, 0.0196, 0.05, 10, 10) == 1
    # SE 4 %: needs SE 1.785 % -> (4/1.785)^2 * 10 = 50.2 per side -> 41 more
    assert more_runs(0.0, -0.0784, 0.0784, 0.05, 10, 10) == 41
    # on the margin exactly and not degraded: no decision within 1,000 runs
    assert more_runs(0.05, 0.0, 0.1, 0.05, 10, 10) is not None
    assert more_runs(0.0, 0.0, 0.0, 0.05, 10, 10) is None


@pytest.mark.parametrize("n", [0, 1, 4])
def test_too_few_samples_is_a_clear_error(n: int) -> None:
    with pytest.raises(SampleSizeError, match=f"{n} candidate sample"):
        run(noise(1), noise(2, n=n) if n else np.array([]))


def test_zero_or_negative_values_are_errors() -> None:
    with pytest.raises(InputError, match="positive"):
        run(noise(1), np.array([1.0, 2.0, 0.0, 3.0, 4.0]))


def test_mismatched_metric_definitions_are_errors() -> None:
    b = samples("m", noise(1), Direction.HIGHER)
    c = samples("m", noise(1), Direction.LOWER)
    with pytest.raises(InputError, match="baseline"):
        compare_run({"m": b}, {"m": c})


def test_missing_and_new_metrics() -> None:
    b = {"a": samples("a", noise(1)), "b": samples("b", noise(2))}
    c = {"a": samples("a", noise(3)), "c": samples("c", noise(4))}
    verdict = compare_run(b, c)
    by_subject = {r.subject: r for r in verdict.reasons}
    assert by_subject["b"].status is Status.INCONCLUSIVE and by_subject["b"].blocking
    assert not by_subject["c"].blocking
    assert verdict.status is Status.INCONCLUSIVE


def test_benjamini_hochberg_across_metrics() -> None:
    rng = np.random.default_rng(21)
    base = {f"m{i}": samples(f"m{i}", rng.normal(100, 1, 10)) for i in range(40)}
    cand = {f"m{i}": samples(f"m{i}", rng.normal(100, 1, 10)) for i in range(40)}
    verdict = compare_run(base, cand)
    raw = [c.p_value for c in verdict.comparisons]
    adjusted = [c.p_adjusted for c in verdict.comparisons]
    assert all(a >= p for a, p in zip(adjusted, raw, strict=True))
    order = np.argsort(raw)
    k = len(raw)
    manual = np.minimum.accumulate((np.array(raw)[order] * k / np.arange(1, k + 1))[::-1])[::-1]
    assert np.allclose(np.array(adjusted)[order], np.minimum(manual, 1.0))
    assert not any(c.significant for c in verdict.comparisons)


def test_bootstrap_is_deterministic_and_order_independent() -> None:
    b, c = noise(1), noise(2)
    assert bootstrap_ratio_ci(b, c, 2000, 7) == bootstrap_ratio_ci(b, c, 2000, 7)
    one = compare_run({"x": samples("x", b)}, {"x": samples("x", c)})
    two = compare_run(
        {"a": samples("a", noise(3)), "x": samples("x", b)},
        {"a": samples("a", noise(4)), "x": samples("x", c)},
    )
    x = next(cmp for cmp in two.comparisons if cmp.name == "x")
    assert (x.ci_low, x.ci_high) == (one.comparisons[0].ci_low, one.comparisons[0].ci_high)


def test_ci_covers_the_true_ratio_on_lognormal_noise() -> None:
    rng = np.random.default_rng(5)
    covered = 0
    for seed in range(200):
        b, c = rng.lognormal(0, 0.02, 20), rng.lognormal(np.log(0.95), 0.02, 20)
        low, high = bootstrap_ratio_ci(b, c, 1000, seed)
        covered += low <= 0.95 <= high
    assert covered >= 170  # nominal 95 %; the percentile interval of a median runs a little short


def test_one_sided_p_direction() -> None:
    b = np.arange(10.0, 20.0)
    assert one_sided_p(b, b + 100, Direction.LOWER) < 0.001
    assert one_sided_p(b, b + 100, Direction.HIGHER) > 0.99
    assert one_sided_p(np.full(5, 3.0), np.full(5, 3.0), Direction.LOWER) == 1.0


def test_settings_margins_override() -> None:
    settings = GateSettings(margins={Family.CPU: 0.15})
    b, c = noise(1), noise(2) * 0.90
    verdict = compare_run({"m": samples("m", b)}, {"m": samples("m", c)}, settings)
    assert verdict.status is Status.PASS
