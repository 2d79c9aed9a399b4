"""The NVD API sync against a real HTTP server on 127.0.0.1 serving the genuine sample records.

Every disturbed sync (faults, totalResults changing, a rejected key, a killed process) must end with the
same store as an undisturbed one. The undisturbed result is the genuine records themselves (a test checks
that an undisturbed sync stores exactly them), compared as loaded :class:`Vulnerability` values.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from cvewatch.errors import ConfigError
from cvewatch.model.records import Vulnerability
from cvewatch.sources import nvd_api
from cvewatch.sources.http import (
    FetchError,
    HttpClient,
    RateLimit,
    RetryPolicy,
    SlidingWindowLimiter,
    parse_retry_after,
)
from cvewatch.sources.nvd_api import (
    MAX_WINDOW,
    SOURCE,
    ApiKeyRejected,
    Checkpoint,
    NvdApiConfig,
    Place,
    format_nvd_time,
    plan_sync,
    sync_nvd_api,
)
from cvewatch.sources.nvd_json import parse_cve
from cvewatch.store.db import open_engine
from cvewatch.store.models import VulnerabilityRow
from cvewatch.store.sync_runs import last_success, load_cursor, pending_retries, recent_runs
from cvewatch.store.vulnerabilities import load_vulnerabilities

from .nvd_server import FAULTS, FakeNvd, load_dataset, serve

PAGE = 200
FAST_RETRY = RetryPolicy(max_attempts=6, max_elapsed=20.0, base_delay=0.01, max_delay=0.05)
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def config(url: str, **kwargs: Any) -> NvdApiConfig:
    values: dict[str, Any] = {
        "api_url": url,
        "results_per_page": PAGE,
        "rate_limit": None,
        "timeout": 0.5,
        "retry": FAST_RETRY,
    }
    values.update(kwargs)
    return NvdApiConfig(**values)


@pytest.fixture(scope="session")
def dataset(nvd_data: Path) -> list[dict[str, Any]]:
    return load_dataset(nvd_data)


def expected_of(cves: list[dict[str, Any]]) -> list[Vulnerability]:
    return sorted((parse_cve(c) for c in cves), key=lambda v: v.id)


@pytest.fixture(scope="session")
def small(dataset: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """800 of the genuine records (4 pages of 200), for the tests that run one sync per case."""
    return dataset[:800]


@pytest.fixture(scope="session")
def expected(dataset: list[dict[str, Any]]) -> list[Vulnerability]:
    return expected_of(dataset)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    eng = open_engine(f"sqlite:///{tmp_path / 'api.sqlite'}")
    yield eng
    eng.dispose()


def stored(engine: Engine) -> list[Vulnerability]:
    with engine.connect() as conn:
        return list(load_vulnerabilities(conn))


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(VulnerabilityRow)).scalar_one())


def starts(n: int, page: int = PAGE) -> list[int]:
    """The startIndex of every page of an undisturbed window of ``n`` records: each page after the first
    starts one record before the end of the one before (the overlap that shows a shifted order)."""
    out = [0]
    while out[-1] + page < n:
        out.append(out[-1] + page - 1)
    return out


def later(cve: dict[str, Any], *, days: int, **changes: Any) -> dict[str, Any]:
    """A copy of ``cve`` modified ``days`` after NOW."""
    out = copy.deepcopy(cve)
    out["lastModified"] = (NOW + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000")
    out.update(changes)
    return out


# --- plans, dates, limiter, retries (no server) ---


def test_first_sync_is_a_full_load_without_date_filters() -> None:
    plan = plan_sync(NOW, None)
    assert plan.mode == "full" and plan.end == NOW
    assert [w.params() for w in plan.windows] == [{}]


def test_incremental_plan_starts_at_last_success_minus_overlap_in_windows_of_at_most_120_days() -> None:
    last = NOW - timedelta(days=100)
    plan = plan_sync(NOW, last, overlap=timedelta(hours=2))
    assert plan.mode == "incremental"
    assert plan.windows[0].start == last - timedelta(hours=2)
    assert plan.windows[-1].end == NOW
    assert all(w.end - w.start <= MAX_WINDOW for w in plan.windows if w.start and w.end)
    since = plan_sync(NOW, last, since=NOW - timedelta(days=300))
    assert len(since.windows) == 3
    assert all(a.end == b.start for a, b in zip(since.windows, since.windows[1:], strict=False))


def test_a_stale_last_success_or_full_gives_a_full_load() -> None:
    assert plan_sync(NOW, NOW - timedelta(days=121)).mode == "full"
    assert plan_sync(NOW, NOW - timedelta(days=1), full=True).mode == "full"
    with pytest.raises(ConfigError):
        plan_sync(NOW, None, since=NOW + timedelta(days=1))


def test_dates_are_sent_with_milliseconds_and_offset() -> None:
    assert (
        format_nvd_time(datetime(2026, 1, 31, 12, 0, 5, 123456, tzinfo=UTC))
        == "2026-01-31T12:00:05.123+00:00"
    )
    assert format_nvd_time(datetime(2026, 1, 31)) == "2026-01-31T00:00:00.000+00:00"


def test_checkpoint_survives_json() -> None:
    plan = plan_sync(NOW, NOW - timedelta(days=3))
    cp = Checkpoint(7, plan, 0, 400, Place((("CVE-2024-0001", "2026-01-01T00:00:00.000"),), 900, 1, True))
    assert Checkpoint.from_json(cp.to_json()) == cp
    assert Checkpoint.from_json({"run_id": "x"}) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_sliding_window_limiter_never_allows_more_than_the_limit_in_any_window() -> None:
    fake = FakeClock()
    limiter = SlidingWindowLimiter(RateLimit(5, 30.0), clock=fake.clock, sleep=fake.sleep)
    starts: list[float] = []
    rng = random.Random(1)
    for _ in range(40):
        slot = limiter.acquire()
        starts.append(fake.now)
        fake.now += rng.uniform(0, 3)  # the request takes a while
        limiter.release(slot)
    for i, t in enumerate(starts):
        assert sum(t <= u < t + 30.0 for u in starts[i:]) <= 5
    assert starts[5] >= starts[0] + 30.0  # the sixth request waited for the first to leave the window


def test_rate_limit_parsing() -> None:
    assert RateLimit.parse("5/30") == RateLimit(5, 30.0)
    assert RateLimit.parse("off") is None
    with pytest.raises(ConfigError):
        RateLimit.parse("fast")


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("soon") is None


def mock_client(
    statuses: list[int], headers: dict[str, str] | None = None, **kwargs: Any
) -> tuple[HttpClient, FakeClock, list[int]]:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = statuses[min(len(seen), len(statuses) - 1)]
        seen.append(status)
        return httpx.Response(status, headers=headers or {}, json={"ok": True})

    fake = FakeClock()
    client = HttpClient(
        transport=httpx.MockTransport(handler),
        clock=fake.clock,
        sleep=fake.sleep,
        rng=random.Random(3),
        **kwargs,
    )
    return client, fake, seen


def test_retry_after_is_honoured_and_backoff_has_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0)
    client, fake, seen = mock_client([429, 503, 200], {"Retry-After": "12"}, retry=policy)
    assert client.get("http://x/", decode=lambda r: r.json()) == {"ok": True}
    assert seen == [429, 503, 200]
    assert all(s >= 12.0 for s in fake.sleeps)  # the server asked for 12 s each time
    rng = random.Random(0)
    delays = [policy.backoff(n, rng) for n in (1, 2, 3, 4, 5, 6) for _ in range(50)]
    assert min(delays) >= 0 and max(delays) <= 8.0
    assert max(policy.backoff(1, rng) for _ in range(200)) <= 1.0


def test_retries_are_bounded_by_attempts_and_by_time() -> None:
    client, _fake, seen = mock_client([503], retry=RetryPolicy(max_attempts=4, base_delay=0.1))
    with pytest.raises(FetchError, match="giving up after 4 attempts; last: HTTP 503"):
        client.get("http://x/", decode=lambda r: r.json(), what="page 1")
    assert len(seen) == 4
    client, _fake, seen = mock_client(
        [503], {"Retry-After": "100"}, retry=RetryPolicy(max_attempts=50, max_elapsed=250)
    )
    with pytest.raises(FetchError, match="would pass the limit of 250 s"):
        client.get("http://x/", decode=lambda r: r.json())
    assert len(seen) == 3  # waits of 100 s: the third would end past 250 s


def test_other_client_errors_are_not_retried() -> None:
    client, _fake, seen = mock_client([400])
    with pytest.raises(FetchError, match="HTTP 400"):
        client.get("http://x/", decode=lambda r: r.json())
    assert seen == [400]


# --- against the fake NVD server ---


def test_undisturbed_full_sync_stores_exactly_the_genuine_records(
    engine: Engine, dataset: list[dict[str, Any]], expected: list[Vulnerability]
) -> None:
    fake = FakeNvd.of(dataset)
    with serve(fake) as url:
        report = sync_nvd_api(engine, config(url), now=NOW)
    assert stored(engine) == expected
    pages = len(starts(len(dataset)))
    assert (report.status, report.mode, report.pages, report.new) == ("ok", "full", pages, len(expected))
    assert report.rejected == sum(v.rejected for v in expected) > 0  # Rejected CVEs are kept, and counted
    assert [r.params for r in fake.page_requests] == [
        {"resultsPerPage": str(PAGE), "startIndex": str(i)} for i in starts(len(dataset))
    ]
    with engine.connect() as conn:
        run = recent_runs(conn)[0]
        assert (run.source, run.status, run.pages, run.new, run.errors) == (
            SOURCE,
            "ok",
            pages,
            len(expected),
            0,
        )
        assert run.finished is not None
        assert last_success(conn, SOURCE) == NOW
        assert "checkpoint" not in (load_cursor(conn, SOURCE) or {})


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("stall", "short", "empty")])
def test_every_fault_is_retried_and_the_store_ends_the_same(
    sqlite_engine: Engine, small: list[dict[str, Any]], fault: str
) -> None:
    fake = FakeNvd.of(small, faults={2: fault, 4: fault})
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url), now=NOW)
    assert report.status == "ok"
    assert stored(sqlite_engine) == expected_of(small)
    assert [r.fault for r in fake.requests].count(fault) == 2


def test_all_faults_at_once_on_both_databases(
    engine: Engine, dataset: list[dict[str, Any]], expected: list[Vulnerability]
) -> None:
    kinds = ["403", "429", "503", "timeout", "reset", "truncated", "invalid_json"]
    fake = FakeNvd.of(dataset, faults={2 + 2 * i: k for i, k in enumerate(kinds)})
    with serve(fake) as url:
        sync_nvd_api(engine, config(url), now=NOW)
    assert stored(engine) == expected
    assert {r.fault for r in fake.requests} >= set(kinds)


def test_total_results_growing_while_paging(sqlite_engine: Engine, dataset: list[dict[str, Any]]) -> None:
    base = dataset[0]
    added = [
        later(base, days=0, id=f"CVE-2026-99{n:03d}", published=f"2026-10-{1 + n % 28:02d}T00:00:00.000")
        for n in range(450)
    ]
    fake = FakeNvd.of(dataset, add_after={2: added[:250], 5: added[250:]})
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url), now=NOW)
    assert report.status == "ok" and report.pages > -(-len(dataset) // PAGE)
    # the same as an undisturbed run against the grown data
    assert stored(sqlite_engine) == expected_of(dataset + added)


@pytest.mark.parametrize("fault", ["short", "empty", "low_total"])
def test_a_short_empty_or_low_total_page_is_read_past_in_the_same_run(
    sqlite_engine: Engine, small: list[dict[str, Any]], fault: str
) -> None:
    """A short page (one that says so in its resultsPerPage) is paged on from where it ended; an empty page
    or a page whose totalResults fell is not the end of the window: the next page decides."""
    fake = FakeNvd.of(small, faults={3: fault})
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url, prefetch=False), now=NOW)
    assert report.status == "ok" and stored(sqlite_engine) == expected_of(small)
    with sqlite_engine.connect() as conn:
        assert last_success(conn, SOURCE) == NOW


def test_a_server_that_keeps_answering_empty_pages_ends_the_run_partial_and_the_next_run_covers_it(
    sqlite_engine: Engine, small: list[dict[str, Any]]
) -> None:
    expected = expected_of(small)
    fake = FakeNvd.of(small, faults={n: "empty" for n in range(3, 40)})
    with serve(fake) as url:
        first = sync_nvd_api(sqlite_engine, config(url, prefetch=False), now=NOW)
        assert first.status == "partial" and "totalResults" in " ".join(first.messages)
        assert count(sqlite_engine) < len(expected)
        with sqlite_engine.connect() as conn:
            assert last_success(conn, SOURCE) is None  # not moved: the next run redoes the range
        fake.faults.clear()
        second = sync_nvd_api(sqlite_engine, config(url), now=NOW)
    assert second.status == "ok" and second.mode == "full"
    assert stored(sqlite_engine) == expected


def test_incremental_sync_asks_for_the_changes_since_the_last_success(
    engine: Engine, dataset: list[dict[str, Any]], expected: list[Vulnerability]
) -> None:
    fake = FakeNvd.of(dataset)
    with serve(fake) as url:
        sync_nvd_api(engine, config(url), now=NOW)
        changed = [
            later(dataset[10], days=1, vulnStatus="Rejected"),
            later(dataset[20], days=1, descriptions=[{"lang": "en", "value": "changed"}]),
        ]
        fake.add_records(changed)
        before = len(fake.requests)
        report = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=2))
    windows = [r.params for r in fake.requests[before:]]
    assert windows == [
        {
            "lastModStartDate": format_nvd_time(NOW - timedelta(hours=2)),
            "lastModEndDate": format_nvd_time(NOW + timedelta(days=2)),
            "resultsPerPage": str(PAGE),
            "startIndex": "0",
        }
    ]
    assert (report.mode, report.received, report.updated, report.rejected) == ("incremental", 2, 2, 1)
    want = {v.id: v for v in expected}
    want.update((c["id"], parse_cve(c)) for c in changed)
    assert stored(engine) == sorted(want.values(), key=lambda v: v.id)


def test_since_far_back_is_split_into_windows_the_server_accepts(
    sqlite_engine: Engine, dataset: list[dict[str, Any]]
) -> None:
    recent = [c for c in dataset if c["lastModified"] >= "2025-06-01"]
    fake = FakeNvd.of(dataset)
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url), now=NOW, since=datetime(2025, 6, 1, tzinfo=UTC))
    assert report.windows == 5 and report.status == "ok"
    assert all(r.status == 200 for r in fake.requests)  # no window over 120 days (the server says 404)
    assert {v.id for v in stored(sqlite_engine)} == {c["id"] for c in recent}


def test_a_failed_sync_resumes_after_its_last_committed_page(
    engine: Engine, dataset: list[dict[str, Any]], expected: list[Vulnerability]
) -> None:
    # requests 4.. fail until retries run out: pages 1-3 are committed, then the run fails
    fake = FakeNvd.of(dataset, faults={n: "503" for n in range(4, 4 + 20)})
    with serve(fake) as url:
        cfg = config(url, prefetch=False, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
        with pytest.raises(FetchError, match="giving up after 3 attempts"):
            sync_nvd_api(engine, cfg, now=NOW)
        assert count(engine) == 3 * (PAGE - 1) + 1
        with engine.connect() as conn:
            cursor = load_cursor(conn, SOURCE)
            assert cursor is not None
            assert cursor["checkpoint"]["start_index"] == 3 * (PAGE - 1)
            assert recent_runs(conn)[0].status == "failed"
        fake.faults.clear()
        before = len(fake.requests)
        report = sync_nvd_api(engine, cfg, now=NOW + timedelta(hours=1))
    assert report.resumed and report.end == NOW  # the plan (and its end) were kept
    assert fake.requests[before].params["startIndex"] == str(3 * (PAGE - 1))
    assert stored(engine) == expected


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_rejected_api_key_fails_at_once_and_loses_nothing(
    sqlite_engine: Engine, small: list[dict[str, Any]], status: int
) -> None:
    fake = FakeNvd.of(small, api_key="good-key", bad_key_status=status)
    with serve(fake) as url:
        with pytest.raises(ApiKeyRejected, match="the NVD API rejected the API key"):
            sync_nvd_api(sqlite_engine, config(url, api_key="bad-key"), now=NOW)
        assert len(fake.requests) <= 2  # not retried (a second one may be in flight from the prefetch)
        assert count(sqlite_engine) == 0
        report = sync_nvd_api(sqlite_engine, config(url, api_key="good-key"), now=NOW)
    assert report.status == "ok" and count(sqlite_engine) == len(small)
    assert all(r.api_key == "good-key" for r in fake.requests[-report.pages :])


def test_throttling_403_with_a_key_is_retried_not_taken_for_a_bad_key(
    sqlite_engine: Engine, small: list[dict[str, Any]]
) -> None:
    fake = FakeNvd.of(small, api_key="k", faults={1: "403", 2: "403"})
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url, api_key="k", prefetch=False), now=NOW)
    assert report.status == "ok" and count(sqlite_engine) == len(small)


def test_the_rate_limiter_holds_at_the_server(sqlite_engine: Engine, dataset: list[dict[str, Any]]) -> None:
    """NVD's 5 requests per rolling 30 s, scaled down to 5 per 0.6 s: the server's arrival times never
    show more than 5 in any 0.6 s window."""
    limit = RateLimit(5, 0.6)
    fake = FakeNvd.of(dataset[:600])
    with serve(fake) as url:
        sync_nvd_api(sqlite_engine, config(url, results_per_page=50, rate_limit=limit), now=NOW)
    arrivals = [r.at for r in fake.requests]
    assert len(arrivals) >= 12
    for i, t in enumerate(arrivals):
        assert sum(t <= u < t + limit.per_seconds for u in arrivals[i:]) <= limit.requests


def test_the_cli_reports_a_rejected_key_and_exits_non_zero(
    tmp_path: Path, dataset: list[dict[str, Any]]
) -> None:
    fake = FakeNvd.of(dataset[:50], api_key="good", bad_key_status=403)
    with serve(fake) as url:
        proc = cli(
            tmp_path / "s.sqlite",
            "sync",
            "nvd",
            "--api-url",
            url,
            "--rate-limit",
            "off",
            env={"NVD_API_KEY": "bad"},
        )
    assert proc.returncode == 1
    assert "the NVD API rejected the API key" in proc.stderr


def cli(db: Path | str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    full_env = {k: v for k, v in os.environ.items() if k != "NVD_API_KEY"}
    full_env.update({"CVEWATCH_DB": url, "COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "cvewatch.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def test_killed_mid_page_and_restarted_loses_nothing_and_duplicates_nothing(
    db_url: str, dataset: list[dict[str, Any]], expected: list[Vulnerability]
) -> None:
    """SIGKILL while the server holds back a page; the restart marks the killed run interrupted and resumes
    after the last committed page."""
    fake = FakeNvd.of(dataset, faults={5: "stall"})
    args = ["sync", "nvd", "--page-size", str(PAGE), "--rate-limit", "off", "--timeout", "60"]
    env = {**os.environ, "CVEWATCH_DB": db_url, "COLUMNS": "200"}
    env.pop("NVD_API_KEY", None)
    with serve(fake) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cvewatch.cli", *args, "--api-url", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert fake.stall_started.wait(60), "the sync never reached the stalled page"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        engine = open_engine(db_url)
        try:
            with engine.connect() as conn:
                killed = recent_runs(conn)[0]
                cursor = load_cursor(conn, SOURCE)
            assert killed.status == "running"
            assert cursor is not None
            committed = cursor["checkpoint"]["start_index"]  # the next page, one record before the end
            assert committed > 0 and committed % (PAGE - 1) == 0
            assert count(engine) == committed + 1  # the store holds exactly the committed pages
            assert killed.pages == committed // (PAGE - 1)
            before = len(fake.requests)
            restart = subprocess.run(
                [sys.executable, "-m", "cvewatch.cli", *args, "--api-url", url],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert restart.returncode == 0, restart.stderr
            assert "(resumed)" in restart.stdout
            assert fake.requests[before].params["startIndex"] == str(committed)
            assert stored(engine) == expected
            with engine.connect() as conn:
                runs = {r.id: r for r in recent_runs(conn)}
            assert runs[killed.id].status == "interrupted"
            newest = max(runs.values(), key=lambda r: r.id)
            assert newest.status == "ok" and newest.new == len(expected) - committed - 1
            status = cli(db_url, "sync", "status", "--json")
            assert '"interrupted"' in status.stdout
        finally:
            engine.dispose()


# --- the worker process ---


def test_the_same_store_without_a_worker_process(sqlite_engine: Engine, small: list[dict[str, Any]]) -> None:
    fake = FakeNvd.of(small, faults={2: "503"})
    with serve(fake) as url:
        report = sync_nvd_api(sqlite_engine, config(url, worker_process=False), now=NOW)
    assert report.status == "ok" and stored(sqlite_engine) == expected_of(small)


def test_an_unexpected_error_in_the_worker_is_raised_here_with_its_traceback(
    sqlite_engine: Engine, small: list[dict[str, Any]]
) -> None:
    # a URL httpx cannot even build a request for: an error that is not a FetchError
    with pytest.raises(Exception) as info:
        sync_nvd_api(sqlite_engine, config("http://[::1"), now=NOW)
    assert not isinstance(info.value, FetchError)
    assert any("in the NVD fetch worker process" in note for note in getattr(info.value, "__notes__", []))
    with sqlite_engine.connect() as conn:
        run = recent_runs(conn)[0]
    assert run.status == "failed" and count(sqlite_engine) == 0


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_the_worker_ends_with_its_parent_even_on_sigkill(small: list[dict[str, Any]]) -> None:
    fake = FakeNvd.of(small, faults={1: "stall"})
    script = (
        "import sys, time\n"
        "from cvewatch.sources.nvd_api import NvdApiConfig, Window, _ProcessFetcher\n"
        "f = _ProcessFetcher(NvdApiConfig(api_url=sys.argv[1], rate_limit=None), 'sqlite')\n"
        "print(f._proc.pid, flush=True)\n"
        "f.fetch(Window(), 0)\n"
    )
    with serve(fake) as url:
        parent = subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True)
        try:
            assert parent.stdout is not None
            worker = int(parent.stdout.readline())
            assert fake.stall_started.wait(30), "the worker never asked for the page"
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(worker), f"the worker {worker} outlived its parent"


def _running(pid: int) -> bool:
    """False once ``pid`` ended (gone, or a zombie until its new parent reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


# --- credentials and redirects ---


def test_a_redirect_to_another_origin_never_carries_the_api_key(
    sqlite_engine: Engine, small: list[dict[str, Any]]
) -> None:
    """Two loopback servers on different ports (different origins): the first answers every request with a
    302 to the second. The key reaches the first only; the sync still completes from the second."""
    target = FakeNvd.of(small)
    with serve(target) as target_url:
        front = FakeNvd(redirect_to=target_url)
        with serve(front) as front_url:
            assert front_url.split("/")[2] != target_url.split("/")[2]
            report = sync_nvd_api(sqlite_engine, config(front_url, api_key="s3cret-key"), now=NOW)
    assert report.status == "ok" and stored(sqlite_engine) == expected_of(small)
    assert front.requests and all(r.api_key == "s3cret-key" for r in front.requests)
    assert target.requests and all(r.api_key is None for r in target.requests)


def test_a_redirect_within_the_origin_keeps_the_api_key(small: list[dict[str, Any]]) -> None:
    fake = FakeNvd.of(small)
    with serve(fake) as url:
        base, path = url.rsplit("/rest/", 1)
        client = HttpClient(credentials={"apiKey": "k"}, rate_limit=None, retry=FAST_RETRY)
        with client:
            doc = client.get(
                f"{base}/redirect?to=/rest/{path}",
                params={"resultsPerPage": "1", "startIndex": "0"},
                decode=lambda r: r.json(),
            )
    assert doc["resultsPerPage"] == 1
    assert [r.api_key for r in fake.requests] == ["k", "k"]


# --- records the store cannot keep ---


def test_a_nul_or_an_overlong_value_rejects_that_record_not_its_page(
    engine: Engine, small: list[dict[str, Any]]
) -> None:
    """PostgreSQL refuses a NUL in a text and a value longer than its column for the whole statement: the
    page holding such a record used to fail, retried forever by every run. Now only the record is refused."""
    bad = copy.deepcopy(small[5])
    bad["descriptions"] = [{"lang": "en", "value": "overflow\x00"}]
    long_cwe = copy.deepcopy(small[250])
    long_cwe["weaknesses"] = [
        {"source": "x", "type": "Primary", "description": [{"lang": "en", "value": "C" * 41}]}
    ]
    served = [bad if c is small[5] else long_cwe if c is small[250] else c for c in small]
    fake = FakeNvd.of(served)
    with serve(fake) as url:
        report = sync_nvd_api(engine, config(url), now=NOW)
    assert report.status == "partial" and report.errors == 2
    assert {v.id for v in stored(engine)} == {c["id"] for c in small} - {bad["id"], long_cwe["id"]}
    assert any("NUL character" in m and bad["id"] in m for m in report.messages)
    assert any("41 characters long" in m and long_cwe["id"] in m for m in report.messages)


# --- paging by the server's answers; records modified while a window is paged ---


def test_a_server_that_caps_its_pages_is_paged_through(engine: Engine, small: list[dict[str, Any]]) -> None:
    """The server grants 10 records per page, whatever is asked, and says so in resultsPerPage."""
    fake = FakeNvd.of(small, max_page=10)
    with serve(fake) as url:
        report = sync_nvd_api(engine, config(url), now=NOW)
    assert report.status == "ok" and stored(engine) == expected_of(small)
    assert report.pages == len(starts(len(small), 10))
    assert all(r.params["resultsPerPage"] == str(PAGE) for r in fake.page_requests)
    with engine.connect() as conn:
        assert last_success(conn, SOURCE) == NOW


def by_order(cves: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records in the fake server's order."""
    return sorted(cves, key=lambda c: (c["published"], c["id"]))


def test_records_modified_during_a_full_load_shift_nothing_out(
    engine: Engine, dataset: list[dict[str, Any]]
) -> None:
    """After the third page, five records already read are modified and move to the end of the server's
    order: the records after them move up five places, under the offset of the next page. Offset paging
    skipped five records; the sync finds its place again and reads them."""
    ordered = by_order(dataset)
    modified = [later(ordered[i], days=-1, vulnStatus="Modified") for i in (10, 50, 120, 300, 350)]
    fake = FakeNvd.of(dataset, modify_after={3: modified})
    with serve(fake) as url:
        report = sync_nvd_api(engine, config(url), now=NOW)
    assert not fake.modify_after  # the modification happened mid-sync
    assert report.status == "ok"
    assert stored(engine) == expected_of(fake.current())


def test_records_modified_out_of_an_incremental_window_shift_nothing_out(
    engine: Engine, dataset: list[dict[str, Any]]
) -> None:
    """An incremental window of 450 changed records; after its first page, five of the records read are
    modified again, past the window's end: they leave the window (totalResults falls) and the records after
    them move up. The next run picks up the five; the store ends as a clean import of the final data."""
    fake = FakeNvd.of(dataset)
    with serve(fake) as url:
        sync_nvd_api(engine, config(url), now=NOW)
        changed = [later(c, days=1, vulnStatus="Modified") for c in by_order(dataset)[:450]]
        fake.modify_records(changed)
        again = [later(c, days=3, vulnStatus="Analyzed") for c in changed[:5]]
        fake.modify_after = {len(fake.requests) + 1: again}
        second = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=2))
        assert not fake.modify_after and second.status == "ok"
        third = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=4))
    assert third.status == "ok" and third.received >= len(again)
    assert stored(engine) == expected_of(fake.current())


