"""NVD 2.0 feed files (``nvdcve-2.0-{YYYY,modified,recent}.json.gz`` with their ``.meta`` files), from a base
URL or a folder.

For each feed the ``.meta`` file is read first. A feed whose ``sha256`` equals the one stored by its last
import is skipped. Otherwise the feed is read, its uncompressed JSON is checked against the meta's ``sha256``
(and ``size``) *before anything is stored* (a mismatch raises :class:`~cvewatch.errors.InputError` naming the
feed), and its records are upserted in one transaction together with the new ``sha256``: a feed is either
imported whole and remembered, or not at all. The last ``sha256`` of each feed is kept in ``sync_state``
under the source ``nvd-feed:<feed name>``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
from sqlalchemy import Engine

from cvewatch.errors import InputError
from cvewatch.limits import MAX_NVD_FILE_BYTES, json_error, read_input
from cvewatch.model.records import Vulnerability
from cvewatch.redact import redact_url
from cvewatch.sources.http import BadResponse, HttpClient, RetryPolicy
from cvewatch.sources.nvd_api import bulk_gc
from cvewatch.sources.nvd_json import iter_document, nul_free
from cvewatch.store.db import refresh_statistics
from cvewatch.store.sync_runs import finish_run, load_cursor, mark_success, start_run
from cvewatch.store.vulnerabilities import UpsertStats, upsert_batch
from cvewatch.versions.rpm import is_ascii_number

__all__ = [
    "SOURCE",
    "FeedMeta",
    "FeedResult",
    "FeedSyncReport",
    "default_feed_names",
    "feed_state_key",
    "parse_meta",
    "sync_nvd_feeds",
]

log = logging.getLogger(__name__)

SOURCE = "nvd-feed"
FIRST_YEAR = 2002
_FEED_RE = re.compile(r"^nvdcve-2\.0-(?:\d{4}|modified|recent)$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_BATCH = 2000


def feed_state_key(name: str) -> str:
    """The ``sync_state`` source under which a feed's last sha256 is kept."""
    return f"{SOURCE}:{name}"


def default_feed_names(today: datetime | None = None) -> list[str]:
    """Every yearly feed from 2002 to this year, then ``modified`` and ``recent``."""
    year = (today or datetime.now(UTC)).year
    return [f"nvdcve-2.0-{y}" for y in range(FIRST_YEAR, year + 1)] + [
        "nvdcve-2.0-modified",
        "nvdcve-2.0-recent",
    ]


def _feed_order(name: str) -> tuple[int, str]:
    suffix = name.rsplit("-", 1)[-1]
    return (0, suffix) if suffix.isdigit() else (1 if suffix == "modified" else 2, suffix)


@dataclass(frozen=True, slots=True)
class FeedMeta:
    """A feed's ``.meta`` file. ``sha256`` (lower case) and ``size`` describe the *uncompressed* JSON."""

    last_modified: str
    size: int
    zip_size: int | None
    gz_size: int | None
    sha256: str


