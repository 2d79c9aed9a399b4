"""Benchmarks on real data; results go to docs/BENCHMARKS.md with the machine and the date.

Run with `make bench`. Each figure is the median of several runs; the goals come from the issues.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SPECS = SHARED / "azurelinux" / "SPECS-3.0"
IMAGES = SHARED / "azurelinux" / "aks-node-images" / "AKSAzureLinuxV3-gen2"
NVD = SHARED / "nvd"


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    py = platform.python_version()
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {py}, {platform.system()}"


def nvd_api_benchmark(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """The NVD API sync at full scale (bench/nvd_server_bench.py): adds its rows, returns its section.
    ``CVEWATCH_BENCH_NVD_COUNT`` sets the number of generated CVEs (default 300,000)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import nvd_server_bench

    result = nvd_server_bench.run(int(os.environ.get("CVEWATCH_BENCH_NVD_COUNT", "300000")))
    rows.extend(nvd_server_bench.rows(result))
    return nvd_server_bench.section(result)


def matching_benchmark() -> list[str]:
    """Matching at NVD scale (bench/bench_matching.py), in its own process so that its peak RSS is its own."""
    import subprocess

    count = os.environ.get("CVEWATCH_BENCH_MATCH_COUNT", "300000")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_matching.py"), count],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.splitlines()


def gate_benchmark() -> list[str]:
    """Release-gate statistics on real noise (bench/bench_gate.py), in its own process."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_gate.py")], capture_output=True, text=True, check=True
    )
    return proc.stdout.splitlines()


def main() -> int:
    from cvewatch.inventory.imagelist import parse_image_list
    from cvewatch.inventory.tree import load_spec_tree
    from cvewatch.services.scan import run_scan
    from cvewatch.sources.importer import import_source
    from cvewatch.sources.nvd_files import NvdFileSource
    from cvewatch.store.db import open_engine

    rows: list[tuple[str, str, str, str]] = []
    t, tree = timed(lambda: load_spec_tree(SPECS, dist=".azl3"))
    n = len(tree.packages)
    rows.append(("parse the whole 3.0 SPECS tree", f"{t:.2f} s", "≤ 5 s", f"{n} packages"))
    notes = sorted(IMAGES.glob("*.txt"))
    texts = [(p, p.read_text()) for p in notes]
    t, _ = timed(lambda: [parse_image_list(text, path=str(p)) for p, text in texts], repeat=5)
    rows.append(("parse all node-image build notes", f"{t:.2f} s", "≤ 2 s", f"{len(notes)} images"))

    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/bench.sqlite")
        page = NVD / "api2.0-shape" / "converted-from-1.1-sample.json.gz"
        start = time.perf_counter()
        report = import_source(engine, NvdFileSource(page), origin=str(page))
        t = time.perf_counter() - start
        rows.append(
            ("import 1,504 NVD records into SQLite", f"{t:.2f} s", "", f"{report.read / t:,.0f} records/s")
        )
        import_source(engine, NvdFileSource(NVD / "recent"), origin="recent")
        from cvewatch.services.inventory import store_release

        store_release(engine, list(tree.packages), release="azl3", dist=".azl3")
        t, result = timed(lambda: run_scan(engine, release="azl3", full=True))
        rows.append(("scan the 3.0 release (SQLite)", f"{t:.2f} s", "", f"{len(result.verdicts)} verdicts"))
        engine.dispose()

    nvd_api_section = nvd_api_benchmark(rows)
    matching_section = matching_benchmark()
    gate_section = gate_benchmark()

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        f"Measured {stamp} on {machine()} by `make bench` (`bench/run.py`); medians of 3–5 runs.",
        "",
        "| what | time | goal | note |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        f"Peak RSS of the whole benchmark process: {peak:,.0f} MiB.",
        "",
        *nvd_api_section,
        *matching_section,
        "",
        *gate_section,
    ]
    (ROOT / "docs" / "BENCHMARKS.md").write_text("\n".join(lines))
    sys.stdout.write("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