def _keys(first: int, last: int) -> tuple[tuple[str, str], ...]:
    return tuple((f"CVE-2026-{n:05d}", "2026-10-01T00:00:00.000") for n in range(first, last))


def _page(start: int, keys: tuple[tuple[str, str], ...], total: int) -> Any:
    return nvd_api._Page(start, total, len(keys), (), (), len(keys), None, keys)


def test_judging_a_page_by_its_anchors_and_totals() -> None:
    judge = nvd_api._judge
    # the usual page: it starts with the last record read, ends one record before the next page
    after_first = judge(0, _page(0, _keys(0, 10), 25), 10, Place())
    assert (after_first.done, after_first.next_start) == (False, 9)
    assert after_first.place.anchors == _keys(0, 10)[-nvd_api.ANCHORS :]
    step = judge(9, _page(9, _keys(9, 19), 25), 10, after_first.place)
    assert (step.done, step.next_start, step.problem) == (False, 18, None)
    # two records before startIndex left the order: the anchors are not in the page; read from a page back
    shifted = judge(9, _page(9, _keys(11, 21), 23), 10, after_first.place)
    assert (shifted.done, shifted.next_start, shifted.place.seeking, shifted.place.rewinds) == (
        False,
        0,
        True,
        1,
    )
    found = judge(0, _page(0, _keys(0, 10), 23), 10, shifted.place)  # startIndex 0: nothing before it
    assert (found.done, found.place.rewinds) == (False, 0)
    # a page back whose last record is the anchor: read on from there, not a problem
    seeking = Place(_keys(0, 10)[-3:], 25, 1, seeking=True)
    assert judge(5, _page(5, _keys(0, 10), 25), 10, seeking).next_start == 14
    # never found again: given up after MAX_REWINDS tries in a row
    tired = Place(_keys(0, 10), 25, nvd_api.MAX_REWINDS, seeking=True)
    gave_up = judge(9, _page(9, _keys(40, 50), 25), 10, tired)
    assert gave_up.done and gave_up.problem and "kept shifting" in gave_up.problem
    # a total that fell to the end of this page is confirmed by one more page, not taken at its word
    fell = judge(9, _page(9, _keys(9, 19), 19), 10, after_first.place)
    assert (fell.done, fell.next_start) == (False, 18) and fell.note and "fell" in fell.note
    assert judge(18, _page(18, _keys(18, 19), 19), 10, fell.place).done
    # nothing new while totalResults says more remain: the window ends, as a problem
    stuck = judge(18, _page(18, _keys(18, 19), 40), 10, fell.place)
    assert stuck.done and stuck.problem and "none new" in stuck.problem