def parse_meta(text: str, *, origin: str) -> FeedMeta:
    """Parse ``key:value`` lines (LF or CRLF). Raises :class:`InputError` naming ``origin``."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [k for k in ("lastModifiedDate", "size", "sha256") if k not in fields]
    if missing:
        raise InputError(f"feed meta file lacks {', '.join(missing)}", origin)
    if not _SHA256_RE.match(fields["sha256"]):
        raise InputError(f"feed meta file has an invalid sha256 {fields['sha256']!r}", origin)

    def number(key: str) -> int | None:
        if key not in fields:
            return None
        try:
            if not is_ascii_number(fields[key]):  # int() would read "٣" as 3, "1_0" as 10
                raise ValueError(fields[key])
            return int(fields[key])
        except ValueError:
            raise InputError(f"feed meta file: {key} is not a number ({fields[key]!r})", origin) from None

    size = number("size")
    assert size is not None
    return FeedMeta(
        fields["lastModifiedDate"], size, number("zipSize"), number("gzSize"), fields["sha256"].lower()
    )


@dataclass(frozen=True, slots=True)
class FeedResult:
    name: str
    status: str  # "imported" or "skipped"
    sha256: str
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class FeedSyncReport:
    run_id: int
    feeds: tuple[FeedResult, ...]
    messages: tuple[str, ...]


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(limit + 1)
    except (EOFError, OSError, zlib.error) as err:
        raise BadResponse(f"corrupt or truncated gzip data ({err})") from None
    if len(out) > limit:
        raise BadResponse(f"uncompressed data is larger than the meta's size ({limit} bytes)")
    return out


class _Location:
    """A base URL or a folder holding ``<name>.meta`` and ``<name>.json.gz`` files."""

    def __init__(self, location: str, http: HttpClient | None) -> None:
        self.location = location
        self.shown = redact_url(location)  # for messages and the run record
        self.is_url = location.startswith(("http://", "https://"))
        self._http = http
        if not self.is_url and not Path(location).is_dir():
            raise InputError(
                "no such folder (give a folder of feed files or an http(s) base URL)", self.shown
            )

    def show(self, filename: str) -> str:
        """:meth:`where` with credentials redacted, for messages."""
        return redact_url(self.where(filename))

    def where(self, filename: str) -> str:
        if self.is_url:
            return self.location.rstrip("/") + "/" + filename
        return str(Path(self.location) / filename)

    def names(self) -> list[str]:
        """The feeds present: for a folder, every ``nvdcve-2.0-*.meta`` with its ``.json.gz``."""
        if self.is_url:
            return default_feed_names()
        found = [
            p.name[: -len(".meta")]
            for p in Path(self.location).glob("nvdcve-2.0-*.meta")
            if (p.parent / (p.name[: -len(".meta")] + ".json.gz")).is_file()
        ]
        return sorted((n for n in found if _FEED_RE.match(n)), key=_feed_order)

    def read(self, filename: str, decode: Callable[[bytes], bytes]) -> bytes:
        where = self.where(filename)
        if self.is_url:
            assert self._http is not None

            def from_response(response: httpx.Response) -> bytes:
                return decode(response.content)

            return self._http.get(where, decode=from_response, what=redact_url(where))
        raw = read_input(Path(where), max_bytes=MAX_NVD_FILE_BYTES)  # a regular file, never past the limit
        try:
            return decode(raw)
        except BadResponse as err:
            raise InputError(str(err), where) from None


def sync_nvd_feeds(
    engine: Engine,
    location: str,
    *,
    names: Sequence[str] | None = None,
    force: bool = False,
    http: HttpClient | None = None,
    on_feed: Callable[[FeedResult], None] | None = None,
) -> FeedSyncReport:
    """Import the feeds ``names`` (default: all found in a folder, or every feed for a URL) from
    ``location``. Raises :class:`InputError` for a feed whose data does not match its meta (the feeds
    imported before it stay imported) and :class:`~cvewatch.sources.http.FetchError` when a URL cannot be
    read."""
    for name in names or ():
        if not _FEED_RE.match(name):
            raise InputError(f"not an NVD 2.0 feed name: {name!r} (expected nvdcve-2.0-YYYY|modified|recent)")
    own_http = http is None and location.startswith(("http://", "https://"))
    if own_http:
        http = HttpClient(timeout=120.0, retry=RetryPolicy(max_attempts=5, max_elapsed=300.0))
    try:
        place = _Location(location, http)
        todo = list(names) if names else place.names()
        if not todo:
            raise InputError("no nvdcve-2.0-*.meta and .json.gz pairs found", place.shown)
        return _sync(engine, place, todo, force, on_feed)
    finally:
        if own_http and http is not None:
            http.close()


def _sync(
    engine: Engine,
    place: _Location,
    todo: list[str],
    force: bool,
    on_feed: Callable[[FeedResult], None] | None,
) -> FeedSyncReport:
    with engine.begin() as conn:
        run_id = start_run(conn, SOURCE, place.shown)
    results: list[FeedResult] = []
    messages: list[str] = []
    totals = UpsertStats()
    errors = 0
    try:
        for name in todo:
            with bulk_gc():
                result = _one_feed(engine, place, name, force, messages)
            results.append(result)
            totals.add(UpsertStats(result.new, result.updated, result.unchanged, result.rejected))
            errors += result.errors
            log.info("feed %s: %s (%d records)", name, result.status, result.records)
            if on_feed is not None:
                on_feed(result)
    except BaseException as exc:
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status="failed",
                messages=[*messages, str(exc)],
                pages=sum(r.status == "imported" for r in results),
                new=totals.new,
                updated=totals.updated,
                unchanged=totals.unchanged,
                rejected=totals.rejected,
                errors=errors + 1,
            )
        raise
    with engine.begin() as conn:
        finish_run(
            conn,
            run_id,
            status="partial" if errors else "ok",
            messages=messages,
            pages=sum(r.status == "imported" for r in results),
            new=totals.new,
            updated=totals.updated,
            unchanged=totals.unchanged,
            rejected=totals.rejected,
            errors=errors,
        )
    refresh_statistics(engine, totals.new + totals.updated)
    return FeedSyncReport(run_id, tuple(results), tuple(messages))


def _one_feed(engine: Engine, place: _Location, name: str, force: bool, messages: list[str]) -> FeedResult:
    meta_where = place.show(f"{name}.meta")
    meta_bytes = place.read(f"{name}.meta", lambda b: b)
    meta = parse_meta(meta_bytes.decode("utf-8", "replace"), origin=meta_where)
    key = feed_state_key(name)
    with engine.connect() as conn:
        stored = (load_cursor(conn, key) or {}).get("sha256")
    if stored == meta.sha256 and not force:
        return FeedResult(name, "skipped", meta.sha256)

    data_where = place.show(f"{name}.json.gz")

    data = place.read(f"{name}.json.gz", lambda raw: _gunzip(raw, meta.size))
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.sha256 or len(data) != meta.size:
        raise InputError(
            f"feed {name}: the uncompressed data does not match {name}.meta (sha256 {digest}, "
            f"{len(data)} bytes; the meta says sha256 {meta.sha256}, {meta.size} bytes); nothing was stored",
            data_where,
        )
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise InputError(f"feed {name}: invalid JSON ({json_error(err)})", data_where) from None
    no_nul = nul_free(data)
    del data
    vulns: list[Vulnerability] = []
    problems = 0
    for item in iter_document(doc, origin=data_where, nul_free=no_nul):
        if isinstance(item, Vulnerability):
            vulns.append(item)
        else:
            problems += 1
            if len(messages) < 200:
                messages.append(str(item))
    del doc
    stats = UpsertStats()
    with engine.begin() as conn:
        for start in range(0, len(vulns), _BATCH):
            stats.add(upsert_batch(conn, vulns[start : start + _BATCH]))
        cursor = {"sha256": meta.sha256, "lastModifiedDate": meta.last_modified, "size": meta.size}
        mark_success(conn, key, datetime.now(UTC), cursor)
    return FeedResult(
        name,
        "imported",
        meta.sha256,
        records=len(vulns),
        new=stats.new,
        updated=stats.updated,
        unchanged=stats.unchanged,
        rejected=stats.rejected,
        errors=problems,
    )
