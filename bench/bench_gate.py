"""Quality of the release gate's statistics on real noise (docs/gate-statistics.md; figures in
docs/BENCHMARKS.md).

- A/A: 1,000 simulated releases per sample size, every metric's baseline and candidate resampled (with
  replacement) from the same real series; a false failure is a release with any blocking failed metric.
- Power: a regression of 2.5 %, 5 % and 10 % injected into the candidate of each stable (CV ≤ 2 %) real
  series; the rate of failures and of blocked releases (fail or inconclusive) per sample size.
- Change points: the Otava reproduction table on TigerBeetle, and F1 / cover on the labelled TCPD series
  (margin 5), ours next to the t-test baseline, with default settings and with the best setting per series.

Real noise: the stable segments of Otava's TigerBeetle series (between its change points) and
sysbench's per-interval oltp figures (PerfKitBenchmarker's sample). Run: ``python bench/bench_gate.py
[--write]`` (``--write`` replaces the gate section of docs/BENCHMARKS.md); bench/run.py runs it too.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PERF = ROOT.parent / "shared" / "data" / "perf"
sys.path.insert(0, str(ROOT / "src"))

from cvewatch.gate.changepoint import detect_change_points, ttest_segmentation  # noqa: E402
from cvewatch.gate.model import Direction, Family, MetricSamples  # noqa: E402
from cvewatch.gate.scoring import covering, f_measure  # noqa: E402
from cvewatch.gate.stats import compare_run  # noqa: E402
from cvewatch.gate.verdict_types import Status  # noqa: E402

RELEASES = 1000
POWER_RELEASES = 500
SIZES = (5, 10, 20)
SHIFTS = (0.025, 0.05, 0.10)
MARK_BEGIN, MARK_END = "<!-- gate-bench:begin -->", "<!-- gate-bench:end -->"


@dataclass(frozen=True)
class Pool:
    """A real noise series for one metric."""

    name: str
    values: np.ndarray
    direction: Direction

    @property
    def cv(self) -> float:
        return float(np.std(self.values, ddof=1) / np.mean(self.values))


def pools() -> list[Pool]:
    """Real noise: TigerBeetle's stable segments and sysbench's per-interval figures."""
    tb = np.asarray(json.loads((PERF / "otava/tigerbeetle.json").read_text())["series"], dtype=float)
    out = [
        Pool(f"tigerbeetle[{a}:{b}]", tb[a:b], Direction.HIGHER)
        for a, b in ((71, 95), (95, 117), (148, 192), (192, 212))
    ]
    text = (PERF / "samples/pkb/sysbench-output-sample.txt").read_text()
    rows = re.findall(r"tps: ([\d.]+) qps: ([\d.]+) .*lat \(ms,100%\): ([\d.]+)", text)
    out.append(Pool("sysbench.tps (2 s intervals)", np.array([float(r[0]) for r in rows]), Direction.HIGHER))
    out.append(Pool("sysbench.qps (2 s intervals)", np.array([float(r[1]) for r in rows]), Direction.HIGHER))
    out.append(
        Pool("sysbench.latency max (2 s intervals)", np.array([float(r[2]) for r in rows]), Direction.LOWER)
    )
    return out


def _side(pool: Pool, values: np.ndarray) -> MetricSamples:
    return MetricSamples(pool.name, "x", pool.direction, Family.CPU, tuple(float(v) for v in values))


def simulate(all_pools: list[Pool], n: int, shift: float, releases: int, seed: int) -> tuple[int, int]:
    """(releases with a blocking failure, releases blocked) when each candidate is worse by ``shift``."""
    rng = np.random.default_rng(seed)
    failed = blocked = 0
    for _ in range(releases):
        base, cand = {}, {}
        for pool in all_pools:
            factor = (1 - shift) if pool.direction is Direction.HIGHER else (1 + shift)
            base[pool.name] = _side(pool, rng.choice(pool.values, n))
            cand[pool.name] = _side(pool, rng.choice(pool.values, n) * factor)
        verdict = compare_run(base, cand)
        failed += verdict.status is Status.FAIL
        blocked += verdict.status is not Status.PASS
    return failed, blocked


def aa_section(all_pools: list[Pool]) -> list[str]:
    lines = [
        "### A/A: false failures over 1,000 simulated releases (real noise, goal ≤ 1 %)",
        "",
        "Metrics per release (BH across them): "
        + "; ".join(
            f"{p.name} (n={len(p.values)}, CV {p.cv * 100:.2f} %{', unstable' if p.cv > 0.025 else ''})"
            for p in all_pools
        )
        + ".",
        "",
        "| runs per side | releases | false failures | inconclusive (blocked, not failed) |",
        "|---|---|---|---|",
    ]
    for n in SIZES:
        failed, blocked = simulate(all_pools, n, 0.0, RELEASES, seed=n)
        lines.append(
            f"| {n} | {RELEASES} | {failed} ({failed / RELEASES:.1%}) | "
            f"{blocked - failed} ({(blocked - failed) / RELEASES:.1%}) |"
        )
    return [*lines, ""]


def power_section(all_pools: list[Pool]) -> list[str]:
    stable = [p for p in all_pools if p.cv <= 0.02]
    lines = [
        f"### Power: injected regressions on stable real noise (CV ≤ 2 %), {POWER_RELEASES} releases each",
        "",
        "Goal: ≥ 80 % detected at 5 % with n = 10. *fail* = the gate fails the release; *blocked* = fail "
        "or inconclusive (it does not ship).",
        "",
        "| metric (CV) | n | 2.5 % fail / blocked | 5 % fail / blocked | 10 % fail / blocked |",
        "|---|---|---|---|---|",
    ]
    for pool in stable:
        for n in SIZES:
            cells = []
            for shift in SHIFTS:
                failed, blocked = simulate([pool], n, shift, POWER_RELEASES, seed=int(shift * 1000) + n)
                cells.append(f"{failed / POWER_RELEASES:.0%} / {blocked / POWER_RELEASES:.0%}")
            lines.append(f"| {pool.name} ({pool.cv * 100:.2f} %) | {n} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _show(points: list[int]) -> str:
    return str(points) if len(points) <= 8 else f"{len(points)} points"


def otava_section() -> list[str]:
    doc = json.loads((PERF / "otava/tigerbeetle.json").read_text())
    lines = [
        "### Change points: Otava's expectations on its TigerBeetle series (365 points)",
        "",
        "| setting | Otava expects | ours | same |",
        "|---|---|---|---|",
    ]
    for _name, exp in sorted(doc["otava_regression_expectations"].items()):
        kw = dict(part.strip().split("=") for part in exp["args"].split(","))
        got = [
            c.index
            for c in detect_change_points(
                doc["series"], int(kw["window_len"]), float(kw["max_pvalue"]), float(kw["min_magnitude"])
            )
        ]
        want = exp["expected_indexes"]
        lines.append(f"| {exp['args']} | {_show(want)} | {_show(got)} | {'yes' if got == want else 'NO'} |")
    return [*lines, ""]


def tcpd_series() -> list[tuple[str, list[float | None], dict[str, list[int]]]]:
    """The univariate TCPD series with their annotations (run_log, two-dimensional, is left out)."""
    annotations = json.loads((PERF / "tcpd/annotations.json").read_text())
    out = []
    for path in sorted((PERF / "tcpd/datasets").glob("*/*.json")):
        doc = json.loads(path.read_text())
        if doc["n_dim"] == 1 and path.stem in annotations:
            out.append((path.stem, doc["series"][0]["raw"], annotations[path.stem]))
    return out


OURS_GRID = [(w, p, m) for w in (20, 30, 50) for p in (0.001, 0.01, 0.05, 0.2) for m in (0.0, 0.05)]
TTEST_GRID = [(a, s) for a in (0.001, 0.01, 0.05) for s in (2, 5, 10)]


def _score(points: list[int], notes: dict[str, list[int]], length: int) -> tuple[float, float]:
    return f_measure(notes, points, margin=5), covering(notes, points, length)


def tcpd_section() -> list[str]:
    series = tcpd_series()
    rows: dict[str, list[tuple[float, float]]] = {k: [] for k in ("ours", "ttest", "ours_best", "ttest_best")}
    for _, values, notes in series:
        n = len(values)
        ours = {s: _score([c.index for c in detect_change_points(values, *s)], notes, n) for s in OURS_GRID}
        ttest = {s: _score(list(ttest_segmentation(values, *s)), notes, n) for s in TTEST_GRID}
        rows["ours"].append(ours[(30, 0.01, 0.0)])
        rows["ttest"].append(ttest[(0.01, 5)])
        rows["ours_best"].append((max(v[0] for v in ours.values()), max(v[1] for v in ours.values())))
        rows["ttest_best"].append((max(v[0] for v in ttest.values()), max(v[1] for v in ttest.values())))

    def mean(key: str, i: int) -> str:
        return f"{np.mean([r[i] for r in rows[key]]):.3f}"

    return [
        f"### Change points: TCPD ({len(series)} univariate series, human annotations, margin 5)",
        "",
        "Definitions of the TCPD benchmark (van den Burg and Williams 2020): F1 with precision over the "
        "union of annotators and recall averaged over them, cover = segmentation covering averaged over "
        "annotators; index 0 counts for both. *Default*: one setting for every series; *best*: the best "
        "setting per series "
        "over a grid (the benchmark's oracle experiment; F1 and cover maximised separately).",
        "",
        "| detector | setting | mean F1 | mean cover |",
        "|---|---|---|---|",
        f"| E-Divisive + Otava t-test (ours) | window 30, p 0.01, no floor "
        f"| {mean('ours', 0)} | {mean('ours', 1)} |",
        f"| t-test binary segmentation | α 0.01, min size 5 | {mean('ttest', 0)} | {mean('ttest', 1)} |",
        f"| E-Divisive + Otava t-test (ours) | best of {len(OURS_GRID)} "
        "(window 20/30/50, p 0.001–0.2, floor 0/5 %) "
        f"| {mean('ours_best', 0)} | {mean('ours_best', 1)} |",
        f"| t-test binary segmentation | best of {len(TTEST_GRID)} (α 0.001–0.05, min size 2/5/10) "
        f"| {mean('ttest_best', 0)} | {mean('ttest_best', 1)} |",
        "",
    ]


def section(machine: str) -> list[str]:
    """The whole gate section of docs/BENCHMARKS.md."""
    start = time.perf_counter()
    all_pools = pools()
    body = [*aa_section(all_pools), *power_section(all_pools), *otava_section(), *tcpd_section()]
    took = time.perf_counter() - start
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        "## Release gate statistics",
        "",
        f"`bench/bench_gate.py`, {stamp}, {machine}; {took:.0f} s. Rules: `docs/gate-statistics.md`.",
        "",
    ]
    return [MARK_BEGIN, *head, *body, MARK_END]


def write(lines: list[str]) -> None:
    """Replace (or append) the gate section of docs/BENCHMARKS.md."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    text = path.read_text()
    block = "\n".join(lines)
    if MARK_BEGIN in text:
        head, rest = text.split(MARK_BEGIN, 1)
        text = head + block + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from run import machine

    lines = section(machine())
    if "--write" in sys.argv:
        write(lines)
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