# --- the retry list ---


def _with_criteria(cve: dict[str, Any], criteria: str) -> dict[str, Any]:
    out = copy.deepcopy(cve)
    out["configurations"][0]["nodes"][0]["cpeMatch"][0]["criteria"] = criteria
    return out


def malformed(cve: dict[str, Any]) -> dict[str, Any]:
    """``cve`` as a broken server sends it: a CVSS metric without its score."""
    out = copy.deepcopy(cve)
    out["metrics"] = {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary", "cvssData": {}}]}
    return out


def test_records_rejected_by_a_run_are_asked_for_again_until_one_stores_them(
    engine: Engine, small: list[dict[str, Any]]
) -> None:
    """Two records come malformed. The run is partial, its mark moves (the rest is stored), and the two are
    kept in the retry list. The next incremental run asks for them by cveId (their lastModified is older
    than its window): the one the server serves well now is stored and leaves the list, the other stays,
    until a later run stores it too. The store ends as a clean import."""
    first_bad, second_bad = small[7]["id"], small[400]["id"]
    fake = FakeNvd.of(small, broken={first_bad: malformed(small[7]), second_bad: malformed(small[400])})
    with serve(fake) as url:
        first = sync_nvd_api(engine, config(url), now=NOW)
        assert (first.status, first.errors, first.to_retry) == ("partial", 2, 2)
        with engine.connect() as conn:
            assert last_success(conn, SOURCE) == NOW
            listed = {e.cve_id: e for e in pending_retries(conn, SOURCE)}
        assert set(listed) == {first_bad, second_bad}
        assert "baseScore" in listed[first_bad].reason or "cvssData" in listed[first_bad].reason
        assert listed[first_bad].attempts == 1 and listed[first_bad].run_id == first.run_id

        del fake.broken[first_bad]
        before = len(fake.requests)
        second = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=1))
        asked = [r.params.get("cveId") for r in fake.requests[before:]]
        assert sorted(a for a in asked if a) == sorted([first_bad, second_bad])
        assert (second.retried, second.recovered, second.to_retry, second.status) == (2, 1, 1, "partial")
        with engine.connect() as conn:
            (left,) = pending_retries(conn, SOURCE)
        assert (left.cve_id, left.attempts, left.run_id) == (second_bad, 2, second.run_id)

        fake.broken.clear()
        third = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=2))
        assert (third.retried, third.recovered, third.to_retry, third.status) == (1, 1, 0, "ok")
        fourth = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=3))
        assert fourth.retried == 0  # an empty list asks for nothing
    with engine.connect() as conn:
        assert pending_retries(conn) == []
    assert stored(engine) == expected_of(small)


