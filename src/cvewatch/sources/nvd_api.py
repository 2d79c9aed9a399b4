"""Syncing the store from the NVD CVE API 2.0, page by page, resumable.

A sync is a *plan* (one window without date filters for a full load, or ``lastModStartDate`` /
``lastModEndDate`` windows of at most 120 days for an incremental run) walked with ``startIndex``. The pages
are fetched, decoded, normalized and turned into rows in a worker process (:class:`_ProcessFetcher`), a page
ahead; this process only writes them. Each page is written with
:func:`~cvewatch.store.vulnerabilities.upsert_prepared` in one transaction together with the checkpoint (the
plan, the window and the ``startIndex`` reached, the run id) and the run's counters: what is in the store and
what the checkpoint says can never disagree, so a sync killed at any point resumes exactly after the last
committed page. The plan's end date is fixed when the plan is made and saved with it, so a resumed run asks
for the same windows.

Paging follows the server's answers, not the client's request: ``startIndex`` advances by the records a page
held (a server that caps its pages below ``resultsPerPage`` is paged through), ``totalResults`` is read again
from every page, and a window ends only when a page reaches it, not on a total that just fell (a falling
total is confirmed by one more page). The server's order may shift under the pages while they are read (a
record modified meanwhile moves, and those after it move up one place, so one would be skipped): every page
after the first starts one record before the end of the previous one and must contain one of that page's
last records (*anchors*, compared by id and ``lastModified``); when none is there, the order shifted and the
sync reads again from further back until it finds one (:func:`_judge`). The records modified during a run
are covered by the next run, as the last successful sync is the plan's end, fixed before the first page. A
window that cannot be completed (no new record while ``totalResults`` says more remain; the anchors never
found again) makes the run ``partial`` and the last successful sync is not moved, so the next run covers the
same range again. Records are deduplicated by the store (newest ``lastModified`` wins); ``Rejected`` CVEs
are stored with their status, never dropped.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any, Literal

import httpx
import orjson
from sqlalchemy import Connection as DbConnection
from sqlalchemy import Engine

from cvewatch import __version__
from cvewatch.errors import ConfigError, CvewatchError
from cvewatch.model.records import CVE_ID_RE, RecordProblem, Vulnerability
from cvewatch.redact import redact_url
from cvewatch.sources.http import (
    BadResponse,
    FetchError,
    HttpClient,
    RateLimit,
    RetryPolicy,
    describe_response,
)
from cvewatch.sources.nvd_json import iter_document, nul_free
from cvewatch.store.db import refresh_statistics
from cvewatch.store.sync_runs import (
    add_run_progress,
    clear_retries,
    count_retries,
    finish_run,
    keep_for_retry,
    last_success,
    load_cursor,
    mark_interrupted,
    mark_success,
    pending_retries,
    run_status,
    save_cursor,
    start_run,
)
from cvewatch.store.vulnerabilities import PreparedBatch, UpsertStats, prepare_batch, upsert_prepared

__all__ = [
    "API_KEY_ENV",
    "DEFAULT_API_URL",
    "KEYED_RATE_LIMIT",
    "MAX_WINDOW",
    "PUBLIC_RATE_LIMIT",
    "SOURCE",
    "ApiKeyRejected",
    "Checkpoint",
    "NvdApiConfig",
    "NvdSyncReport",
    "PageEvent",
    "Place",
    "SyncPlan",
    "Window",
    "bulk_gc",
    "format_nvd_time",
    "plan_sync",
    "sync_nvd_api",
]

log = logging.getLogger(__name__)

SOURCE = "nvd-api"
DEFAULT_API_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
API_KEY_ENV = "NVD_API_KEY"
#: NVD accepts date ranges of at most 120 consecutive days.
MAX_WINDOW = timedelta(days=120)
#: NVD's published limits: 5 requests in a rolling 30 s window without an API key, 50 with one.
PUBLIC_RATE_LIMIT = RateLimit(5, 30.0)
KEYED_RATE_LIMIT = RateLimit(50, 30.0)
_MAX_MESSAGES = 200
#: Each page after the first of a window starts this many records before the end of the previous one.
OVERLAP = 1
#: The last records of a page kept to find the place again (id and lastModified: a record modified in the
#: meantime has moved and no longer counts).
ANCHORS = 16
#: How often in a row a window may read again from further back before it is given up (``partial``).
MAX_REWINDS = 8

#: At most this many records of the retry list are asked for again by one run (one request each).
MAX_RETRIES = 100

#: A record's place in the server's order: its id and its lastModified, as the page gave them.
Key = tuple[str, str]


class ApiKeyRejected(FetchError):
    """The NVD API refused the API key (401, or 403/404 that is not throttling)."""


@dataclass(frozen=True, slots=True)
class NvdApiConfig:
    """How to reach the API. ``rate_limit`` ``"auto"`` picks NVD's published limit for the key (or its
    absence); ``None`` turns limiting off (a local mirror, a benchmark). With ``worker_process`` the pages
    are downloaded, decoded, normalized and turned into rows in a separate process (a second core) while
    this one writes them; without it, in a thread (``prefetch``) or inline."""

    api_url: str = DEFAULT_API_URL
    api_key: str | None = None
    results_per_page: int = 2000
    overlap: timedelta = timedelta(hours=2)
    rate_limit: RateLimit | Literal["auto"] | None = "auto"
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    prefetch: bool = True
    worker_process: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.results_per_page <= 2000:
            raise ConfigError(f"results per page must be 1..2000, got {self.results_per_page}")
        if self.overlap < timedelta(0):
            raise ConfigError("the overlap must not be negative")

    @classmethod
    def from_env(cls, **kwargs: Any) -> NvdApiConfig:
        """A config whose API key comes from ``$NVD_API_KEY`` (when not given)."""
        if kwargs.get("api_key") is None:
            kwargs["api_key"] = os.environ.get(API_KEY_ENV) or None
        return cls(**kwargs)

    @property
    def effective_rate_limit(self) -> RateLimit | None:
        if self.rate_limit == "auto":
            return KEYED_RATE_LIMIT if self.api_key else PUBLIC_RATE_LIMIT
        return self.rate_limit


def format_nvd_time(value: datetime) -> str:
    """ISO-8601 with milliseconds and an offset, as NVD wants it: ``2026-01-31T12:00:00.000+00:00``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


