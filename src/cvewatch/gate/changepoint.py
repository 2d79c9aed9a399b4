"""Change points in a metric's history: E-Divisive means with Otava's t-test significance test
(docs/gate-statistics.md §10), and a plain t-test binary segmentation as a baseline.

Written from the algorithm's description (Matteson and James 2014; Fleming et al. 2023; Apache Otava's
``docs/MATH.md``) and checked against the ``apache-otava`` package by ``tests/gate/otava_compare.py``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

_Interval = tuple[int, int]


@dataclass(frozen=True)
class ChangePoint:
    """A change point: the first index of the new regime, and the t-test between its neighbours."""

    index: int
    pvalue: float
    mean_before: float
    mean_after: float
    std_before: float
    std_after: float

    @property
    def forward_change(self) -> float:
        """Relative change of the mean from before to after (0 when the mean before is 0)."""
        return self.mean_after / self.mean_before - 1.0 if self.mean_before else 0.0

    @property
    def magnitude(self) -> float:
        """max(|after/before - 1|, |before/after - 1|): Otava's size of a change."""
        backward = self.mean_before / self.mean_after - 1.0 if self.mean_after else 0.0
        return max(abs(self.forward_change), abs(backward))


def q_matrix(segment: np.ndarray) -> np.ndarray:
    """Q(τ, κ) of §10.1 for every split of ``segment``: row τ-1, column κ-2, 0 where κ ≤ τ."""
    n = len(segment)
    dist = np.abs(segment[:, None] - segment[None, :])
    pre = np.zeros((n + 1, n + 1))
    pre[1:, 1:] = dist.cumsum(axis=0).cumsum(axis=1)
    tau = np.arange(1, n)[:, None]
    kappa = np.arange(2, n + 1)[None, :]
    cross = pre[tau, kappa] - pre[tau, tau]
    within_x = pre[tau, tau] / 2.0
    within_y = (pre[kappa, kappa] - pre[tau, kappa] - pre[kappa, tau] + pre[tau, tau]) / 2.0
    nx, my = tau.astype(float), (kappa - tau).astype(float)
    total = nx + my
    with np.errstate(divide="ignore", invalid="ignore"):
        qx = np.where(nx > 1, 2.0 * my / (total * (nx - 1.0)), 0.0) * within_x
        qy = np.where(my > 1, 2.0 * nx / (total * (my - 1.0)), 0.0) * within_y
        q = 2.0 / total * cross - qx - qy
    return np.where(kappa > tau, q, 0.0)


def candidate(series: np.ndarray, interval: _Interval) -> tuple[int, float]:
    """The best split τ of ``series[start:stop]`` and its Q (first maximum in row-major order).

    Exact ties of Q are broken like Otava's (first in row-major order); Otava computes Q by recurrences and
    we by prefix sums, so a tie in one may be split by rounding in the other (``docs/BENCHMARKS.md``).
    """
    start, stop = interval
    q = q_matrix(series[start:stop])
    i, j = np.unravel_index(int(np.argmax(q)), q.shape)
    return start + int(i) + 1, float(q[i, j])


def ttest(left: np.ndarray, right: np.ndarray, index: int) -> ChangePoint:
    """Otava's significance test: Student's two-sided t-test from population standard deviations."""
    mean_l, mean_r = float(np.mean(left)), float(np.mean(right))
    std_l = float(np.std(left)) if len(left) >= 2 else 0.0
    std_r = float(np.std(right)) if len(right) >= 2 else 0.0
    p = 1.0
    if len(left) + len(right) > 2:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = float(sps.ttest_ind_from_stats(mean_l, std_l, len(left), mean_r, std_r, len(right)).pvalue)
    return ChangePoint(index, 1.0 if math.isnan(p) else p, mean_l, mean_r, std_l, std_r)


def intervals(indices: Sequence[int], length: int) -> list[_Interval]:
    """The segments between sorted change points (empty ones dropped)."""
    bounds = [0, *indices, length]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a != b]


def point_stats(series: np.ndarray, index: int, segments: list[_Interval]) -> ChangePoint:
    """The t-test of a change point against its neighbouring segments, or of a split inside one."""
    for k, (start, stop) in enumerate(segments):
        if stop == index:
            return ttest(series[start:stop], series[slice(*segments[k + 1])], index)
        if start < index < stop:
            return ttest(series[start:index], series[index:stop], index)
    raise ValueError(f"index {index} is in no segment of {segments}")