def test_sync_status_shows_the_records_to_retry(tmp_path: Path, small: list[dict[str, Any]]) -> None:
    bad = small[3]["id"]
    fake = FakeNvd.of(small[:50], broken={bad: malformed(small[3])})
    db = tmp_path / "s.sqlite"
    with serve(fake) as url:
        proc = cli(db, "sync", "nvd", "--api-url", url, "--rate-limit", "off")
    assert proc.returncode == 0, proc.stderr
    assert "1 still to retry" in proc.stdout
    table = cli(db, "sync", "status")
    assert bad in table.stdout and "the next sync asks for them again" in table.stdout
    runs = json.loads(cli(db, "sync", "status", "--json").stdout)
    (entry,) = runs[0]["retry"]
    assert entry["cve"] == bad and entry["attempts"] == 1 and entry["run"] == runs[0]["id"]
    assert "cvssData" in entry["reason"] or "baseScore" in entry["reason"]


# --- everything at once ---


def clean_import(cves: list[dict[str, Any]], tmp_path: Path) -> list[Vulnerability]:
    """What an undisturbed full sync of ``cves`` stores, in a fresh store."""
    reference = open_engine(f"sqlite:///{tmp_path / 'clean.sqlite'}")
    try:
        with serve(FakeNvd.of(cves)) as url:
            assert sync_nvd_api(reference, config(url), now=NOW + timedelta(days=9)).status == "ok"
        return stored(reference)
    finally:
        reference.dispose()


