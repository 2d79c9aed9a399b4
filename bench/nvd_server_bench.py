"""Benchmark of the NVD API sync at full scale against a loopback server.

``python bench/nvd_server_bench.py serve DIR`` serves the records of the pages written by
``bench/generator.py`` (kept in memory as one JSON text per record, in page order) as the NVD CVE API 2.0 on
127.0.0.1, at any ``startIndex`` (the sync's pages overlap by one record), and prints ``READY <port>``.
:func:`run` measures, on SQLite:

* a full import of the generated CVEs with ``cvewatch sync nvd --rate-limit off`` in a subprocess (wall
  time, and the peak RSS of that process alone, from ``wait4``);
* one 2,000-record page parsed and stored (JSON decode + normalize + ``upsert_batch`` into a fresh store);
* where the time goes: the first pages fetched, decoded, normalized, turned into rows and written one step at
  a time (no prefetch, no worker process), each step timed.
"""

from __future__ import annotations

import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import generator  # noqa: E402


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        params = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        start = max(0, int(params.get("startIndex", "0")))
        per_page = min(2000, max(1, int(params.get("resultsPerPage", "2000"))))
        chunk = self.server.records[start : start + per_page]
        body = (
            b'{"resultsPerPage":%d,"startIndex":%d,"totalResults":%d,"format":"NVD_CVE","version":"2.0",'
            b'"timestamp":"2026-10-01T00:00:00.000","vulnerabilities":[%s]}'
            % (len(chunk), start, len(self.server.records), b",".join(chunk))
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    records: list[bytes]


def serve(folder: Path) -> None:
    import orjson

    records: list[bytes] = []
    for path in sorted(folder.glob("page-*.json.gz"), key=lambda p: int(p.name[5:11])):
        records.extend(
            orjson.dumps(item) for item in orjson.loads(gzip.decompress(path.read_bytes()))["vulnerabilities"]
        )
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.records = records
    sys.stdout.write(f"READY {httpd.server_address[1]}\n")
    sys.stdout.flush()
    httpd.serve_forever()


@dataclass
class Result:
    count: int
    import_seconds: float
    import_peak_rss_mib: float
    import_cpu_seconds: float
    import_output: str
    page_seconds: float
    fetch_us: float  # CPU per record: HTTP + JSON decode
    normalize_us: float  # CPU per record: nvd_json.iter_document
    rows_us: float  # CPU per record: prepare_batch (row tuples for SQLite)
    store_us: float  # CPU per record: upsert_prepared on SQLite (the driver's time and the commit included)
    profiled_pages: int


def _start_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"the benchmark server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}/rest/json/cves/2.0"


def _full_import(url: str, tmp: Path) -> tuple[float, float, float, str]:
    env = {k: v for k, v in os.environ.items() if k != "NVD_API_KEY"}
    env["CVEWATCH_DB"] = f"sqlite:///{tmp / 'full.sqlite'}"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cvewatch.cli", "sync", "nvd", "--api-url", url, "--rate-limit", "off"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    cpu = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the full import failed ({proc.returncode}): {output}")
    return seconds, usage.ru_maxrss / 1024, cpu, output.strip()


def _one_page(folder: Path, tmp: Path) -> float:
    import orjson

    from cvewatch.model.records import Vulnerability
    from cvewatch.sources.nvd_api import bulk_gc
    from cvewatch.sources.nvd_json import iter_document
    from cvewatch.store.db import open_engine
    from cvewatch.store.vulnerabilities import upsert_batch

    raw = gzip.decompress((folder / "page-000000.json.gz").read_bytes())
    times = []
    for n in range(3):
        engine = open_engine(f"sqlite:///{tmp / f'page{n}.sqlite'}")
        start = time.perf_counter()
        with bulk_gc():  # as the sync runs it
            vulns = [
                v for v in iter_document(orjson.loads(raw), origin="page") if isinstance(v, Vulnerability)
            ]
            with engine.begin() as conn:
                upsert_batch(conn, vulns)
        times.append(time.perf_counter() - start)
        engine.dispose()
    return statistics.median(times)


