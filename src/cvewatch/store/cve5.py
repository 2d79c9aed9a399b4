"""CVE JSON 5 records in the store: upsert by CVE id keeping the newest ``dateUpdated``.

A record's header is one ``cve5_records`` row; its ``affected[]`` entries (of the CNA and of every ADP) are
``cna_affected`` rows keyed by ``(cve_id, ordinal)``, replaced as a whole when the record is updated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, or_, select

from cvewatch.model.cve5 import (
    AffectedEntry,
    AffectedVersion,
    Cve5Metric,
    Cve5Record,
    VersionChange,
    name_key,
)
from cvewatch.store.models import CnaAffectedRow, Cve5RecordRow
from cvewatch.store.vulnerabilities import UpsertStats

__all__ = [
    "T_AFFECTED",
    "T_CVE5",
    "count_cve5",
    "cves_naming_cna",
    "find_affected",
    "load_cve5",
    "upsert_cve5",
]

T_CVE5: Table = Cve5RecordRow.__table__  # type: ignore[assignment]
T_AFFECTED: Table = CnaAffectedRow.__table__  # type: ignore[assignment]
_CHUNK = 400


#: sorts before every date (a record without ``dateUpdated``)
_NEVER = datetime.min.replace(tzinfo=UTC)


def _version_json(v: AffectedVersion) -> dict[str, Any]:
    out: dict[str, Any] = {"version": v.version, "status": v.status}
    if v.less_than is not None:
        out["lessThan"] = v.less_than
    if v.less_than_or_equal is not None:
        out["lessThanOrEqual"] = v.less_than_or_equal
    if v.version_type is not None:
        out["versionType"] = v.version_type
    if v.changes:
        out["changes"] = [{"at": c.at, "status": c.status} for c in v.changes]
    return out


def _version_from(d: dict[str, Any]) -> AffectedVersion:
    return AffectedVersion(
        version=d["version"],
        status=d["status"],
        less_than=d.get("lessThan"),
        less_than_or_equal=d.get("lessThanOrEqual"),
        version_type=d.get("versionType"),
        changes=tuple(VersionChange(c["at"], c["status"]) for c in d.get("changes", ())),
    )


def _header(r: Cve5Record, stored_at: datetime) -> dict[str, Any]:
    return {
        "cve_id": r.cve_id,
        "state": r.state,
        "assigner": r.assigner,
        "date_published": r.date_published,
        "date_updated": r.date_updated,
        "title": r.title,
        "description": r.description,
        "metrics": [
            {
                "source": m.source,
                "version": m.version,
                "vector": m.vector,
                "base_score": m.base_score,
                "base_severity": m.base_severity,
            }
            for m in r.metrics
        ],
        "problem_types": list(r.problem_types),
        "stored_at": stored_at,
    }


def _affected_rows(r: Cve5Record) -> list[dict[str, Any]]:
    return [
        {
            "cve_id": r.cve_id,
            "ordinal": i,
            "container": a.container,
            "vendor": a.vendor,
            "product": a.product,
            "package_name": a.package_name,
            "vendor_key": name_key(a.vendor) or None,
            "product_key": name_key(a.product) or None,
            "package_key": a.package_name.lower() if a.package_name else None,
            "collection_url": a.collection_url,
            "default_status": a.default_status,
            "versions": [_version_json(v) for v in a.versions],
            "cpes": list(a.cpes),
        }
        for i, a in enumerate(r.affected)
    ]


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def upsert_cve5(conn: Connection, records: Iterable[Cve5Record]) -> UpsertStats:
    """Write ``records``: a new CVE is inserted; a stored one is replaced (header and affected rows) only
    when the incoming ``dateUpdated`` is newer. Within the batch, the newest record of a CVE wins.
    ``rejected`` counts the records (written or not) whose state is REJECTED."""
    newest: dict[str, Cve5Record] = {}
    for r in records:
        old = newest.get(r.cve_id)
        if old is None or (r.date_updated or _NEVER) >= (old.date_updated or _NEVER):
            newest[r.cve_id] = r
    stats = UpsertStats()
    if not newest:
        return stats
    ids = sorted(newest)
    stored: dict[str, datetime | None] = {}
    for chunk in _chunks(ids):
        for cve, updated in conn.execute(
            select(T_CVE5.c.cve_id, T_CVE5.c.date_updated).where(T_CVE5.c.cve_id.in_(chunk))
        ):
            stored[cve] = updated
    write: list[Cve5Record] = []
    replace: list[str] = []
    for cve in ids:
        r = newest[cve]
        if r.rejected:
            stats.rejected += 1
        if cve not in stored:
            stats.new += 1
            write.append(r)
            continue
        old_updated, new_updated = stored[cve], r.date_updated
        if new_updated is not None and (old_updated is None or new_updated > old_updated):
            stats.updated += 1
            write.append(r)
            replace.append(cve)
        else:
            stats.unchanged += 1
    for chunk in _chunks(replace):
        conn.execute(delete(T_AFFECTED).where(T_AFFECTED.c.cve_id.in_(chunk)))
        conn.execute(delete(T_CVE5).where(T_CVE5.c.cve_id.in_(chunk)))
    if write:
        now = datetime.now(UTC)
        conn.execute(insert(T_CVE5), [_header(r, now) for r in write])
        rows = [row for r in write for row in _affected_rows(r)]
        if rows:
            conn.execute(insert(T_AFFECTED), rows)
    return stats


def _entry(row: Any) -> AffectedEntry:
    return AffectedEntry(
        container=row.container,
        vendor=row.vendor,
        product=row.product,
        package_name=row.package_name,
        collection_url=row.collection_url,
        default_status=row.default_status,
        versions=tuple(_version_from(v) for v in row.versions or ()),
        cpes=tuple(row.cpes or ()),
    )


def load_cve5(conn: Connection, cve_ids: Iterable[str]) -> list[Cve5Record]:
    """The stored records of ``cve_ids`` (those that exist), sorted by CVE id."""
    ids = sorted(set(cve_ids))
    headers: dict[str, Any] = {}
    affected: dict[str, list[AffectedEntry]] = {}
    for chunk in _chunks(ids):
        for row in conn.execute(select(T_CVE5).where(T_CVE5.c.cve_id.in_(chunk))):
            headers[row.cve_id] = row
        stmt = (
            select(T_AFFECTED)
            .where(T_AFFECTED.c.cve_id.in_(chunk))
            .order_by(T_AFFECTED.c.cve_id, T_AFFECTED.c.ordinal)
        )
        for row in conn.execute(stmt):
            affected.setdefault(row.cve_id, []).append(_entry(row))
    out: list[Cve5Record] = []
    for cve in sorted(headers):
        h = headers[cve]
        out.append(
            Cve5Record(
                cve_id=h.cve_id,
                state=h.state,
                assigner=h.assigner,
                date_published=h.date_published,
                date_updated=h.date_updated,
                title=h.title,
                description=h.description,
                metrics=tuple(
                    Cve5Metric(m["source"], m["version"], m["vector"], m["base_score"], m["base_severity"])
                    for m in h.metrics or ()
                ),
                problem_types=tuple(h.problem_types or ()),
                affected=tuple(affected.get(cve, ())),
            )
        )
    return out


def find_affected(
    conn: Connection,
    *,
    package_name: str | None = None,
    vendor: str | None = None,
    product: str | None = None,
) -> list[tuple[str, AffectedEntry]]:
    """The ``(cve_id, entry)`` pairs whose package name, or vendor and/or product, match (case-insensitive,
    whitespace in names as ``_``), sorted by CVE id and ordinal. At least one criterion is needed."""
    conds = []
    if package_name is not None:
        conds.append(T_AFFECTED.c.package_key == package_name.lower())
    if vendor is not None:
        conds.append(T_AFFECTED.c.vendor_key == name_key(vendor))
    if product is not None:
        conds.append(T_AFFECTED.c.product_key == name_key(product))
    if not conds:
        raise ValueError("find_affected needs a package_name, a vendor or a product")
    stmt = select(T_AFFECTED).where(*conds).order_by(T_AFFECTED.c.cve_id, T_AFFECTED.c.ordinal)
    return [(row.cve_id, _entry(row)) for row in conn.execute(stmt)]


def cves_naming_cna(
    conn: Connection,
    *,
    names: Iterable[str] = (),
    vendor_products: Iterable[tuple[str, str]] = (),
    vendors: Iterable[str] = (),
    modules: Iterable[str] = (),
) -> set[str]:
    """Ids of the CVE JSON 5 records with an affected entry whose product or packageName is one of
    ``names``, whose (vendor, product) is one of ``vendor_products``, whose vendor is one of ``vendors``,
    or whose packageName is one of ``modules`` or inside one (``module/...``). Keys as :func:`name_key`
    makes them; every lookup is an index lookup."""
    c = T_AFFECTED.c
    out: set[str] = set()

    def ids(stmt: Any) -> None:
        out.update(conn.execute(stmt).scalars())

    name_list = sorted(set(names))
    for chunk in _chunks(name_list):
        ids(select(c.cve_id).where(c.product_key.in_(chunk)).distinct())
        ids(select(c.cve_id).where(c.package_key.in_(chunk)).distinct())
    pairs = set(vendor_products)
    for chunk in _chunks(sorted({p for _, p in pairs})):
        rows = conn.execute(select(c.cve_id, c.vendor_key, c.product_key).where(c.product_key.in_(chunk)))
        out.update(cve for cve, v, p in rows if (v, p) in pairs)
    for chunk in _chunks(sorted(set(vendors))):
        ids(select(c.cve_id).where(c.vendor_key.in_(chunk)).distinct())
    module_list = sorted(set(modules))
    for chunk in _chunks(module_list):
        ids(select(c.cve_id).where(c.package_key.in_(chunk)).distinct())
    for start in range(0, len(module_list), 100):  # "m/..." is the key range ["m/", "m0"): "0" follows "/"
        ranges = [
            (c.package_key >= m + "/") & (c.package_key < m + "0") for m in module_list[start : start + 100]
        ]
        ids(select(c.cve_id).where(or_(*ranges)).distinct())
    return out


def count_cve5(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(T_CVE5)).scalar_one())