def test_a_hostile_server_ends_with_the_same_store_as_a_clean_import(
    engine: Engine, dataset: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A server that caps its pages at 50 (200 are asked), under-reports totalResults, modifies records
    while they are paged (they move to the end of its order, or out of the window), serves some records
    malformed (a NUL in a CPE, a metric without its score, a weakness too long for the store) and fails
    now and then: after the runs a user would make, the store equals a clean import of the server's data."""
    ordered = by_order(dataset)
    nul_cpe = next(c for c in ordered if c.get("configurations"))
    broken = {
        nul_cpe["id"]: _with_criteria(nul_cpe, "cpe:2.3:a:ha\x00xx:curl:*:*:*:*:*:*:*:*"),
        ordered[444]["id"]: malformed(ordered[444]),
        ordered[1200]["id"]: {
            **ordered[1200],
            "weaknesses": [
                {"source": "x", "type": "Primary", "description": [{"lang": "en", "value": "W" * 50}]}
            ],
        },
    }
    fake = FakeNvd.of(
        dataset,
        max_page=50,
        broken=broken,
        faults={3: "503", 5: "low_total", 9: "empty", 14: "low_total", 20: "timeout"},
        modify_after={
            6: [later(c, days=-3, vulnStatus="Modified") for c in ordered[20:250:40]],
            16: [later(c, days=-2, vulnStatus="Modified") for c in ordered[100:700:100]],
        },
    )
    with serve(fake) as url:
        first = sync_nvd_api(engine, config(url), now=NOW)
        assert not fake.modify_after
        # (a malformed record is counted each time it is read: pages read again after a shift re-read some)
        assert (first.status, first.mode, first.to_retry) == ("partial", "full", 3) and first.errors >= 3
        assert {m.split("[")[1].split("]")[0] for m in first.messages} == set(broken)
        with engine.connect() as conn:
            assert last_success(conn, SOURCE) == NOW  # the mark moved over what was stored

        # the server mends its records and 300 others change; while the next run pages them, five it has
        # read change again (past the run's end: they leave its window) and a total is under-reported
        fake.broken.clear()
        fake.modify_records([later(c, days=1, vulnStatus="Modified") for c in ordered[300:600]])
        start = len(fake.requests)
        fake.faults = {start + 2: "low_total", start + 4: "503"}
        fake.modify_after = {start + 2: [later(c, days=3, vulnStatus="Analyzed") for c in ordered[300:305]]}
        second = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=2))
        assert not fake.modify_after
        assert (second.status, second.mode, second.recovered, second.to_retry) == ("ok", "incremental", 3, 0)
        third = sync_nvd_api(engine, config(url), now=NOW + timedelta(days=4))
        assert third.status == "ok" and third.received >= 5
    final = fake.current()
    assert stored(engine) == clean_import(final, tmp_path) == expected_of(final)
    with engine.connect() as conn:
        assert pending_retries(conn) == []
