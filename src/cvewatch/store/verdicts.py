"""Reading and writing verdicts for a (release, image) scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, delete, insert, select

from cvewatch.matching.verdict import CvssSummary, Evidence, Severity, Status, Verdict
from cvewatch.store.inventory import image_id, release_id
from cvewatch.store.models import VerdictRow

T_VERDICT: Table = VerdictRow.__table__  # type: ignore[assignment]


def _scope(conn: Connection, release: str, image: str | None) -> tuple[int, int | None]:
    rid = release_id(conn, release)
    iid = image_id(conn, image)[0] if image else None
    return rid, iid


def _scope_filter(rid: int, iid: int | None):  # type: ignore[no-untyped-def]
    c = T_VERDICT.c
    return (c.release_id == rid) & (c.image_id.is_(None) if iid is None else c.image_id == iid)


def replace_verdicts(
    conn: Connection,
    release: str,
    image: str | None,
    verdicts: Iterable[Verdict],
    *,
    only_cves: Sequence[str] | None = None,
    only_packages: Sequence[str] | None = None,
) -> int:
    """Store ``verdicts`` for the scope. With ``only_cves``/``only_packages`` (an incremental rescan),
    only the verdicts of those CVEs or packages are replaced; otherwise the whole scope is."""
    rid, iid = _scope(conn, release, image)
    where = _scope_filter(rid, iid)
    c = T_VERDICT.c
    if only_cves is None and only_packages is None:
        conn.execute(delete(T_VERDICT).where(where))
    else:
        for start in range(0, len(only_cves or ()), 500):
            conn.execute(
                delete(T_VERDICT).where(where & c.cve_id.in_(list(only_cves or ())[start : start + 500]))
            )
        for start in range(0, len(only_packages or ()), 500):
            chunk = list(only_packages or ())[start : start + 500]
            conn.execute(delete(T_VERDICT).where(where & c.package.in_(chunk)))
    now = datetime.now(UTC)
    rows = [
        {
            "cve_id": v.cve,
            "package": v.package,
            "release_id": rid,
            "image_id": iid,
            "version": v.version,
            "status": v.status.value,
            "fixed_in": v.fixed_in,
            "severity": v.severity.value,
            "cvss": v.to_json()["cvss"],
            "evidence": [{"kind": e.kind, "detail": e.detail} for e in v.evidence],
            "scanned_at": now,
        }
        for v in verdicts
    ]
    for start in range(0, len(rows), 2000):
        conn.execute(insert(T_VERDICT), rows[start : start + 2000])
    return len(rows)


def load_verdicts(conn: Connection, release: str, image: str | None = None) -> list[Verdict]:
    rid, iid = _scope(conn, release, image)
    stmt = select(T_VERDICT).where(_scope_filter(rid, iid)).order_by(T_VERDICT.c.cve_id, T_VERDICT.c.package)
    out = []
    for r in conn.execute(stmt):
        cv = r.cvss
        out.append(
            Verdict(
                cve=r.cve_id,
                package=r.package,
                release=release,
                image=image,
                version=r.version,
                status=Status(r.status),
                fixed_in=r.fixed_in,
                severity=Severity(r.severity),
                cvss=None
                if cv is None
                else CvssSummary(cv["version"], cv["score"], cv["vector"], cv["source"]),
                evidence=tuple(Evidence(e["kind"], e["detail"]) for e in r.evidence),
            )
        )
    return out