def _profile(url: str, tmp: Path, pages: int) -> tuple[float, float, float, float, int]:
    import orjson

    from cvewatch.model.records import Vulnerability
    from cvewatch.sources.http import HttpClient
    from cvewatch.sources.nvd_api import bulk_gc
    from cvewatch.sources.nvd_json import iter_document
    from cvewatch.store.db import open_engine
    from cvewatch.store.vulnerabilities import prepare_batch, upsert_prepared

    engine = open_engine(f"sqlite:///{tmp / 'profile.sqlite'}")
    fetch = normalize = rows = store = 0.0
    records = 0
    clock = time.thread_time  # CPU time of this thread: what each step costs, whatever else runs
    with HttpClient(timeout=60) as http, bulk_gc():
        for n in range(pages):
            t0 = clock()
            params = {"resultsPerPage": "2000", "startIndex": str(n * 2000)}
            doc = http.get(url, params=params, decode=lambda r: orjson.loads(r.content))
            t1 = clock()
            vulns = [v for v in iter_document(doc, origin="p") if isinstance(v, Vulnerability)]
            t2 = clock()
            batch = prepare_batch(vulns, "sqlite")
            t3 = clock()
            with engine.begin() as conn:
                upsert_prepared(conn, batch)
            t4 = clock()
            fetch, normalize = fetch + t1 - t0, normalize + t2 - t1
            rows, store = rows + t3 - t2, store + t4 - t3
            records += len(vulns)
    engine.dispose()
    per = [t / records * 1e6 for t in (fetch, normalize, rows, store)]
    return per[0], per[1], per[2], per[3], pages


def run(count: int = 300_000, seed: int = 1, profile_pages: int = 20) -> Result:
    folder = generator.ensure_pages(count, seed)
    server, url = _start_server(folder)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            seconds, rss, cpu, output = _full_import(url, tmp)
            page = _one_page(folder, tmp)
            fetch, normalize, rows, store, pages = _profile(url, tmp, min(profile_pages, -(-count // 2000)))
    finally:
        server.kill()
        server.wait()
    return Result(count, seconds, rss, cpu, output, page, fetch, normalize, rows, store, pages)


def rows(result: Result) -> list[tuple[str, str, str, str]]:
    """Rows for docs/BENCHMARKS.md."""
    per = result.fetch_us + result.normalize_us + result.rows_us + result.store_us
    share = ", ".join(
        f"{name} {value:.0f} µs ({value / per:.0%})"
        for name, value in (
            ("HTTP+JSON", result.fetch_us),
            ("normalize", result.normalize_us),
            ("rows", result.rows_us),
            ("store", result.store_us),
        )
    )
    return [
        (
            f"NVD API full import, {result.count:,} generated CVEs, loopback server, SQLite",
            f"{result.import_seconds:.1f} s",
            "≤ 60 s",
            f"{result.count / result.import_seconds:,.0f} records/s; "
            f"peak RSS {result.import_peak_rss_mib:,.0f} MiB (goal ≤ 1.5 GB); "
            f"CPU {result.import_cpu_seconds:.0f} s",
        ),
        ("parse and store one 2,000-record page (SQLite)", f"{result.page_seconds:.2f} s", "≤ 1 s", ""),
        (
            f"CPU per record by step (first {result.profiled_pages} pages, one step at a time)",
            f"{per:.0f} µs",
            "",
            share,
        ),
    ]


def section(result: Result) -> list[str]:
    """The NVD API section of docs/BENCHMARKS.md: how the data was made and where the time goes."""
    summary = generator.measure(generator.real_records()).summary()
    per = result.fetch_us + result.normalize_us + result.rows_us + result.store_us
    worker = result.fetch_us + result.normalize_us + result.rows_us
    how = (
        f"`bench/nvd_server_bench.py`: {result.count:,} CVEs generated by `bench/generator.py` (seed 1) and "
        "served as API 2.0 pages of 2,000 by a loopback HTTP server in its own process; "
        "`cvewatch sync nvd --rate-limit off` into a new SQLite store in a subprocess (wall time; peak RSS "
        f"and CPU of that process from `wait4`). Its output: `{' '.join(result.import_output.split())}`."
    )
    where = (
        f"CPU per record by step, first {result.profiled_pages} pages fetched, decoded, normalized, turned "
        f"into rows and written one step at a time (`time.thread_time`): HTTP + JSON decode "
        f"{result.fetch_us:.0f} µs, normalize (`nvd_json.iter_document`) {result.normalize_us:.0f} µs, rows "
        f"(`prepare_batch`) {result.rows_us:.0f} µs, store (`upsert_prepared`: the inserts and the commit) "
        f"{result.store_us:.0f} µs; {per:.0f} µs in all, i.e. {per * result.count / 1e6:.0f} s of CPU for "
        f"{result.count:,} records in one thread. The sync runs the first three steps "
        f"({worker:.0f} µs, plus pickling the rows) in a worker process, a page ahead, while the main one "
        f"writes ({result.store_us:.0f} µs, plus unpickling): the two share the machine's two cores with the "
        "loopback server."
    )
    lines = [
        "## NVD API sync at full scale",
        "",
        textwrap.fill(how, 110),
        "",
        textwrap.fill(where, 110),
        "",
        "Distributions of the generator, measured on the genuine samples (one record per id):",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in summary.items()),
        "",
    ]
    return lines


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
        return 0
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    result = run(count)
    for row in rows(result):
        sys.stdout.write(" | ".join(row) + "\n")
    sys.stdout.write(result.import_output + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
