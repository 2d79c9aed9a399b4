"""CVE JSON 5 records (the CVE Program's own format, as in CVEProject/cvelistV5) → frozen values.

A record is read from its ``cveMetadata`` and its containers: the CNA's and each ADP's (for example CISA's
vulnrichment, "CISA-ADP"). What cvewatch keeps of it:

* the header: id, state (``PUBLISHED`` or ``REJECTED``), assigner, dates, title and English description;
* the CVSS scores (v4.0, v3.1, v3.0, v2.0) of every container, each with its container as its source;
* the CWE ids of every container's ``problemTypes``;
* every container's ``affected[]`` entries with their versions (``version``, ``lessThan`` /
  ``lessThanOrEqual``, ``versionType``, ``status``, ``changes``), ``defaultStatus`` and ``cpes``.

:class:`Cve5Source` reads a file, a folder (for instance a cvelistV5 checkout), or only the records a
cvelistV5 delta names (``cves/delta.json`` or ``cves/deltaLog.json``), from a local checkout or over HTTP.
A record or file that cannot be read gives one :class:`RecordProblem` naming the file; the source goes on.
"""

from __future__ import annotations

import gzip
import io
import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from cvewatch.errors import InputError, RecordError
from cvewatch.limits import MAX_SOURCE_FILE_BYTES, json_error, read_input
from cvewatch.model.cve5 import (
    AffectedEntry,
    AffectedVersion,
    Cve5Metric,
    Cve5Record,
    VersionChange,
    name_key,
)
from cvewatch.model.records import CVE_ID_RE, RecordProblem, text_problem
from cvewatch.redact import redact_text, redact_url

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

    from cvewatch.sources.importer import ImportReport

__all__ = [
    "CVSS_KEYS",
    "Cve5Source",
    "delta_cve_ids",
    "import_cve5",
    "parse_datetime",
    "parse_record",
    "read_location",
    "read_record",
    "record_path",
    "storage_problem",
]

#: The metric keys of a CVE JSON 5 container, newest CVSS version first, with the version each one holds.
CVSS_KEYS: tuple[tuple[str, str], ...] = (
    ("cvssV4_0", "4.0"),
    ("cvssV3_1", "3.1"),
    ("cvssV3_0", "3.0"),
    ("cvssV2_0", "2.0"),
)
STATES = ("PUBLISHED", "REJECTED")
GZIP_MAGIC = b"\x1f\x8b"
#: The largest document read (a whole deltaLog.json is a few MB; a record rarely more than 1 MB).
MAX_BYTES = MAX_SOURCE_FILE_BYTES
USER_AGENT = "cvewatch (+https://github.com/; CVE tracking for RPM distributions)"


# --- values ---------------------------------------------------------------------------------------------


# --- parsing ----------------------------------------------------------------------------------------------

# The longest value the store keeps in each bounded column of a record (``store/models.py``: cve5_records,
# cna_affected; a test checks that they agree). A longer value, or a NUL character in any text, would make
# PostgreSQL refuse the whole batch: the record is rejected on its own instead (:func:`storage_problem`).
MAX_CONTAINER = 100  # "cna" or "adp:<shortName>"
MAX_NAME = 200  # assigner, vendor, product (and their lookup keys)
MAX_PACKAGE = 300  # packageName (and its lookup key)
MAX_DEFAULT_STATUS = 20