def e_divisive(window: np.ndarray, max_pvalue: float) -> list[int]:
    """E-Divisive over one window: split at the best candidate while its t-test p ≤ ``max_pvalue``."""
    found: list[int] = []
    while True:
        segments = intervals(found, len(window))
        best: tuple[int, float] | None = None
        for segment in segments:
            if segment[1] - segment[0] > 1:
                option = candidate(window, segment)
                if best is None or option[1] > best[1]:
                    best = option
        if best is None or point_stats(window, best[0], segments).pvalue > max_pvalue:
            return found
        found = sorted([*found, best[0]])


def weak_pvalue(max_pvalue: float) -> float:
    """The relaxed threshold of the split step: 10x below 0.05, 2x below 0.5, else unchanged."""
    if max_pvalue < 0.05:
        return max_pvalue * 10
    return max_pvalue * 2 if max_pvalue < 0.5 else max_pvalue


def split(series: np.ndarray, window_len: int, max_pvalue: float) -> list[ChangePoint]:
    """The weak change points of sliding windows (step ⌊window_len/2⌋), with whole-series statistics."""
    if window_len < 2:
        raise ValueError("window_len must be at least 2")
    found: list[int] = []
    start, step = 0, window_len // 2
    while start < len(series):
        end = min(start + window_len, len(series))
        new = [start + i for i in e_divisive(series[start:end], max_pvalue)]
        start = max(new[-1] if new else 0, start + step)
        found.extend(i for i in new if i not in found)
    found.sort()
    segments = intervals(found, len(series))
    return [point_stats(series, i, segments) for i in found]


def merge(
    points: list[ChangePoint], series: np.ndarray, max_pvalue: float, min_magnitude: float
) -> list[ChangePoint]:
    """Drop weak change points: the least significant first, then the smallest while ≤ the floor (§10.4).

    As in Otava, after a removal the statistics of the points at the removed position and the one after
    are recomputed (the point before keeps its previous statistics).
    """
    points = list(points)
    while points:
        weakest = max(points, key=lambda c: c.pvalue)
        if weakest.pvalue < max_pvalue:
            weakest = min(points, key=lambda c: c.magnitude)
            if weakest.magnitude > min_magnitude:
                return points
        position = points.index(weakest)
        del points[position]
        segments = intervals([c.index for c in points], len(series))
        for k in (position, position + 1):
            if k < len(points):
                points[k] = point_stats(series, points[k].index, segments)
    return points


def fill_missing(values: Sequence[float | None]) -> np.ndarray:
    """Missing values filled forward, leading ones backward (as Otava does)."""
    filled = list(values)
    for order in (range(len(filled)), reversed(range(len(filled)))):
        previous: float | None = None
        for i in order:
            if filled[i] is None:
                filled[i] = previous
            previous = filled[i]
    if any(v is None for v in filled):
        raise ValueError("a series with no value at all")
    return np.asarray(filled, dtype=np.float64)


def detect_change_points(
    values: Sequence[float | None],
    window_len: int = 30,
    max_pvalue: float = 0.01,
    min_magnitude: float = 0.05,
) -> tuple[ChangePoint, ...]:
    """Otava's change points of a series: split at the weak threshold, then merge (§10.3, §10.4)."""
    series = fill_missing(values)
    weak = split(series, window_len, weak_pvalue(max_pvalue))
    return tuple(merge(weak, series, max_pvalue, min_magnitude))


def ttest_segmentation(
    values: Sequence[float | None], alpha: float = 0.01, min_size: int = 5
) -> tuple[int, ...]:
    """The baseline detector: binary segmentation at the largest Welch |t|, kept when p < ``alpha``."""
    series = fill_missing(values)
    found: list[int] = []
    pending = [(0, len(series))]
    while pending:
        start, stop = pending.pop()
        split_at = _best_t_split(series[start:stop], alpha, min_size)
        if split_at is not None:
            found.append(start + split_at)
            pending.extend([(start, start + split_at), (start + split_at, stop)])
    return tuple(sorted(found))


def _best_t_split(segment: np.ndarray, alpha: float, min_size: int) -> int | None:
    """The split of ``segment`` with the largest Welch |t| (each side ≥ ``min_size``), if p < ``alpha``."""
    n = len(segment)
    if n < 2 * min_size:
        return None
    best_t, best_i = 0.0, None
    for i in range(min_size, n - min_size + 1):
        left, right = segment[:i], segment[i:]
        se = math.sqrt(np.var(left, ddof=1) / len(left) + np.var(right, ddof=1) / len(right))
        t = abs(float(np.mean(left) - np.mean(right))) / se if se > 0 else 0.0
        if t > best_t:
            best_t, best_i = t, i
    if best_i is None:
        return None
    p = float(sps.ttest_ind(segment[:best_i], segment[best_i:], equal_var=False).pvalue)
    return best_i if p < alpha else None
