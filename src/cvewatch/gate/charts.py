"""Charts for a gate report (matplotlib, Agg backend): for each failing or inconclusive metric the two
distributions side by side, and a metric's history with its change points. PNG and SVG, as bytes.

Output is deterministic: no dates in the SVG metadata, a fixed hash salt, fixed jitter.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cvewatch.gate.changepoint import ChangePoint
from cvewatch.gate.stats import MetricComparison

FORMATS = ("png", "svg")
plt.rcParams["svg.hashsalt"] = "cvewatch-gate"


def _render(fig: Figure, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"chart format must be one of {FORMATS}")
    buf = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buf, format=fmt, metadata=metadata, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def distributions_chart(
    comparison: MetricComparison, baseline: Sequence[float], candidate: Sequence[float], fmt: str = "png"
) -> bytes:
    """Box plots of baseline and candidate with every sample shown, titled with the verdict."""
    fig, ax = plt.subplots(figsize=(6, 4))
    data = [np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)]
    ax.boxplot(data, tick_labels=["baseline", "candidate"], widths=0.5)
    jitter = np.random.Generator(np.random.PCG64(0))
    for pos, values in enumerate(data, 1):
        ax.scatter(pos + jitter.uniform(-0.08, 0.08, len(values)), values, s=14, alpha=0.7)
    better = "higher" if comparison.direction.value == "higher" else "lower"
    ax.set_ylabel(f"{comparison.unit} ({better} is better)")
    ax.set_title(
        f"{comparison.name}: {comparison.status.value}, {comparison.change_percent:+.1f} %", fontsize=9
    )
    return _render(fig, fmt)


def history_chart(
    name: str, labels: Sequence[str], values: Sequence[float], points: Sequence[ChangePoint], fmt: str = "png"
) -> bytes:
    """A metric's series over image versions with its change points as vertical lines."""
    if len(labels) != len(values):
        raise ValueError("one label per value")
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(values))
    ax.plot(x, values, marker=".", linewidth=1)
    for cp in points:
        ax.axvline(cp.index - 0.5, color="tab:red", linestyle="--", linewidth=1)
        ax.annotate(f"{cp.forward_change * 100:+.1f} %", (cp.index, max(values)), fontsize=7, color="tab:red")
    step = max(1, len(labels) // 10)
    ax.set_xticks(x[::step], [labels[i] for i in range(0, len(labels), step)], rotation=30, fontsize=7)
    ax.set_title(f"{name}: {len(points)} change point(s)", fontsize=9)
    return _render(fig, fmt)