@dataclass(frozen=True, slots=True)
class Window:
    """A ``lastModified`` range (both ends inclusive, as NVD applies them); no dates = everything. With
    ``cve_id``, the one record of that id (``cveId``), as the retry list asks for it again."""

    start: datetime | None = None
    end: datetime | None = None
    cve_id: str | None = None

    def params(self) -> dict[str, str]:
        if self.cve_id is not None:
            return {"cveId": self.cve_id}
        if self.start is None or self.end is None:
            return {}
        return {"lastModStartDate": format_nvd_time(self.start), "lastModEndDate": format_nvd_time(self.end)}

    def __str__(self) -> str:
        if self.cve_id is not None:
            return f"cveId {self.cve_id}"
        if self.start is None or self.end is None:
            return "all records"
        return f"lastModified {format_nvd_time(self.start)} .. {format_nvd_time(self.end)}"


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What one sync covers: ``mode`` is ``"full"`` or ``"incremental"``; ``end`` is fixed when the plan is
    made and becomes the last successful sync when the plan completes."""

    mode: str
    end: datetime
    windows: tuple[Window, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "end": format_nvd_time(self.end),
            "windows": [
                [format_nvd_time(w.start) if w.start else None, format_nvd_time(w.end) if w.end else None]
                for w in self.windows
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SyncPlan:
        end = _parse_time(data["end"])
        assert end is not None
        windows = tuple(Window(_parse_time(s), _parse_time(e)) for s, e in data["windows"])
        return cls(str(data["mode"]), end, windows)


@dataclass(frozen=True, slots=True)
class Place:
    """Where paging stands inside a window, besides ``startIndex`` (see :func:`_judge`): ``anchors`` are the
    last records read (id and lastModified; the next page must hold one of them), ``last_total`` the
    ``totalResults`` of the last page, ``rewinds`` how often in a row the window was read again from
    further back, and ``seeking`` whether the next page is such a read (looking for an anchor)."""

    anchors: tuple[Key, ...] = ()
    last_total: int | None = None
    rewinds: int = 0
    seeking: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "anchors": [list(k) for k in self.anchors],
            "last_total": self.last_total,
            "rewinds": self.rewinds,
            "seeking": self.seeking,
        }

    @classmethod
    def from_json(cls, data: Any) -> Place:
        """The place saved in a checkpoint (a fresh one for a checkpoint of an older version)."""
        if not isinstance(data, dict):
            return cls()
        last_total = data.get("last_total")
        return cls(
            tuple((str(i), str(m)) for i, m in data.get("anchors") or ()),
            None if last_total is None else int(last_total),
            int(data.get("rewinds") or 0),
            bool(data.get("seeking")),
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a sync stands after its last committed page: window ``window`` of ``plan`` continues at
    ``start_index``, at ``place`` within it."""

    run_id: int
    plan: SyncPlan
    window: int = 0
    start_index: int = 0
    place: Place = field(default_factory=Place)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "plan": self.plan.to_json(),
            "window": self.window,
            "start_index": self.start_index,
            "place": self.place.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint | None:
        """The checkpoint saved in a cursor, or ``None`` (also for one this version cannot read)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                int(data["run_id"]),
                SyncPlan.from_json(data["plan"]),
                int(data["window"]),
                int(data["start_index"]),
                Place.from_json(data.get("place")),
            )
        except (KeyError, TypeError, ValueError):
            return None


def plan_sync(
    now: datetime,
    last: datetime | None,
    *,
    full: bool = False,
    since: datetime | None = None,
    overlap: timedelta = timedelta(hours=2),
    max_window: timedelta = MAX_WINDOW,
) -> SyncPlan:
    """The plan for a new sync at ``now``.

    ``since`` asks for records modified since then (split into windows of at most ``max_window``).
    Otherwise: a full load (no date filter) when ``full``, on the first sync (``last`` is ``None``) or when
    the last success is older than ``max_window``; else the records modified since ``last - overlap``.
    """
    now = now.astimezone(UTC)
    if since is None:
        if full or last is None or now - last > max_window:
            return SyncPlan("full", now, (Window(),))
        start = last - overlap
    else:
        start = since if since.tzinfo else since.replace(tzinfo=UTC)
    if start >= now:
        raise ConfigError(
            f"the start date {format_nvd_time(start)} is not before now ({format_nvd_time(now)})"
        )
    windows: list[Window] = []
    while start < now:
        end = min(start + max_window, now)
        windows.append(Window(start, end))
        start = end
    return SyncPlan("incremental", now, tuple(windows))


@dataclass(frozen=True, slots=True)
class PageEvent:
    """Progress after a committed page."""

    window: int  # 0-based
    windows: int
    start_index: int  # of the page
    received: int
    total_results: int  # as the page reported it
    pages: int  # committed so far in this run


@dataclass(frozen=True, slots=True)
class NvdSyncReport:
    run_id: int
    status: str  # "ok" or "partial"
    mode: str
    resumed: bool
    interrupted_run: int | None  # a run found "running" at the start, now marked "interrupted"
    windows: int
    pages: int
    received: int
    new: int
    updated: int
    unchanged: int
    rejected: int
    errors: int
    messages: tuple[str, ...]
    end: datetime
    retried: int = 0  # records of the retry list asked for again by this run
    recovered: int = 0  # of those, stored now (they left the list)
    to_retry: int = 0  # records in the retry list when the run ended


@dataclass(frozen=True, slots=True)
class _Page:
    """A fetched page: its records as :class:`Vulnerability` values, or (for a sync, when the fetcher was
    given the store's dialect) as rows ready to write in ``batch``. ``results_per_page`` is the server's
    (its ``resultsPerPage``), ``keys`` every entry's place in the server's order, in page order."""

    start_index: int
    total_results: int
    results_per_page: int
    vulnerabilities: tuple[Vulnerability, ...]
    problems: tuple[RecordProblem, ...]
    received: int
    batch: PreparedBatch | None = None
    keys: tuple[Key, ...] = ()


def _overlap(received: int, server_page_size: int, requested: int) -> int:
    """How many records the next page of a window re-reads: :data:`OVERLAP`, unless pages are too small to
    hold anything new besides it (then the place cannot be checked)."""
    return OVERLAP if min(received, server_page_size, requested) > OVERLAP else 0


@dataclass(frozen=True, slots=True)
class _Step:
    """What a page means for its window (:func:`_judge`): ``done``, or the next page's ``next_start`` and
    ``place``. ``problem`` says why a window ended early (the run is then partial); ``note`` is only
    logged."""

    done: bool
    next_start: int = 0
    place: Place = field(default_factory=Place)
    problem: str | None = None
    note: str | None = None


def _judge(start: int, page: _Page, requested: int, place: Place) -> _Step:
    """Decide, from the page asked at ``start``, whether its window is done and where the next page starts.

    * A page after the first (``place.anchors`` set, ``start`` > 0) must hold one of the last records read
      before it, unchanged (same id and lastModified): the records up to it were read, those after it are
      new. If none is there, records before ``start`` have left the server's order (modified: moved to its
      end, or out of the window) and unread ones moved up before ``start``: the window is read again from a
      page (then two, four…) further back (``seeking``) until a page holds an anchor again, at most
      :data:`MAX_REWINDS` times in a row (a page that brings new records starts the count again).
    * The window is done when a page reaches ``totalResults`` exactly and the total did not fall since the
      previous page, or when a page brings nothing new and nothing more is said to remain. A page asked at
      the expected place that brings nothing new while ``totalResults`` says more remain ends the window as
      a problem.
    * Otherwise the next page starts :data:`OVERLAP` record(s) before the end of this one: the records the
      server gave decide, whatever was asked.
    """
    keys, total, server_page_size = page.keys, page.total_results, page.results_per_page
    n = len(keys)
    fresh_from = 0
    if place.anchors and start > 0:
        order = {k: i for i, k in enumerate(place.anchors)}
        best, at = -1, -1
        for j, k in enumerate(keys):
            i = order.get(k)
            if i is not None and i >= best:
                best, at = i, j
        if at < 0:
            rewinds = place.rewinds + 1
            if rewinds > MAX_REWINDS:
                return _Step(
                    True,
                    problem=f"the server's order kept shifting under the pages: the records read before "
                    f"startIndex {start} were not found again after {MAX_REWINDS} tries",
                )
            # a page back (the server's page size, or the one asked when this page says 0), then 2, 4…
            back = max(server_page_size or requested, len(place.anchors)) * 2 ** (rewinds - 1)
            restart = max(0, start - back)
            return _Step(
                False,
                restart,
                replace(place, last_total=total, rewinds=rewinds, seeking=True),
                note=f"the page at startIndex {start} does not hold the last records read before it: the "
                f"server's order shifted (records before it were modified); reading again from {restart}",
            )
        fresh_from = at + 1
    fresh = n - fresh_from
    end = start + n
    fell = place.last_total is not None and total < place.last_total
    overlap = _overlap(n, server_page_size, requested)
    # an entry without an id (malformed) tells nothing about the place: never an anchor
    anchors = tuple(k for k in keys[-ANCHORS:] if k[0]) if overlap else ()
    ahead = Place(anchors, total, 0 if fresh > 0 else place.rewinds)
    if fresh <= 0:
        if end >= total:
            return _Step(True)
        if place.seeking and n:  # found the place again at the end of this page: read on from there
            return _Step(False, end - overlap, ahead)
        return _Step(
            True,
            problem=f"the page at startIndex {start} held {n} records, none new, "
            f"while totalResults is {total}",
        )
    if end == total and not fell:
        return _Step(True)
    note = None
    if fell:
        note = f"totalResults fell from {place.last_total} to {total} at startIndex {start}: reading on"
    elif n < server_page_size and end < total:
        note = f"the page at startIndex {start} held {n} records, fewer than its resultsPerPage said"
    return _Step(False, end - overlap, ahead, note=note)


def _decode_page(response: httpx.Response) -> tuple[dict[str, Any], bool]:
    """The page as decoded JSON, and whether it certainly holds no NUL character (see ``nul_free``)."""
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError as err:
        raise BadResponse(f"invalid JSON: {err}") from None
    if not isinstance(doc, dict):
        raise BadResponse("not an NVD API 2.0 page: not a JSON object")
    if not isinstance(doc.get("vulnerabilities"), list) or not isinstance(doc.get("totalResults"), int):
        raise BadResponse("not an NVD API 2.0 page: no 'vulnerabilities' array or 'totalResults' number")
    return doc, nul_free(response.content)


_THROTTLE_WORDS = ("rate", "limit", "throttl", "too many")


def _key_check(has_key: bool) -> Callable[[httpx.Response], None]:
    """With a key set: 401, a 403/404 whose message names the key, or a 403 that is not throttling (no
    ``Retry-After``, no rate-limit message) means NVD rejected the key."""

    def check(response: httpx.Response) -> None:
        status = response.status_code
        if not has_key or status not in (401, 403, 404):
            return
        message = (response.headers.get("message") or "").lower()
        names_key = "apikey" in message.replace(" ", "")
        throttling = status == 403 and (
            "retry-after" in response.headers or any(w in message for w in _THROTTLE_WORDS)
        )
        if status == 401 or (names_key and not throttling) or (status == 403 and not throttling):
            raise ApiKeyRejected(
                f"the NVD API rejected the API key (${API_KEY_ENV}): {describe_response(response)}; "
                "check the key, or unset the variable to sync at the public rate"
            )

    return check


class _Fetcher:
    """Fetches pages, one ahead when ``prefetch`` is on (the next page of a window downloads and parses
    while the current one is stored; it is used only if the current page was full). With ``dialect`` (a
    SQLAlchemy dialect name) each page's records come as rows for that database
    (:func:`~cvewatch.store.vulnerabilities.prepare_batch`) instead of :class:`Vulnerability` values."""

    def __init__(self, config: NvdApiConfig, dialect: str | None = None) -> None:
        self.config = config
        self.dialect = dialect
        headers = {"User-Agent": f"cvewatch/{__version__}", "Accept": "application/json"}
        self.http = HttpClient(
            timeout=config.timeout,
            headers=headers,
            credentials={"apiKey": config.api_key} if config.api_key else None,
            rate_limit=config.effective_rate_limit,
            retry=config.retry,
            check=_key_check(bool(config.api_key)),
        )
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="nvd-prefetch") if config.prefetch else None
        self._ahead: tuple[Window, int, Future[_Page]] | None = None

    def close(self) -> None:
        self.http.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.http.close()

    def fetch(self, window: Window, start_index: int) -> _Page:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == window and ahead[1] == start_index:
            page = ahead[2].result()
        else:
            if ahead is not None:
                ahead[2].cancel()
                with contextlib.suppress(Exception):  # a wasted guess: its failure does not matter
                    ahead[2].result()
            page = self._get(window, start_index)
        end = start_index + page.received
        if self._pool is not None and page.received > 0 and end < page.total_results:
            # the usual next request (see _judge); a wrong guess is dropped by the next fetch
            nxt = end - _overlap(page.received, page.results_per_page, self.config.results_per_page)
            self._ahead = (window, nxt, self._pool.submit(self._get, window, nxt))
        return page

    def _get(self, window: Window, start_index: int) -> _Page:
        params = {
            **window.params(),
            "resultsPerPage": str(self.config.results_per_page),
            "startIndex": str(start_index),
        }
        what = f"NVD API page startIndex={start_index} ({window})"
        doc, no_nul = self.http.get(self.config.api_url, params=params, decode=_decode_page, what=what)
        origin = f"{redact_url(self.config.api_url)} startIndex={start_index}"
        vulns: list[Vulnerability] = []
        problems: list[RecordProblem] = []
        add_vuln, add_problem = vulns.append, problems.append
        for item in iter_document(doc, origin=origin, nul_free=no_nul):
            if isinstance(item, Vulnerability):
                add_vuln(item)
            else:
                add_problem(item)
        batch = None if self.dialect is None else prepare_batch(vulns, self.dialect)
        entries = doc["vulnerabilities"]
        per_page = doc.get("resultsPerPage")
        if type(per_page) is not int or per_page < 0:
            per_page = len(entries)
        return _Page(
            start_index,
            int(doc["totalResults"]),
            per_page,
            () if batch is not None else tuple(vulns),
            tuple(problems),
            len(entries),
            batch,
            tuple(_key(item) for item in entries),
        )


def _key(item: Any) -> Key:
    """An API page entry's place in the order: its id and lastModified as sent ("" where missing)."""
    cve = item.get("cve") if isinstance(item, dict) else None
    if not isinstance(cve, dict):
        return ("", "")
    cve_id, modified = cve.get("id"), cve.get("lastModified")
    return (cve_id if isinstance(cve_id, str) else "", modified if isinstance(modified, str) else "")


