"""CISA KEV and FIRST EPSS in the store: each is replaced as a whole (KEV per catalogue, EPSS per day)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select

from cvewatch.model.exploits import EpssFile, KevCatalog
from cvewatch.store.models import EpssScoreRow, KevEntryRow

__all__ = [
    "T_EPSS",
    "T_KEV",
    "StoredEpss",
    "StoredKev",
    "epss_score_date",
    "kev_ids",
    "load_epss",
    "load_kev",
    "replace_epss",
    "replace_kev",
]

T_KEV: Table = KevEntryRow.__table__  # type: ignore[assignment]
T_EPSS: Table = EpssScoreRow.__table__  # type: ignore[assignment]
_CHUNK = 400
_INSERT_BATCH = 5000


@dataclass(frozen=True, slots=True)
class StoredKev:
    """A KEV entry as the store keeps it (the table has no column for shortDescription, notes, cwes)."""

    cve_id: str
    vendor_project: str | None
    product: str | None
    name: str | None
    date_added: date | None
    due_date: date | None
    required_action: str | None
    known_ransomware: str | None
    catalog_version: str | None


@dataclass(frozen=True, slots=True)
class StoredEpss:
    cve_id: str
    score: float
    percentile: float
    score_date: date | None
    model_version: str | None


def replace_kev(conn: Connection, catalog: KevCatalog) -> tuple[int, int]:
    """Make ``catalog`` the stored catalogue; returns (CVEs added, CVEs removed) against the previous one."""
    before = set(conn.execute(select(T_KEV.c.cve_id)).scalars())
    after = {e.cve_id for e in catalog.entries}
    conn.execute(delete(T_KEV))
    rows = [
        {
            "cve_id": e.cve_id,
            "vendor_project": e.vendor_project,
            "product": e.product,
            "name": e.name,
            "date_added": e.date_added,
            "due_date": e.due_date,
            "required_action": e.required_action,
            "known_ransomware": e.known_ransomware,
            "catalog_version": catalog.catalog_version,
        }
        for e in catalog.entries
    ]
    for i in range(0, len(rows), _INSERT_BATCH):
        conn.execute(insert(T_KEV), rows[i : i + _INSERT_BATCH])
    return len(after - before), len(before - after)


def _kev(row: Any) -> StoredKev:
    return StoredKev(
        row.cve_id,
        row.vendor_project,
        row.product,
        row.name,
        row.date_added,
        row.due_date,
        row.required_action,
        row.known_ransomware,
        row.catalog_version,
    )


def load_kev(conn: Connection, cve_ids: Iterable[str] | None = None) -> list[StoredKev]:
    """The stored entries (of ``cve_ids`` only, when given), sorted by CVE id."""
    if cve_ids is None:
        return [_kev(r) for r in conn.execute(select(T_KEV).order_by(T_KEV.c.cve_id))]
    ids = sorted(set(cve_ids))
    out: list[StoredKev] = []
    for i in range(0, len(ids), _CHUNK):
        stmt = select(T_KEV).where(T_KEV.c.cve_id.in_(ids[i : i + _CHUNK])).order_by(T_KEV.c.cve_id)
        out += [_kev(r) for r in conn.execute(stmt)]
    return out


def kev_ids(conn: Connection) -> set[str]:
    return set(conn.execute(select(T_KEV.c.cve_id)).scalars())


def epss_score_date(conn: Connection) -> date | None:
    """The day of the stored scores (the newest one, should several be stored)."""
    value = conn.execute(select(func.max(T_EPSS.c.score_date))).scalar()
    if isinstance(value, str):  # SQLite's func.max() loses the column type
        return date.fromisoformat(value)
    return value if isinstance(value, date) else None


def replace_epss(conn: Connection, data: EpssFile) -> int:
    """Make ``data`` the stored day of scores; returns how many rows of the previous day were removed."""
    removed = conn.execute(delete(T_EPSS)).rowcount or 0
    rows = [
        {
            "cve_id": s.cve_id,
            "score": s.score,
            "percentile": s.percentile,
            "score_date": data.score_date,
            "model_version": data.model_version,
        }
        for s in data.scores
    ]
    for i in range(0, len(rows), _INSERT_BATCH):
        conn.execute(insert(T_EPSS), rows[i : i + _INSERT_BATCH])
    return int(removed)


def load_epss(conn: Connection, cve_ids: Iterable[str]) -> dict[str, StoredEpss]:
    """The stored scores of ``cve_ids`` (those that have one)."""
    ids = sorted(set(cve_ids))
    out: dict[str, StoredEpss] = {}
    for i in range(0, len(ids), _CHUNK):
        for r in conn.execute(select(T_EPSS).where(T_EPSS.c.cve_id.in_(ids[i : i + _CHUNK]))):
            out[r.cve_id] = StoredEpss(r.cve_id, r.score, r.percentile, r.score_date, r.model_version)
    return out
