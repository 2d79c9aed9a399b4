"""CISA's Known Exploited Vulnerabilities catalogue (the JSON feed) → frozen values, and into the store.

The feed is one document: ``{title, catalogVersion, dateReleased, count, vulnerabilities: [{cveID,
vendorProject, product, vulnerabilityName, dateAdded, shortDescription, requiredAction, dueDate,
knownRansomwareCampaignUse, notes, cwes}]}``. The store keeps the catalogue as a whole: a sync replaces it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import orjson

from cvewatch.errors import InputError, RecordError
from cvewatch.limits import json_error
from cvewatch.model.exploits import KevCatalog, KevEntry
from cvewatch.model.records import CVE_ID_RE, RecordProblem, text_problem
from cvewatch.redact import redact_url
from cvewatch.sources.cve5 import read_location

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

__all__ = ["KEV_URL", "KevCatalog", "KevEntry", "KevReport", "import_kev", "parse_catalog", "read_catalog"]

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
#: The longest values the store keeps (``kev_entries``); a longer one, or a NUL in any stored text, would
#: make PostgreSQL refuse the whole catalogue: the entry (or the catalogue's version) is a problem instead.
MAX_NAME = 200  # vendorProject, product
MAX_RANSOMWARE = 20
MAX_CATALOG_VERSION = 40


@dataclass(frozen=True, slots=True)
class KevReport:
    origin: str
    catalog_version: str | None
    entries: int
    added: int  # CVEs not in the catalogue stored before
    removed: int  # CVEs of the stored catalogue that the new one lacks
    problems: tuple[RecordProblem, ...]


def _date(value: Any, what: str, where: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{what} is not a string: {value!r}", where)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RecordError(f"{what} is not a date: {value!r}", where) from None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _entry(item: Any, where: str) -> KevEntry:
    if not isinstance(item, dict):
        raise RecordError("a catalogue entry is not an object", where)
    cve = item.get("cveID")
    if not isinstance(cve, str) or not CVE_ID_RE.match(cve.strip()):
        raise RecordError(f"invalid cveID {cve!r}", where)
    cwes = item.get("cwes")
    for key, limit in (
        ("vendorProject", MAX_NAME),
        ("product", MAX_NAME),
        ("vulnerabilityName", 0),
        ("requiredAction", 0),
        ("knownRansomwareCampaignUse", MAX_RANSOMWARE),
    ):
        problem = text_problem(_opt_str(item.get(key)), key, limit)
        if problem:
            raise RecordError(problem, f"{where} [{cve}]")
    return KevEntry(
        cve_id=cve.strip(),
        vendor_project=_opt_str(item.get("vendorProject")),
        product=_opt_str(item.get("product")),
        name=_opt_str(item.get("vulnerabilityName")),
        date_added=_date(item.get("dateAdded"), "dateAdded", f"{where} [{cve}]"),
        short_description=_opt_str(item.get("shortDescription")),
        required_action=_opt_str(item.get("requiredAction")),
        due_date=_date(item.get("dueDate"), "dueDate", f"{where} [{cve}]"),
        known_ransomware=_opt_str(item.get("knownRansomwareCampaignUse")),
        notes=_opt_str(item.get("notes")),
        cwes=tuple(c for c in cwes if isinstance(c, str)) if isinstance(cwes, list) else (),
    )


def parse_catalog(doc: Any, *, origin: str = "<kev>") -> KevCatalog:
    """The KEV JSON document → :class:`KevCatalog`. A bad entry is a problem (the others are kept); a
    document without a ``vulnerabilities`` list raises :class:`InputError`. A CVE listed twice keeps its
    first entry."""
    if not isinstance(doc, dict) or not isinstance(doc.get("vulnerabilities"), list):
        raise InputError("not a KEV catalogue (an object with a 'vulnerabilities' list)", origin)
    entries: dict[str, KevEntry] = {}
    problems: list[RecordProblem] = []
    for index, item in enumerate(doc["vulnerabilities"]):
        where = f"{origin} vulnerabilities[{index}]"
        try:
            entry = _entry(item, where)
        except RecordError as err:
            cve = item.get("cveID") if isinstance(item, dict) else None
            problems.append(
                RecordProblem(origin, cve if isinstance(cve, str) else None, f"entry {index}: {err}")
            )
            continue
        if entry.cve_id in entries:
            problems.append(RecordProblem(origin, entry.cve_id, f"entry {index}: listed twice"))
            continue
        entries[entry.cve_id] = entry
    count = doc.get("count")
    count = count if isinstance(count, int) and not isinstance(count, bool) else None
    if count is not None and count != len(doc["vulnerabilities"]):
        problems.append(
            RecordProblem(origin, None, f"count says {count} but {len(doc['vulnerabilities'])} are listed")
        )
    released = doc.get("dateReleased")
    date_released: datetime | None = None
    if isinstance(released, str) and released:
        try:
            parsed = datetime.fromisoformat(released)
            date_released = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        except ValueError:
            problems.append(RecordProblem(origin, None, f"dateReleased is not a timestamp: {released!r}"))
    version = doc.get("catalogVersion")
    version = version if isinstance(version, str) else None
    problem = text_problem(version, "catalogVersion", MAX_CATALOG_VERSION)
    if problem:
        problems.append(RecordProblem(origin, None, f"{problem}; it is not kept"))
        version = None
    return KevCatalog(
        catalog_version=version,
        date_released=date_released,
        count=count,
        entries=tuple(entries.values()),
        problems=tuple(problems),
    )


def read_catalog(
    location: str | os.PathLike[str] = KEV_URL, *, client: httpx.Client | None = None
) -> KevCatalog:
    """Read the catalogue from a URL (default: CISA's feed) or a file (plain or gzip)."""
    where = redact_url(str(location))
    raw = read_location(location, client=client)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise InputError(f"invalid JSON: {json_error(err)}", where) from None
    return parse_catalog(doc, origin=where)


def import_kev(
    engine: Engine, location: str | os.PathLike[str] = KEV_URL, *, client: httpx.Client | None = None
) -> KevReport:
    """Read the catalogue and replace the stored one with it, with a sync run ("kev").

    An empty catalogue is refused (:class:`InputError`): it would wipe the stored one."""
    from cvewatch.store.kev_epss import replace_kev
    from cvewatch.store.sync_runs import finish_run, mark_success, start_run

    origin = redact_url(str(location))
    started = datetime.now(UTC)
    with engine.begin() as conn:
        run_id = start_run(conn, "kev", origin)
    catalog: KevCatalog | None = None
    added = removed = 0
    stored = False
    try:
        catalog = read_catalog(location, client=client)
        if not catalog.entries:
            raise InputError("the KEV catalogue lists no vulnerability; the stored one is kept", origin)
        with engine.begin() as conn:
            added, removed = replace_kev(conn, catalog)
        stored = True
    finally:
        problems = catalog.problems if catalog is not None else ()
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status=("partial" if problems else "ok") if stored else "failed",
                messages=[str(p) for p in problems],
                new=added,
                updated=len(catalog.entries) - added if stored and catalog is not None else 0,
                errors=len(problems),
            )
            if stored and catalog is not None:
                mark_success(conn, "kev", started, {"catalogVersion": catalog.catalog_version})
    assert catalog is not None
    return KevReport(origin, catalog.catalog_version, len(catalog.entries), added, removed, catalog.problems)