def _str(value: Any, what: str, where: str, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise RecordError(f"missing {what}", where)
        return None
    if not isinstance(value, str):
        raise RecordError(f"{what} is not a string: {value!r}", where)
    return value


def _dict(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not an object", where)
    return value


def _list(value: Any, what: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{what} is not an array", where)
    return value


def parse_datetime(value: Any, what: str, where: str) -> datetime | None:
    """A CVE JSON 5 timestamp (``2023-09-18T16:33:57.211Z``; no zone means UTC) as an aware datetime."""
    text = _str(value, what, where)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(f"{what} is not an ISO 8601 timestamp: {text!r}", where) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _english(items: list[Any], where: str) -> str | None:
    """The value of the first English item of a ``descriptions``-like list (else the first item)."""
    chosen: str | None = None
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            continue
        lang = str(item.get("lang", "")).lower()
        if lang == "en" or lang.startswith("en-") or lang.startswith("en_"):
            return str(item["value"])
        if chosen is None:
            chosen = str(item["value"])
    return chosen


def _container_name(container: dict[str, Any], adp_index: int | None) -> str:
    if adp_index is None:
        return "cna"
    meta = container.get("providerMetadata")
    short = meta.get("shortName") if isinstance(meta, dict) else None
    if not isinstance(short, str) or not short:
        short = meta.get("orgId") if isinstance(meta, dict) and isinstance(meta.get("orgId"), str) else None
    return f"adp:{short or adp_index}"


def _metrics(container: dict[str, Any], source: str, where: str) -> list[Cve5Metric]:
    out: list[Cve5Metric] = []
    for item in _list(container.get("metrics"), f"{source} metrics", where):
        if not isinstance(item, dict):
            continue
        for key, version in CVSS_KEYS:
            cvss = item.get(key)
            if not isinstance(cvss, dict):
                continue
            vector = cvss.get("vectorString")
            score = cvss.get("baseScore")
            if not isinstance(vector, str) or isinstance(score, bool) or not isinstance(score, int | float):
                raise RecordError(f"{source} {key} metric without vectorString or baseScore", where)
            severity = cvss.get("baseSeverity")
            out.append(
                Cve5Metric(
                    source,
                    version,
                    vector,
                    float(score),
                    severity.upper() if isinstance(severity, str) else None,
                )
            )
    return out


def _cwes(container: dict[str, Any], source: str, where: str) -> list[str]:
    out: list[str] = []
    for pt in _list(container.get("problemTypes"), f"{source} problemTypes", where):
        if not isinstance(pt, dict):
            continue
        for desc in _list(pt.get("descriptions"), f"{source} problemTypes descriptions", where):
            if not isinstance(desc, dict):
                continue
            cwe = desc.get("cweId")
            if not isinstance(cwe, str):
                # Older records carry the id only in the text ("CWE-416 Use After Free").
                text = desc.get("description")
                head = text.split(None, 1)[0].rstrip(":") if isinstance(text, str) and text else ""
                cwe = head if desc.get("type") == "CWE" or head.startswith("CWE-") else None
            if isinstance(cwe, str) and cwe.upper().startswith("CWE-"):
                out.append(cwe.upper())
    return out


def _version(item: Any, source: str, where: str) -> AffectedVersion:
    v = _dict(item, f"{source} affected version", where)
    version = _str(v.get("version"), f"{source} affected version's version", where, required=True)
    status = _str(v.get("status"), f"{source} affected version's status", where, required=True)
    changes = []
    for ch in _list(v.get("changes"), f"{source} version changes", where):
        c = _dict(ch, f"{source} version change", where)
        at = _str(c.get("at"), "change's at", where, required=True)
        st = _str(c.get("status"), "change's status", where, required=True)
        assert at is not None and st is not None
        changes.append(VersionChange(at, st))
    assert version is not None and status is not None
    return AffectedVersion(
        version=version,
        status=status,
        less_than=_str(v.get("lessThan"), "lessThan", where),
        less_than_or_equal=_str(v.get("lessThanOrEqual"), "lessThanOrEqual", where),
        version_type=_str(v.get("versionType"), "versionType", where),
        changes=tuple(changes),
    )


def _affected(container: dict[str, Any], source: str, where: str) -> list[AffectedEntry]:
    out: list[AffectedEntry] = []
    for item in _list(container.get("affected"), f"{source} affected", where):
        a = _dict(item, f"{source} affected entry", where)
        cpes = tuple(c for c in _list(a.get("cpes"), f"{source} cpes", where) if isinstance(c, str))
        out.append(
            AffectedEntry(
                container=source,
                vendor=_str(a.get("vendor"), "vendor", where),
                product=_str(a.get("product"), "product", where),
                package_name=_str(a.get("packageName"), "packageName", where),
                collection_url=_str(a.get("collectionURL"), "collectionURL", where),
                default_status=_str(a.get("defaultStatus"), "defaultStatus", where),
                versions=tuple(
                    _version(v, source, where) for v in _list(a.get("versions"), "versions", where)
                ),
                cpes=cpes,
            )
        )
    return out


def _affected_problem(a: AffectedEntry) -> str | None:
    problem = (
        text_problem(a.container, "the container's name", MAX_CONTAINER)
        or text_problem(a.vendor, "vendor", MAX_NAME)
        or text_problem(a.product, "product", MAX_NAME)
        or text_problem(a.package_name, "packageName", MAX_PACKAGE)
        or text_problem(a.collection_url, "collectionURL")
        or text_problem(a.default_status, "defaultStatus", MAX_DEFAULT_STATUS)
        # the lookup keys are stored too, and lower() may lengthen a text
        or text_problem(name_key(a.vendor), "vendor (as a lookup key)", MAX_NAME)
        or text_problem(name_key(a.product), "product (as a lookup key)", MAX_NAME)
        or text_problem((a.package_name or "").lower(), "packageName (as a lookup key)", MAX_PACKAGE)
    )
    for cpe in a.cpes:
        problem = problem or text_problem(cpe, "a cpe")
    for v in a.versions:
        for value, name in (
            (v.version, "version"),
            (v.status, "status"),
            (v.less_than, "lessThan"),
            (v.less_than_or_equal, "lessThanOrEqual"),
            (v.version_type, "versionType"),
        ):
            problem = problem or text_problem(value, f"a version's {name}")
        for change in v.changes:
            problem = problem or text_problem(change.at, "a change's at")
            problem = problem or text_problem(change.status, "a change's status")
    return problem


def storage_problem(record: Cve5Record) -> str | None:
    """Why the store cannot keep ``record`` as it is (a NUL character in any text, a value longer than its
    column), naming the field; ``None`` if it can."""
    problem = (
        text_problem(record.assigner, "the assigner", MAX_NAME)
        or text_problem(record.title, "title")
        or text_problem(record.description, "description")
    )
    for cwe in record.problem_types:
        problem = problem or text_problem(cwe, "a problem type")
    for m in record.metrics:
        problem = problem or (
            text_problem(m.source, f"the {m.version} metric's source")
            or text_problem(m.vector, f"the {m.version} metric's vectorString")
            or text_problem(m.base_severity, f"the {m.version} metric's baseSeverity")
        )
    if problem:
        return problem
    for i, a in enumerate(record.affected):
        problem = _affected_problem(a)
        if problem:
            return f"affected entry {i} ({a.container[:MAX_CONTAINER]!r}): {problem}"
    return None


def parse_record(doc: Any, *, origin: str = "<record>") -> Cve5Record:
    """One CVE JSON 5 record (5.0, 5.1 or 5.2) → :class:`Cve5Record`; :class:`RecordError` if malformed,
    also for a record the store could not keep as it is (:func:`storage_problem`)."""
    if not isinstance(doc, dict):
        raise RecordError("a CVE JSON 5 record is a JSON object", origin)
    data_type = doc.get("dataType")
    if data_type is not None and data_type != "CVE_RECORD":
        raise RecordError(f"dataType is {data_type!r}, not 'CVE_RECORD'", origin)
    meta = doc.get("cveMetadata")
    if not isinstance(meta, dict):
        raise RecordError("missing cveMetadata", origin)
    cve_id = meta.get("cveId")
    if not isinstance(cve_id, str) or not CVE_ID_RE.match(cve_id):
        raise RecordError(f"invalid cveMetadata.cveId {cve_id!r}", origin)
    where = f"{origin} [{cve_id}]" if cve_id not in origin else origin
    state = meta.get("state")
    if state not in STATES:
        raise RecordError(f"cveMetadata.state is {state!r}, expected one of {', '.join(STATES)}", where)
    containers = _dict(doc.get("containers"), "containers", where)
    cna = containers.get("cna")
    if cna is None:
        raise RecordError("missing containers.cna", where)
    cna = _dict(cna, "containers.cna", where)
    adps = [
        _dict(a, "an adp container", where) for a in _list(containers.get("adp"), "containers.adp", where)
    ]

    metrics: list[Cve5Metric] = []
    cwes: list[str] = []
    affected: list[AffectedEntry] = []
    for index, container in [(None, cna), *enumerate(adps)]:
        name = _container_name(container, index)
        metrics += _metrics(container, name, where)
        cwes += _cwes(container, name, where)
        affected += _affected(container, name, where)

    if state == "REJECTED":
        description = _english(_list(cna.get("rejectedReasons"), "rejectedReasons", where), where)
    else:
        description = _english(_list(cna.get("descriptions"), "descriptions", where), where)
    assigner = _str(meta.get("assignerShortName"), "assignerShortName", where) or _str(
        meta.get("assignerOrgId"), "assignerOrgId", where
    )
    record = Cve5Record(
        cve_id=cve_id,
        state=state,
        assigner=assigner,
        date_published=parse_datetime(meta.get("datePublished"), "datePublished", where),
        date_updated=parse_datetime(meta.get("dateUpdated"), "dateUpdated", where),
        title=_str(cna.get("title"), "title", where),
        description=description,
        metrics=tuple(metrics),
        problem_types=tuple(dict.fromkeys(cwes)),
        affected=tuple(affected),
    )
    problem = storage_problem(record)
    if problem is not None:
        raise RecordError(problem, where)
    return record


# --- reading files and URLs -------------------------------------------------------------------------------


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _gunzip(raw: bytes, where: str, max_bytes: int) -> bytes:
    if not raw.startswith(GZIP_MAGIC):
        if len(raw) > max_bytes:
            raise InputError(f"larger than the limit of {max_bytes} bytes", where)
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            data = stream.read(max_bytes + 1)
    except EOFError as err:
        raise InputError(f"truncated gzip data ({err})", where) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        raise InputError(f"corrupt gzip data ({err})", where) from None
    if len(data) > max_bytes:
        raise InputError(f"decompressed data is larger than the limit of {max_bytes} bytes", where)
    return data


def read_location(
    location: str | os.PathLike[str],
    *,
    client: httpx.Client | None = None,
    max_bytes: int = MAX_BYTES,
    attempts: int = 3,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """The bytes of a file or an ``http(s)://`` URL, gunzipped when they are gzip data.

    A URL is fetched with httpx (redirects followed); a 5xx answer or a network error is retried
    ``attempts`` times with a growing pause. Raises :class:`InputError` naming the location (a URL with
    its credentials redacted).
    """
    where = str(location)
    if not _is_url(where):
        raw = read_input(Path(location), max_bytes=max_bytes)  # a regular file or a pipe, bounded
        return _gunzip(raw, where, max_bytes)

    import httpx

    url, where = where, redact_url(where)
    own = client is None
    http = client or httpx.Client(
        follow_redirects=True, timeout=httpx.Timeout(60.0), headers={"User-Agent": USER_AGENT}
    )
    try:
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                resp = http.get(url)
            except httpx.HTTPError as err:
                last = redact_text(f"{type(err).__name__}: {err}")
            else:
                if resp.status_code < 400:
                    return _gunzip(resp.content, where, max_bytes)
                last = f"HTTP {resp.status_code}"
                if resp.status_code < 500 and resp.status_code != 429:
                    break
            if attempt < attempts:
                sleep(2.0 * attempt)
        raise InputError(f"cannot fetch: {last}", where)
    finally:
        if own:
            http.close()


# --- cvelistV5 layout and deltas --------------------------------------------------------------------------


def record_path(cve_id: str) -> str:
    """Where cvelistV5 keeps a record: ``cves/2024/3xxx/CVE-2024-3094.json``."""
    if not CVE_ID_RE.match(cve_id):
        raise InputError(f"invalid CVE id {cve_id!r}")
    _, year, number = cve_id.split("-")
    return f"cves/{year}/{int(number) // 1000}xxx/{cve_id}.json"


def delta_cve_ids(doc: Any, *, since: datetime | None = None, where: str = "<delta>") -> list[str]:
    """The CVE ids a cvelistV5 ``delta.json`` (one object) or ``deltaLog.json`` (a list of them) names as
    ``new`` or ``updated``, oldest delta first, each once. ``since`` keeps only deltas fetched after it."""
    deltas = doc if isinstance(doc, list) else [doc]
    entries: list[tuple[datetime | None, dict[str, Any]]] = []
    for d in deltas:
        if not isinstance(d, dict) or not ({"new", "updated"} & d.keys()):
            raise InputError("not a cvelistV5 delta (an object with 'new' and 'updated' lists)", where)
        fetched = parse_datetime(d.get("fetchTime"), "fetchTime", where)
        if since is not None and fetched is not None and fetched <= since:
            continue
        entries.append((fetched, d))
    entries.sort(key=lambda e: e[0] or datetime.min.replace(tzinfo=UTC))
    ids: dict[str, None] = {}
    for _, d in entries:
        for key in ("new", "updated"):
            for change in _list(d.get(key), key, where):
                cve = change.get("cveId") if isinstance(change, dict) else None
                if isinstance(cve, str) and CVE_ID_RE.match(cve):
                    ids[cve] = None
    return list(ids)


def _record_url(base: str, cve_id: str) -> str:
    return f"{base.rstrip('/')}/{record_path(cve_id)}"


class Cve5Source:
    """CVE JSON 5 records from a file, a folder, or the records a cvelistV5 delta names.

    * ``Cve5Source(path)``: ``path`` is one record file, or a folder searched recursively for files named
      ``*CVE-*.json`` (``.json.gz`` too; not the delta files), sorted by relative path;
    * ``Cve5Source(checkout, delta=...)``: only the records the delta (``delta.json``/``deltaLog.json``,
      a path or a URL; a relative path is taken inside the checkout) names, read from the checkout's
      ``cves/YYYY/NNxxx/`` folders; ``since`` skips deltas fetched before it;
    * ``Cve5Source(None, delta=URL, base_url=...)``: the same, each record fetched from ``base_url``
      (default: the raw cvelistV5 files on GitHub).

    ``records()`` yields a :class:`Cve5Record` or a :class:`RecordProblem` per file. Raises
    :class:`InputError` for a path that does not exist or a delta that cannot be read.
    """

    name = "cve5"
    DEFAULT_BASE_URL = "https://raw.githubusercontent.com/CVEProject/cvelistV5/main"

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        delta: str | os.PathLike[str] | None = None,
        since: datetime | None = None,
        base_url: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.delta = str(delta) if delta is not None else None
        self.since = since
        self.base_url = base_url or self.DEFAULT_BASE_URL
        self.client = client
        if self.path is None and self.delta is None:
            raise InputError("a CVE JSON 5 source needs a path or a delta")
        if self.path is not None and not self.path.exists():
            raise InputError("no such file or directory", str(self.path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, delta={self.delta!r})"

    @property
    def origin(self) -> str:
        parts = [str(self.path)] if self.path is not None else []
        if self.delta is not None:
            parts.append(f"delta {redact_url(self.delta)}")
        return ", ".join(parts)

    def _cves_root(self) -> Path:
        assert self.path is not None
        return self.path.parent if self.path.name == "cves" else self.path

    def delta_ids(self) -> list[str]:
        """The CVE ids the delta names (an empty list without a delta)."""
        if self.delta is None:
            return []
        location = self.delta
        if not _is_url(location) and self.path is not None and not Path(location).is_absolute():
            for inside in (self.path / location, self._cves_root() / location):
                if inside.exists():
                    location = str(inside)
                    break
        raw = read_location(location, client=self.client)
        shown = redact_url(location)
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise InputError(f"invalid JSON: {json_error(err)}", shown) from None
        return delta_cve_ids(doc, since=self.since, where=shown)

    def files(self) -> list[Path]:
        """The record files of a path source (not of a delta), in order."""
        if self.path is None:
            return []
        if not self.path.exists():
            raise InputError("no such file or directory", str(self.path))
        if not self.path.is_dir():
            return [self.path]
        found = [
            p
            for p in self.path.rglob("*CVE-*.json*")
            if p.name.endswith((".json", ".json.gz")) and not p.name.startswith(".") and p.is_file()
        ]
        return sorted(found, key=lambda p: p.relative_to(self.path).as_posix())  # type: ignore[arg-type]

    def locations(self) -> list[str]:
        """Every file or URL that :meth:`records` reads, in order."""
        if self.delta is None:
            return [str(p) for p in self.files()]
        ids = self.delta_ids()
        if self.path is not None:
            root = self._cves_root()
            return [str(root / record_path(cve)) for cve in ids]
        return [_record_url(self.base_url, cve) for cve in ids]

    def records(self) -> Iterator[Cve5Record | RecordProblem]:
        for location in self.locations():
            yield read_record(location, client=self.client)


def read_record(location: str, *, client: httpx.Client | None = None) -> Cve5Record | RecordProblem:
    """One record file or URL → a record, or a problem naming the location (credentials redacted)."""
    url, location = location, redact_url(location)
    try:
        raw = read_location(url, client=client)
    except InputError as err:
        return RecordProblem(location, None, str(err).removeprefix(f"{location}: "))
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        return RecordProblem(location, None, f"invalid JSON: {json_error(err)}")
    try:
        return parse_record(doc, origin=location)
    except RecordError as err:
        meta = doc.get("cveMetadata") if isinstance(doc, dict) else None
        cve = meta.get("cveId") if isinstance(meta, dict) and isinstance(meta.get("cveId"), str) else None
        message = str(err)
        for prefix in (f"{location} [{cve}]: ", f"{location}: "):
            message = message.removeprefix(prefix)
        return RecordProblem(location, cve, message)


# --- into the store ---------------------------------------------------------------------------------------


def import_cve5(
    engine: Engine,
    source: Cve5Source | Iterable[Cve5Record | RecordProblem],
    *,
    origin: str | None = None,
    batch_size: int = 500,
) -> ImportReport:
    """Upsert every record of ``source`` (newest ``dateUpdated`` wins), batch by batch, with a sync run."""
    from cvewatch.sources.importer import import_records
    from cvewatch.store.cve5 import upsert_cve5

    origin = origin or (source.origin if isinstance(source, Cve5Source) else "<records>")
    items = source.records() if isinstance(source, Cve5Source) else source
    return import_records(engine, items, upsert_cve5, name="cve5", origin=origin, batch_size=batch_size)
