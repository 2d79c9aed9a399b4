"""Change points: Otava's TigerBeetle expectations, the divergence against its definition, the baseline,
TCPD scoring against the benchmark's own examples, and the package itself when .venv-otava exists."""

from __future__ import annotations

import itertools
import json
import subprocess

import numpy as np
import pytest

from cvewatch.gate.changepoint import (
    ChangePoint,
    detect_change_points,
    fill_missing,
    q_matrix,
    ttest_segmentation,
    weak_pvalue,
)
from cvewatch.gate.scoring import covering, f_measure, partition, true_positives
from tests.gate.conftest import PERF, ROOT

TIGERBEETLE = json.loads((PERF / "otava/tigerbeetle.json").read_text())


def _args(text: str) -> tuple[int, float, float]:
    kw = dict(part.strip().split("=") for part in text.split(","))
    return int(kw["window_len"]), float(kw["max_pvalue"]), float(kw["min_magnitude"])


@pytest.mark.parametrize("setting", sorted(TIGERBEETLE["otava_regression_expectations"]))
def test_reproduces_otava_on_tigerbeetle(setting: str) -> None:
    expected = TIGERBEETLE["otava_regression_expectations"][setting]
    window, pvalue, floor = _args(expected["args"])
    got = [c.index for c in detect_change_points(TIGERBEETLE["series"], window, pvalue, floor)]
    assert got == expected["expected_indexes"]


def test_size_floor_matters_on_tigerbeetle() -> None:
    without = detect_change_points(TIGERBEETLE["series"], 30, 0.01, 0.0)
    with_floor = detect_change_points(TIGERBEETLE["series"], 30, 0.01, 0.05)
    assert len(without) == 14 and [c.index for c in with_floor] == [15, 71]
    assert all(c.magnitude > 0.05 for c in with_floor)


def _q_by_definition(z: np.ndarray, tau: int, kappa: int) -> float:
    x, y = z[:tau], z[tau:kappa]
    n, m = len(x), len(y)
    cross = sum(abs(a - b) for a in x for b in y)
    wx = sum(abs(a - b) for a, b in itertools.combinations(x, 2))
    wy = sum(abs(a - b) for a, b in itertools.combinations(y, 2))
    qx = 2 * m / ((n + m) * (n - 1)) * wx if n > 1 else 0.0
    qy = 2 * n / ((n + m) * (m - 1)) * wy if m > 1 else 0.0
    return 2 / (n + m) * cross - qx - qy


def test_q_matrix_matches_the_definition() -> None:
    z = np.random.default_rng(3).normal(0, 1, 12)
    q = q_matrix(z)
    for tau in range(1, 12):
        for kappa in range(2, 13):
            expected = _q_by_definition(z, tau, kappa) if kappa > tau else 0.0
            assert q[tau - 1, kappa - 2] == pytest.approx(expected, abs=1e-12)


def test_obvious_step_is_found_by_both_detectors() -> None:
    rng = np.random.default_rng(8)
    series = list(np.concatenate([rng.normal(100, 1, 60), rng.normal(120, 1, 60)]))
    points = detect_change_points(series)
    assert [c.index for c in points] == [60]
    assert points[0].forward_change == pytest.approx(0.2, abs=0.01)
    assert 60 in ttest_segmentation(series)  # the plain baseline also over-splits (max |t| is not a p-value)


def test_noise_alone_gives_no_change_point() -> None:
    series = list(np.random.default_rng(9).normal(100, 1, 200))
    assert detect_change_points(series) == ()


def test_weak_threshold_and_missing_values() -> None:
    assert weak_pvalue(0.01) == pytest.approx(0.1)
    assert weak_pvalue(0.1) == pytest.approx(0.2)
    assert weak_pvalue(0.6) == 0.6
    assert list(fill_missing([None, 2.0, None, 4.0, None])) == [2.0, 2.0, 2.0, 4.0, 4.0]
    with pytest.raises(ValueError):
        fill_missing([None, None])


def test_magnitude_is_symmetric() -> None:
    cp = ChangePoint(5, 0.001, 100.0, 80.0, 1.0, 1.0)
    assert cp.magnitude == pytest.approx(0.25) and cp.forward_change == pytest.approx(-0.2)
    assert ChangePoint(5, 0.1, 0.0, 3.0, 0.0, 0.0).magnitude == pytest.approx(1.0)  # forward is 0 by rule


# The TCPD benchmark's own examples (alan-turing-institute/TCPDBench analysis/scripts/metrics.py docstrings).
def test_tcpd_f1_examples() -> None:
    assert true_positives({1, 10, 20, 23}, {3, 8, 20}) == {1, 10, 20}
    assert true_positives({1, 10, 20, 23}, {1, 3, 5, 8, 20}) == {1, 10, 20}
    assert f_measure({"1": [10, 20], "2": [11, 20], "3": [10], "4": [0, 5]}, [10, 20]) == 1.0
    assert f_measure({"1": [], "2": [10], "3": [50]}, [10]) == pytest.approx(0.9090909090909091)
    assert f_measure({"1": [], "2": [10], "3": [50]}, []) == pytest.approx(0.8)


def test_tcpd_cover_examples() -> None:
    assert partition([3, 5], 8) == [{0, 1, 2}, {3, 4}, {5, 6, 7}]
    assert partition([0, 4], 6) == [{0, 1, 2, 3}, {4, 5}]
    assert covering({"1": [10, 20], "2": [10], "3": [0, 5]}, [10, 20], 45) == pytest.approx(
        0.7962962962962963
    )
    assert covering({"1": [], "2": [10], "3": [40]}, [10], 45) == pytest.approx(0.7954144620811286)
    assert covering({"1": [], "2": [10], "3": [40]}, [], 45) == pytest.approx(0.8189300411522634)


OTAVA_PY = ROOT / ".venv-otava" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(not OTAVA_PY.exists(), reason="no .venv-otava (make otava-env)")
def test_same_change_points_as_the_otava_package() -> None:
    proc = subprocess.run(
        [str(OTAVA_PY), str(ROOT / "tests/gate/otava_compare.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " 0 outside the known ties" in proc.stdout
