"""Reading and writing triage records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Table, insert, or_, select

from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Status
from cvewatch.store.inventory import T_RELEASE, release_id
from cvewatch.store.models import TriageRecordRow

T_TRIAGE_RECORD: Table = TriageRecordRow.__table__  # type: ignore[assignment]


def add_triage(conn: Connection, record: TriageRecord) -> int:
    rid = release_id(conn, record.release) if record.release else None
    res = conn.execute(
        insert(T_TRIAGE_RECORD).values(
            cve_id=record.cve,
            package=record.package,
            release_id=rid,
            status=record.status.value,
            justification=record.justification,
            fixed_in=record.fixed_in,
            detail=record.detail,
            author=record.author,
            created_at=record.created_at,
        )
    )
    return int(res.inserted_primary_key[0])  # type: ignore[index]


def load_triage(conn: Connection, release: str | None = None) -> dict[tuple[str, str], TriageRecord]:
    """The newest triage record per (CVE, package) that applies to ``release`` (or to every release).

    A record for the release itself wins over one for every release."""
    t = T_TRIAGE_RECORD
    stmt = select(t, T_RELEASE.c.name.label("release_name")).join(
        T_RELEASE, T_RELEASE.c.id == t.c.release_id, isouter=True
    )
    if release is not None:
        stmt = stmt.where(or_(t.c.release_id.is_(None), t.c.release_id == release_id(conn, release)))
    out: dict[tuple[str, str], TriageRecord] = {}
    rank: dict[tuple[str, str], tuple[int, datetime]] = {}
    for r in conn.execute(stmt.order_by(t.c.created_at, t.c.id)):
        rec = TriageRecord(
            cve=r.cve_id,
            package=r.package,
            status=Status(r.status),
            author=r.author,
            created_at=r.created_at,
            release=r.release_name,
            justification=r.justification,
            fixed_in=r.fixed_in,
            detail=r.detail,
        )
        key = (r.cve_id, r.package)
        order = (1 if r.release_id is not None else 0, r.created_at)
        if key not in rank or order >= rank[key]:
            rank[key] = order
            out[key] = rec
    return out
