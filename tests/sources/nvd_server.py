"""A fake NVD CVE API 2.0 on 127.0.0.1, for tests: real HTTP, real sockets, faults on demand.

:class:`FakeNvd` serves a list of ``cve`` objects as API 2.0 pages sorted by (published, id), honouring
``resultsPerPage`` (≤ 2000, and at most ``max_page``: a server that caps its pages, and says so in its
``resultsPerPage``), ``startIndex``, ``cveId`` and ``lastModStartDate``/``lastModEndDate`` (inclusive; both or
neither; a range over 120 days is refused with 404 and a ``message`` header, as NVD does). With ``api_key``
set, a request without that ``apiKey`` header gets ``bad_key_status`` and ``message: Invalid apiKey.``.
With ``redirect_to`` every GET is answered with a 302 to that URL (another server, for redirect tests);
``/redirect?to=PATH&…`` answers a 302 to ``PATH?…`` on the same server.

Faults are planned by the ordinal of the request (1-based, every GET counts), see :data:`FAULTS`. Records can
be added after a given request (``add_after``), which makes ``totalResults`` change while a client pages, and
modified after a given request (``modify_after``): a modified record moves to the end of the order, so the
records after its old place shift one place up under a client's offsets (and out of a dated window when its
new ``lastModified`` is past the window's end). ``broken`` serves, for a CVE id, another (malformed) body in
place of the record, until the test removes it. Every request is logged with its arrival time
(``time.monotonic``), parameters and answer status.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

#: 403 (with Retry-After), 429, 503, a stall longer than the client's timeout, a connection reset, a body cut
#: short of its Content-Length, invalid JSON, a short page, an empty page, a page whose totalResults is
#: lower than the truth (as if it were the last page), and a stall until released.
FAULTS = (
    "403",
    "429",
    "503",
    "timeout",
    "reset",
    "truncated",
    "invalid_json",
    "short",
    "empty",
    "low_total",
    "stall",
)


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass
class Request:
    ordinal: int
    at: float
    params: dict[str, str]
    api_key: str | None
    status: int = 0
    fault: str | None = None


@dataclass
class _Record:
    id: str
    key: tuple[Any, ...]  # the order: (0, published, id), or (1, n, id) once modified (n-th modification)
    last_modified: datetime
    body: bytes


def _record(cve: dict[str, Any], key: tuple[Any, ...] | None = None) -> _Record:
    return _Record(
        cve["id"],
        key or (0, cve["published"], cve["id"]),
        parse_time(cve["lastModified"]),
        orjson.dumps({"cve": cve}),
    )


@dataclass
class FakeNvd:
    records: list[_Record] = field(default_factory=list)
    api_key: str | None = None
    bad_key_status: int = 404
    faults: dict[int, str] = field(default_factory=dict)
    add_after: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    modify_after: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    broken: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_page: int = 2000
    retry_after: str = "0"
    redirect_to: str | None = None  # answer every GET with a 302 to this URL (the same query)
    timeout_sleep: float = 1.5
    requests: list[Request] = field(default_factory=list)
    stall_started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, cves: Iterable[dict[str, Any]], **kwargs: Any) -> FakeNvd:
        server = cls(**kwargs)
        server.set_records(cves)
        return server

    def set_records(self, cves: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            self.records = sorted((_record(c) for c in cves), key=lambda r: r.key)

    def add_records(self, cves: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            by_id = {r.id: r for r in self.records}
            for c in cves:
                by_id[c["id"]] = _record(c)
            self.records = sorted(by_id.values(), key=lambda r: r.key)

    def modify_records(self, cves: Iterable[dict[str, Any]]) -> None:
        """Replace records by id with new versions, each moved to the end of the order."""
        with self.lock:
            self._modify(cves)

    def _modify(self, cves: Iterable[dict[str, Any]]) -> None:
        by_id = {r.id: r for r in self.records}
        moved = sum(r.key[0] == 1 for r in self.records)
        for c in cves:
            moved += 1
            by_id[c["id"]] = _record(c, (1, moved, c["id"]))
        self.records = sorted(by_id.values(), key=lambda r: r.key)

    def current(self) -> list[dict[str, Any]]:
        """The records as served now (without the ``broken`` bodies), as ``cve`` objects."""
        with self.lock:
            return [orjson.loads(r.body)["cve"] for r in self.records]

    @property
    def page_requests(self) -> list[Request]:
        return [r for r in self.requests if r.status == 200 and r.fault is None]

    def answer(
        self, path: str, query: str, api_key: str | None
    ) -> tuple[Request, int, dict[str, str], bytes]:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        with self.lock:
            ordinal = len(self.requests) + 1
            req = Request(ordinal, time.monotonic(), params, api_key)
            self.requests.append(req)
            for n in [n for n in self.add_after if n < ordinal]:
                added = self.add_after.pop(n)
                by_id = {r.id: r for r in self.records}
                by_id.update((c["id"], _record(c)) for c in added)
                self.records = sorted(by_id.values(), key=lambda r: r.key)
            for n in sorted(n for n in self.modify_after if n < ordinal):
                self._modify(self.modify_after.pop(n))
            records = self.records
            broken = {cve_id: orjson.dumps({"cve": body}) for cve_id, body in self.broken.items()}
        if self.redirect_to is not None:
            return req, 302, {"Location": f"{self.redirect_to}?{query}"}, b""
        if path == "/redirect":  # a redirect within this origin: /redirect?to=PATH&...
            rest = urlencode({k: v for k, v in params.items() if k != "to"})
            return req, 302, {"Location": f"{params.get('to', '/')}?{rest}"}, b""
        if self.api_key is not None and api_key != self.api_key:
            return req, self.bad_key_status, {"message": "Invalid apiKey."}, b""
        req.fault = self.faults.get(ordinal)
        if req.fault in ("403", "429", "503"):
            return req, int(req.fault), {"Retry-After": self.retry_after}, b""
        try:
            start = int(params.get("startIndex", "0"))
            asked = int(params.get("resultsPerPage", "2000"))
            per_page = min(asked, self.max_page)
        except ValueError:
            return req, 404, {"message": "Invalid startIndex or resultsPerPage"}, b""
        if start < 0 or not 1 <= asked <= 2000:
            return req, 404, {"message": "Invalid startIndex or resultsPerPage"}, b""
        lo, hi = params.get("lastModStartDate"), params.get("lastModEndDate")
        if (lo is None) != (hi is None):
            return req, 404, {"message": "Both lastModStartDate and lastModEndDate are required"}, b""
        if lo is not None and hi is not None:
            try:
                start_dt, end_dt = parse_time(lo), parse_time(hi)
            except ValueError:
                return req, 404, {"message": f"Invalid date {lo!r} or {hi!r}"}, b""
            if end_dt - start_dt > timedelta(days=120) or end_dt < start_dt:
                return req, 404, {"message": "The date range must not exceed 120 days"}, b""
            records = [r for r in records if start_dt <= r.last_modified <= end_dt]
        if "cveId" in params:
            records = [r for r in records if r.id == params["cveId"]]
        chunk = records[start : start + per_page]
        if req.fault == "short":
            chunk = chunk[: len(chunk) // 2]
        elif req.fault == "empty":
            chunk = []
        head = orjson.dumps(
            {
                "resultsPerPage": len(chunk),
                "startIndex": start,
                "totalResults": start + len(chunk) if req.fault == "low_total" else len(records),
                "format": "NVD_CVE",
                "version": "2.0",
                "timestamp": "2026-01-01T00:00:00.000",
            }
        )
        bodies = (broken.get(r.id, r.body) for r in chunk)
        body = head[:-1] + b',"vulnerabilities":[' + b",".join(bodies) + b"]}"
        if req.fault == "invalid_json":
            body = body[: len(body) // 2] + b"<html>oops"
        return req, 200, {"Content-Type": "application/json"}, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        req, status, headers, body = fake.answer(url.path, url.query, self.headers.get("apiKey"))
        req.status = status
        fault = req.fault
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == "timeout":
            time.sleep(fake.timeout_sleep)
        if fault == "stall":
            fake.stall_started.set()
            fake.release.wait(60)
            return
        if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(body) > 1024:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        try:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if fault == "truncated":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeNvd


@contextmanager
def serve(fake: FakeNvd) -> Iterator[str]:
    """Run ``fake`` on 127.0.0.1 (a free port) in a thread; yields the API URL."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.fake = fake
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/rest/json/cves/2.0"
    finally:
        fake.release.set()
        httpd.shutdown()
        httpd.server_close()


def load_dataset(nvd: Path) -> list[dict[str, Any]]:
    """The genuine sample records as ``cve`` objects, one per id (the newest lastModified wins): the
    1,504-record converted page, the merged genuine 2.0 page and the recent folder."""
    cves: list[dict[str, Any]] = []
    for page in ("converted-from-1.1-sample.json.gz", "genuine-api2.0-sample.json.gz"):
        doc = orjson.loads(gzip.decompress((nvd / "api2.0-shape" / page).read_bytes()))
        cves.extend(item["cve"] for item in doc["vulnerabilities"])
    cves.extend(orjson.loads(p.read_bytes()) for p in sorted((nvd / "recent").glob("CVE-*.json")))
    newest: dict[str, dict[str, Any]] = {}
    for c in cves:
        kept = newest.get(c["id"])
        if kept is None or parse_time(c["lastModified"]) >= parse_time(kept["lastModified"]):
            newest[c["id"]] = c
    return list(newest.values())