#: Runs the worker in a fresh interpreter with this process's ``sys.path``: a plain ``python -c`` rather
#: than multiprocessing's spawn, which re-runs the caller's main script in the child (and fails when that
#: script starts the sync outside an ``if __name__ == "__main__":`` block).
_WORKER_CODE = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from cvewatch.sources.nvd_api import _worker_entry; _worker_entry(int(sys.argv[2]), int(sys.argv[3]))"
)


class _ProcessFetcher:
    """A :class:`_Fetcher` (with its prefetch) running in a worker process: the pages are downloaded,
    decoded, normalized and turned into rows there, and come back as plain row tuples, cheap to pickle
    (:mod:`multiprocessing.connection` over a socket pair). The worker's errors are raised here as they were
    raised there (:class:`FetchError`, :class:`ApiKeyRejected`, ...). The worker runs in its own session, so
    Ctrl-C reaches this process only (which then stops it), and it ends as soon as this process ends, even
    by SIGKILL (it watches a pipe that only this process holds open)."""

    def __init__(self, config: NvdApiConfig, dialect: str) -> None:
        ours, theirs = socket.socketpair()
        watch_read, self._watch = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _WORKER_CODE,
                    json.dumps(sys.path),
                    str(theirs.fileno()),
                    str(watch_read),
                ],
                pass_fds=(theirs.fileno(), watch_read),
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            os.close(self._watch)
            raise
        finally:
            theirs.close()
            os.close(watch_read)
        self._conn = Connection(ours.detach())
        self._conn.send((config, dialect))

    def fetch(self, window: Window, start_index: int) -> _Page:
        try:
            self._conn.send((window, start_index))
            kind, value = self._conn.recv()
        except (EOFError, OSError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            raise FetchError(
                f"the NVD fetch worker process ended unexpectedly (exit status {self._proc.returncode})"
            ) from None
        if kind == "error":
            raise value
        assert isinstance(value, _Page)
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:  # stuck in a request: nothing it holds needs a clean end
            self._proc.kill()
            self._proc.wait()
        self._conn.close()
        os.close(self._watch)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a :class:`FetchError` with its type and message; an unexpected
    error (not a :class:`~cvewatch.errors.CvewatchError`) carries the worker's traceback as a note."""
    if not isinstance(exc, CvewatchError):
        exc.add_note("in the NVD fetch worker process:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return FetchError(f"{type(exc).__name__}: {exc}")
    return exc


def _worker_entry(conn_fd: int, watch_fd: int) -> None:
    """The worker process of :class:`_ProcessFetcher`: reads ``(config, dialect)``, then answers
    ``(window, start_index)`` requests with ``("page", _Page)`` or ``("error", exception)`` until ``None``
    or the end of the connection. Ends at once when ``watch_fd`` reads end-of-file (the parent ended)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.read(watch_fd, 1):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    conn = Connection(conn_fd)
    try:
        config, dialect = conn.recv()
    except (EOFError, OSError):
        return
    fetcher = _Fetcher(config, dialect)
    try:
        with bulk_gc():
            while True:
                try:
                    request = conn.recv()
                except (EOFError, OSError):
                    return
                if request is None:
                    return
                reply: tuple[str, Any]
                try:
                    reply = ("page", fetcher.fetch(*request))
                except BaseException as exc:
                    reply = ("error", _portable(exc))
                try:
                    conn.send(reply)
                except OSError:
                    return
    finally:
        fetcher.close()


@contextlib.contextmanager
def bulk_gc(threshold: int = 200_000) -> Generator[None, None, None]:
    """Fewer garbage collections while pages of records are decoded, normalized and stored.

    A 2,000-record page allocates a few hundred thousand objects (none in cycles; they are freed by
    reference counting); at the default threshold of 700 allocations the collector runs hundreds of
    times per page and rescans the live pages each time, about a third of the sync's CPU time.
    """
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _origin(config: NvdApiConfig, plan: SyncPlan) -> str:
    """What a run records as its origin: the API URL (credentials redacted) and the plan."""
    url = redact_url(config.api_url)
    if plan.mode == "full":
        return f"{url} (full load)"
    first, last = plan.windows[0], plan.windows[-1]
    assert first.start is not None and last.end is not None
    return (
        f"{url} (lastModified {format_nvd_time(first.start)} .. {format_nvd_time(last.end)}, "
        f"{len(plan.windows)} window{'s' if len(plan.windows) != 1 else ''})"
    )


def sync_nvd_api(
    engine: Engine,
    config: NvdApiConfig | None = None,
    *,
    full: bool = False,
    since: datetime | None = None,
    now: datetime | None = None,
    on_page: Callable[[PageEvent], None] | None = None,
) -> NvdSyncReport:
    """Sync the store from the NVD API: resume an unfinished sync, or start a new one (see
    :func:`plan_sync`; ``full`` or ``since`` discard an unfinished one).

    Raises :class:`~cvewatch.sources.http.FetchError` (:class:`ApiKeyRejected` for a refused key) when the
    API cannot be read; every page committed before stays committed and the next call resumes after it.
    """
    config = config or NvdApiConfig.from_env()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with engine.begin() as conn:
        cursor = load_cursor(conn, SOURCE) or {}
        saved = Checkpoint.from_json(cursor.get("checkpoint"))
        interrupted: int | None = None
        if (
            saved is not None
            and run_status(conn, saved.run_id) == "running"
            and mark_interrupted(conn, saved.run_id, "interrupted: the process ended before the run finished")
        ):
            interrupted = saved.run_id
        resumed = saved is not None and not full and since is None
        if saved is not None and resumed:
            plan = saved.plan
        else:
            plan = plan_sync(now, last_success(conn, SOURCE), full=full, since=since, overlap=config.overlap)
        run_id = start_run(conn, SOURCE, _origin(config, plan))
        state = replace(saved, run_id=run_id) if saved is not None and resumed else Checkpoint(run_id, plan)
        window, start_index = state.window, state.start_index
        cursor["checkpoint"] = state.to_json()
        save_cursor(conn, SOURCE, cursor)
    if interrupted is not None:
        log.warning("run %d had been interrupted; marked as such", interrupted)
    log.info(
        "nvd sync run %d: %s %s, window %d/%d from startIndex %d",
        run_id,
        "resuming" if resumed else "starting",
        plan.mode,
        window + 1,
        len(plan.windows),
        start_index,
    )
    counts = {"pages": 0, "new": 0, "updated": 0, "unchanged": 0, "rejected": 0, "errors": 0, "received": 0}
    messages: list[str] = []
    incomplete = False
    with engine.connect() as conn:
        may_list = count_retries(conn, SOURCE) > 0  # else no page needs to look at the retry list
    retried = recovered = 0
    fetcher: _Fetcher | _ProcessFetcher | None = None
    try:
        dialect = engine.dialect.name
        fetcher = _ProcessFetcher(config, dialect) if config.worker_process else _Fetcher(config, dialect)
        with bulk_gc():
            while state.window < len(plan.windows):
                window, start_index = state.window, state.start_index
                page = fetcher.fetch(plan.windows[window], start_index)
                step = _judge(start_index, page, config.results_per_page, state.place)
                where = f"window {window + 1}/{len(plan.windows)} ({plan.windows[window]})"
                if step.note is not None:
                    log.warning("%s: %s", where, step.note)
                if step.problem is not None:
                    incomplete = True
                    messages.append(
                        f"{where}: {step.problem}; the window was ended there and will be read again "
                        "by the next sync"
                    )
                    log.warning(messages[-1])
                messages.extend(str(p) for p in page.problems[: max(0, _MAX_MESSAGES - len(messages))])
                if step.done:
                    state = replace(state, window=window + 1, start_index=0, place=Place())
                else:
                    state = replace(state, start_index=step.next_start, place=step.place)
                with engine.begin() as conn:
                    stats, back = _store_page(conn, page, run_id, may_list)
                    cursor["checkpoint"] = state.to_json()
                    save_cursor(conn, SOURCE, cursor)
                may_list = may_list or bool(page.problems)
                recovered += back
                _count(counts, page, stats)
                log.info(
                    "page: window %d/%d startIndex %d received %d totalResults %d new %d updated %d",
                    window + 1,
                    len(plan.windows),
                    start_index,
                    page.received,
                    page.total_results,
                    stats.new,
                    stats.updated,
                )
                if on_page is not None:
                    on_page(
                        PageEvent(
                            window,
                            len(plan.windows),
                            start_index,
                            page.received,
                            page.total_results,
                            counts["pages"],
                        )
                    )
            if may_list:
                retried, back = _ask_again(engine, fetcher, run_id, counts, messages)
                recovered += back
    except BaseException as exc:
        with engine.begin() as conn:
            finish_run(conn, run_id, status="failed", messages=[*messages, f"{type(exc).__name__}: {exc}"])
        raise
    finally:
        if fetcher is not None:
            fetcher.close()
    status = "partial" if incomplete or counts["errors"] else "ok"
    with engine.begin() as conn:
        to_retry = count_retries(conn, SOURCE)
        finish_run(conn, run_id, status=status, messages=messages)
        cursor.pop("checkpoint", None)
        cursor["last_run"] = run_id
        cursor["last_plan"] = plan.to_json()
        if incomplete:
            save_cursor(conn, SOURCE, cursor)
        else:
            mark_success(conn, SOURCE, plan.end, cursor)
    refresh_statistics(engine, counts["new"] + counts["updated"])
    return NvdSyncReport(
        run_id=run_id,
        status=status,
        mode=plan.mode,
        resumed=resumed,
        interrupted_run=interrupted,
        windows=len(plan.windows),
        pages=counts["pages"],
        received=counts["received"],
        new=counts["new"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        rejected=counts["rejected"],
        errors=counts["errors"],
        messages=tuple(messages),
        end=plan.end,
        retried=retried,
        recovered=recovered,
        to_retry=to_retry,
    )


def _rejected(page: _Page, stored: set[str]) -> list[tuple[str, str]]:
    """The ``(cve_id, reason)`` of a page's rejected records that can be asked for again: those with a
    well-formed CVE id (a record without one cannot be asked for by id, nor stored) not stored by it."""
    return [
        (p.record_id, p.message)
        for p in page.problems
        if p.record_id is not None and CVE_ID_RE.match(p.record_id) and p.record_id not in stored
    ]


def _store_page(conn: DbConnection, page: _Page, run_id: int, may_list: bool) -> tuple[UpsertStats, int]:
    """Write a page in the caller's transaction: its records, the retry list (the records stored leave it,
    the rejected ones join it) and the run's counters. Returns the counts and how many records left the
    retry list (``may_list`` false: the list holds none of this source, so none is looked for)."""
    assert page.batch is not None
    stats = upsert_prepared(conn, page.batch)
    stored = [h[0] for h in page.batch.heads]
    recovered = clear_retries(conn, SOURCE, stored) if may_list else 0
    keep_for_retry(conn, SOURCE, _rejected(page, set(stored)), run_id=run_id)
    add_run_progress(
        conn,
        run_id,
        pages=1,
        new=stats.new,
        updated=stats.updated,
        unchanged=stats.unchanged,
        rejected=stats.rejected,
        errors=len(page.problems),
    )
    return stats, recovered


def _count(counts: dict[str, int], page: _Page, stats: UpsertStats) -> None:
    counts["pages"] += 1
    counts["received"] += page.received
    counts["new"] += stats.new
    counts["updated"] += stats.updated
    counts["unchanged"] += stats.unchanged
    counts["rejected"] += stats.rejected
    counts["errors"] += len(page.problems)


def _ask_again(
    engine: Engine,
    fetcher: _Fetcher | _ProcessFetcher,
    run_id: int,
    counts: dict[str, int],
    messages: list[str],
) -> tuple[int, int]:
    """Ask the API again, by ``cveId``, for the records of the retry list that an earlier run could not
    store (at most :data:`MAX_RETRIES`, the longest untried first), each written as a page. A record now
    stored leaves the list; one still rejected stays, with one more attempt; an id the API no longer knows
    leaves it with a message. Returns how many were asked for and how many left the list."""
    with engine.connect() as conn:
        entries = pending_retries(conn, SOURCE, before_run=run_id, limit=MAX_RETRIES)
    recovered = 0
    for entry in entries:
        page = fetcher.fetch(Window(cve_id=entry.cve_id), 0)
        with engine.begin() as conn:
            stats, back = _store_page(conn, page, run_id, True)
            if page.received == 0:
                back += clear_retries(conn, SOURCE, [entry.cve_id])
                messages.append(
                    f"{entry.cve_id}: the NVD API has no record of this id any more; it leaves the retry list"
                )
        recovered += back
        messages.extend(str(p) for p in page.problems[: max(0, _MAX_MESSAGES - len(messages))])
        _count(counts, page, stats)
    if entries:
        log.info("retry list: %d asked again, %d stored", len(entries), recovered)
    return len(entries), recovered


def iter_api_pages(config: NvdApiConfig, window: Window | None = None) -> Iterator[list[Vulnerability]]:
    """Every page of one window as a list of records, without the store (for tools and benchmarks), paged
    as a sync pages (:func:`_judge`); a record the previous page held already is left out."""
    window = window or Window()
    fetcher = _Fetcher(config)
    try:
        start, place = 0, Place()
        before: set[str] = set()
        while True:
            page = fetcher.fetch(window, start)
            yield [v for v in page.vulnerabilities if v.id not in before]
            step = _judge(start, page, config.results_per_page, place)
            if step.done:
                return
            before = {k[0] for k in page.keys}
            start, place = step.next_start, step.place
    finally:
        fetcher.close()
