"""Matching at NVD scale: a full rescan of the 3.0 tree against >= 300,000 generated CVEs, and an
incremental rescan after 1,000 CVEs change. Goals (issue 4): full <= 5 s, incremental <= 0.5 s.

The store is built once per (count, seed) and cached under bench/.cache (a SQLite file); the tree is the
real Azure Linux 3.0 SPECS tree from ../shared.
"""

from __future__ import annotations

import cProfile
import dataclasses
import io
import pstats
import resource
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from generator import CACHE, MIX_SAMPLE, ensure_pages  # noqa: E402

SPECS = ROOT.parent / "shared" / "data" / "azurelinux" / "SPECS-3.0"


def _store(count: int, seed: int, mix: str = MIX_SAMPLE) -> Path:
    from cvewatch.sources.importer import import_source
    from cvewatch.sources.nvd_files import NvdFileSource
    from cvewatch.store.db import open_engine

    cached = CACHE / f"store-{count}-seed{seed}-{mix}.sqlite"
    if not cached.exists():
        pages = ensure_pages(count, seed, mix)
        tmp = cached.with_suffix(".partial")
        tmp.unlink(missing_ok=True)
        engine = open_engine(f"sqlite:///{tmp}")
        import_source(engine, NvdFileSource(pages), origin=str(pages))
        engine.dispose()
        tmp.rename(cached)
    return cached


def _profile_top(fn, limit: int = 12) -> list[str]:  # type: ignore[no-untyped-def]
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.sort_stats("cumulative")
    wanted = (
        "candidate_cves",
        "_load",
        "load_vulnerabilities",
        "load_cve5",
        "scan.py",
        "decide",
        "replace_verdicts",
        "load_verdicts",
        "load_release_packages",
        "CpeIndex",
        "load_triage",
    )
    out = []
    for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(w in func or w in file for w in wanted) and "cvewatch" in file:
            out.append((ct, f"{Path(file).parent.name}/{Path(file).name}:{func}"))
    out.sort(reverse=True)
    return [f"{name}: {ct:.2f} s" for ct, name in out[:limit]]


def run(count: int = 300_000, seed: int = 1) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    from cvewatch.inventory.load import store_release
    from cvewatch.inventory.tree import load_spec_tree
    from cvewatch.matching.runner import run_scan
    from cvewatch.store.db import open_engine
    from cvewatch.store.vulnerabilities import load_vulnerabilities, upsert_batch

    cached = _store(count, seed)
    work = CACHE / "matching-work.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cached, work)
    engine = open_engine(f"sqlite:///{work}")
    tree = list(load_spec_tree(SPECS, dist=".azl3").packages)
    store_release(engine, tree, release="azl3", dist=".azl3")

    run_scan(engine, release="azl3", full=True)  # warm the file cache
    times = []
    result = None
    for _ in range(3):
        start = time.perf_counter()
        result = run_scan(engine, release="azl3", full=True)
        times.append(time.perf_counter() - start)
    assert result is not None
    full_t = sorted(times)[1]
    profile = _profile_top(lambda: run_scan(engine, release="azl3", full=True))

    with engine.connect() as conn:
        ids = sorted(conn.exec_driver_sql("SELECT id FROM vulnerabilities ORDER BY id").scalars())
    changed_ids = ids[:: max(1, len(ids) // 1000)][:1000]
    inc_times = []
    inc = None
    for round_ in range(3):
        with engine.connect() as conn:
            changed = [
                dataclasses.replace(v, last_modified=v.last_modified + timedelta(days=1 + round_))
                for v in load_vulnerabilities(conn, changed_ids)
            ]
        with engine.begin() as conn:
            upsert_batch(conn, changed)
        start = time.perf_counter()
        inc = run_scan(engine, release="azl3", collect=False)
        inc_times.append(time.perf_counter() - start)
    assert inc is not None and inc.mode == "incremental"
    inc_t = sorted(inc_times)[1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    rows = [
        (
            f"full rescan: {len(tree):,} packages x {count:,} CVEs (SQLite)",
            f"{full_t:.2f} s",
            "≤ 5 s",
            f"{len(result.verdicts):,} verdicts, {result.cves_evaluated:,} candidate CVEs",
        ),
        (
            "incremental rescan after 1,000 modified CVEs",
            f"{inc_t:.2f} s",
            "≤ 0.5 s",
            f"{inc.cves_evaluated:,} CVEs evaluated",
        ),
        (
            "peak RSS of the matching benchmark",
            f"{peak:,.0f} MiB",
            "",
            "the whole process, store load included",
        ),
    ]
    return rows, profile


def section(rows: list[tuple[str, str, str, str]], profile: list[str]) -> list[str]:
    lines = ["", "## Matching at NVD scale", "", "| what | time | goal | note |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += [
        "",
        "Where the time of one full rescan goes (cProfile, cumulative, includes profiler overhead):",
        "",
    ]
    lines += [f"- {p}" for p in profile]
    return lines


if __name__ == "__main__":
    r, p = run(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
    print("\n".join(section(r, p)))
