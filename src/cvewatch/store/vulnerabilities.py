"""Reading and writing vulnerability records: upsert by CVE id keeping the newest ``lastModified``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Dialect, Table, delete, func, insert, select

from cvewatch.model.records import (
    ConfigNode,
    Configuration,
    CpeMatch,
    CvssMetric,
    Description,
    Reference,
    Vulnerability,
    vendor_product,
)
from cvewatch.store.models import (
    ConfigNodeRow,
    ConfigurationRow,
    CpeMatchRow,
    CvssMetricRow,
    ReferenceRow,
    VulnerabilityRow,
    WeaknessRow,
)

T_VULN: Table = VulnerabilityRow.__table__  # type: ignore[assignment]
T_METRIC: Table = CvssMetricRow.__table__  # type: ignore[assignment]
T_CWE: Table = WeaknessRow.__table__  # type: ignore[assignment]
T_REF: Table = ReferenceRow.__table__  # type: ignore[assignment]
T_CONF: Table = ConfigurationRow.__table__  # type: ignore[assignment]
T_NODE: Table = ConfigNodeRow.__table__  # type: ignore[assignment]
T_CPE: Table = CpeMatchRow.__table__  # type: ignore[assignment]
CHILD_TABLES = (T_CPE, T_NODE, T_CONF, T_REF, T_CWE, T_METRIC)


@dataclass
class UpsertStats:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def add(self, other: UpsertStats) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.rejected += other.rejected


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def upsert_batch(
    conn: Connection, batch: Sequence[Vulnerability], *, now: datetime | None = None
) -> UpsertStats:
    """Write ``batch`` in the caller's transaction: insert new ids, replace records whose
    ``last_modified`` is newer than the stored one, leave the others untouched."""
    return upsert_prepared(conn, prepare_batch(batch, conn.dialect.name), now=now)


#: Rows for each table of :data:`_INSERT_ORDER` (``vulnerabilities`` first), each in :data:`_COLUMNS` order.
_Rows = tuple[list[tuple[Any, ...]], ...]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch of records turned into the rows of every table, ready for :func:`upsert_prepared`.

    Built by :func:`prepare_batch`, possibly in another process (it pickles cheaply). For SQLite
    (``sqlite``) the rows hold what the driver stores (text for datetimes and JSON, 0/1 for booleans);
    otherwise Python values for SQLAlchemy. ``heads`` is, for the newest record of each id in the batch,
    its id, ``last_modified`` (UTC) and whether it is rejected. The ``vulnerabilities`` rows lack their last
    column, ``stored_at``: it is stamped when the rows are written.
    """

    sqlite: bool
    heads: tuple[tuple[str, datetime, bool], ...]
    rows: _Rows


def prepare_batch(batch: Sequence[Vulnerability], dialect: str) -> PreparedBatch:
    """The rows of ``batch`` for a store of ``dialect`` (a SQLAlchemy dialect name: ``"sqlite"``, ...):
    the newest record of each id (by ``last_modified``; the later one on a tie)."""
    newest: dict[str, Vulnerability] = {}
    for v in batch:
        seen = newest.get(v.id)
        if seen is None or _as_utc(v.last_modified) >= _as_utc(seen.last_modified):
            newest[v.id] = v
    records = list(newest.values())
    heads = tuple((v.id, _as_utc(v.last_modified), v.rejected) for v in records)
    sqlite = dialect == "sqlite"
    return PreparedBatch(sqlite, heads, _sqlite_rows(records) if sqlite else _python_rows(records))


def upsert_prepared(conn: Connection, prepared: PreparedBatch, *, now: datetime | None = None) -> UpsertStats:
    """:func:`upsert_batch` for rows made by :func:`prepare_batch` for this store's dialect."""
    if prepared.sqlite != (conn.dialect.name == "sqlite"):
        raise ValueError(f"rows prepared for another database than {conn.dialect.name}")
    stats = UpsertStats()
    heads = prepared.heads
    if not heads:
        return stats
    ids = [h[0] for h in heads]
    stored: dict[str, datetime] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for row in conn.execute(select(T_VULN.c.id, T_VULN.c.last_modified).where(T_VULN.c.id.in_(chunk))):
            stored[row.id] = row.last_modified
    replaced: list[str] = []
    skipped: set[str] = set()
    for cve_id, last_modified, rejected in heads:
        old = stored.get(cve_id)
        if old is None:
            stats.new += 1
        elif last_modified > old:
            stats.updated += 1
            replaced.append(cve_id)
        else:
            stats.unchanged += 1
            skipped.add(cve_id)
            continue
        if rejected:
            stats.rejected += 1
    for chunk_start in range(0, len(replaced), 500):
        chunk = replaced[chunk_start : chunk_start + 500]
        for table in CHILD_TABLES:
            conn.execute(delete(table).where(table.c.cve_id.in_(chunk)))
        conn.execute(delete(T_VULN).where(T_VULN.c.id.in_(chunk)))
    rows = prepared.rows
    if skipped:  # every row starts with its CVE id
        rows = tuple([r for r in table_rows if r[0] not in skipped] for table_rows in rows)
    stamp = now or datetime.now(UTC)
    stored_at: Any = stamp.isoformat(" ") if prepared.sqlite else stamp  # as sqlite3 adapts a datetime
    _insert_rows(conn, ([(*r, stored_at) for r in rows[0]], *rows[1:]))
    return stats


#: The columns written for each table, in the order of the tuples built by :func:`prepare_batch`.
_COLUMNS: dict[Table, tuple[str, ...]] = {
    T_VULN: (
        "id",
        "source_identifier",
        "published",
        "last_modified",
        "status",
        "descriptions",
        "cisa_kev",
        "stored_at",
    ),
    T_METRIC: ("cve_id", "ordinal", "version", "vector", "base_score", "base_severity", "source", "type"),
    T_CWE: ("cve_id", "ordinal", "cwe"),
    T_REF: ("cve_id", "ordinal", "url", "source", "tags"),
    T_CONF: ("cve_id", "ordinal", "operator", "negate"),
    T_NODE: ("cve_id", "config_ordinal", "ordinal", "operator", "negate"),
    T_CPE: (
        "cve_id",
        "config_ordinal",
        "node_ordinal",
        "ordinal",
        "criteria",
        "vendor",
        "product",
        "vulnerable",
        "version_start_including",
        "version_start_excluding",
        "version_end_including",
        "version_end_excluding",
        "match_criteria_id",
    ),
}
_INSERT_ORDER = (T_VULN, T_METRIC, T_CWE, T_REF, T_CONF, T_NODE, T_CPE)


def _python_rows(batch: Sequence[Vulnerability]) -> _Rows:
    """The rows of ``batch`` for every table of :data:`_INSERT_ORDER`, as Python values in :data:`_COLUMNS`
    order (``stored_at`` left out), for SQLAlchemy's bind processing."""
    vulns: list[tuple[Any, ...]] = []
    metrics: list[tuple[Any, ...]] = []
    cwes: list[tuple[Any, ...]] = []
    refs: list[tuple[Any, ...]] = []
    confs: list[tuple[Any, ...]] = []
    nodes: list[tuple[Any, ...]] = []
    cpes: list[tuple[Any, ...]] = []
    for v in batch:
        cid = v.id
        vulns.append(
            (
                cid,
                v.source_identifier,
                v.published,
                v.last_modified,
                v.status,
                [{"lang": d.lang, "value": d.value} for d in v.descriptions],
                v.cisa_kev,
            )
        )
        for i, m in enumerate(v.metrics):
            metrics.append((cid, i, m.version, m.vector, m.base_score, m.base_severity, m.source, m.type))
        for i, cwe in enumerate(v.weaknesses):
            cwes.append((cid, i, cwe))
        for i, r in enumerate(v.references):
            refs.append((cid, i, r.url, r.source, list(r.tags)))
        for ci, conf in enumerate(v.configurations):
            confs.append((cid, ci, conf.operator, conf.negate))
            for ni, node in enumerate(conf.nodes):
                nodes.append((cid, ci, ni, node.operator, node.negate))
                for mi, cm in enumerate(node.cpe_match):
                    vendor, product = vendor_product(cm.criteria)
                    cpes.append(
                        (
                            cid,
                            ci,
                            ni,
                            mi,
                            cm.criteria,
                            vendor,
                            product,
                            cm.vulnerable,
                            cm.version_start_including,
                            cm.version_start_excluding,
                            cm.version_end_including,
                            cm.version_end_excluding,
                            cm.match_criteria_id,
                        )
                    )
    return (vulns, metrics, cwes, refs, confs, nodes, cpes)


def _sqlite_rows(batch: Sequence[Vulnerability]) -> _Rows:
    """:func:`_python_rows` with the values SQLite stores, as SQLAlchemy's bind processors and the sqlite3
    adapters would make them: a datetime as ``isoformat(" ")``, JSON as text (orjson: read back alike by
    ``json.loads``, several times faster than ``json.dumps``), a boolean as 0/1, a score as a float."""
    dumps = orjson.dumps
    vulns: list[tuple[Any, ...]] = []
    metrics: list[tuple[Any, ...]] = []
    cwes: list[tuple[Any, ...]] = []
    refs: list[tuple[Any, ...]] = []
    confs: list[tuple[Any, ...]] = []
    nodes: list[tuple[Any, ...]] = []
    cpes: list[tuple[Any, ...]] = []
    add_metric, add_cwe, add_ref = metrics.append, cwes.append, refs.append
    add_conf, add_node, add_cpe = confs.append, nodes.append, cpes.append
    for v in batch:
        cid = v.id
        vulns.append(
            (
                cid,
                v.source_identifier,
                v.published.isoformat(" "),
                v.last_modified.isoformat(" "),
                v.status,
                dumps([{"lang": d.lang, "value": d.value} for d in v.descriptions]).decode(),
                1 if v.cisa_kev else 0,
            )
        )
        for i, m in enumerate(v.metrics):
            add_metric((cid, i, m.version, m.vector, float(m.base_score), m.base_severity, m.source, m.type))
        for i, cwe in enumerate(v.weaknesses):
            add_cwe((cid, i, cwe))
        for i, r in enumerate(v.references):
            add_ref((cid, i, r.url, r.source, dumps(r.tags).decode()))
        for ci, conf in enumerate(v.configurations):
            add_conf((cid, ci, conf.operator, 1 if conf.negate else 0))
            for ni, node in enumerate(conf.nodes):
                add_node((cid, ci, ni, node.operator, 1 if node.negate else 0))
                for mi, cm in enumerate(node.cpe_match):
                    criteria = cm.criteria
                    parts = criteria.split(":", 5)
                    if "\\" in criteria or len(parts) < 5:
                        vendor, product = vendor_product(criteria)
                    else:
                        vendor, product = parts[3].lower(), parts[4].lower()
                    add_cpe(
                        (
                            cid,
                            ci,
                            ni,
                            mi,
                            criteria,
                            vendor,
                            product,
                            1 if cm.vulnerable else 0,
                            cm.version_start_including,
                            cm.version_start_excluding,
                            cm.version_end_including,
                            cm.version_end_excluding,
                            cm.match_criteria_id,
                        )
                    )
    return (vulns, metrics, cwes, refs, confs, nodes, cpes)


_SQL: dict[tuple[str, str], str] = {}


def _insert_sql(dialect: Dialect, table: Table) -> str:
    """The driver-level INSERT of :data:`_COLUMNS` into ``table`` (qmark parameters), built once."""
    key = (dialect.name, table.name)
    sql = _SQL.get(key)
    if sql is None:
        prep = dialect.identifier_preparer
        names = _COLUMNS[table]
        sql = _SQL[key] = (
            f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(n) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})"
        )
    return sql


def _insert_rows(conn: Connection, rows: _Rows) -> None:
    """SQLite: the driver's ``executemany`` on the prepared tuples (no per-row work in Python). Other
    databases: SQLAlchemy's ``insertmanyvalues`` (multi-row ``VALUES``), much faster there than
    ``executemany``."""
    sqlite = conn.dialect.name == "sqlite"
    for table, table_rows in zip(_INSERT_ORDER, rows, strict=True):
        if not table_rows:
            continue
        if sqlite:
            conn.exec_driver_sql(_insert_sql(conn.dialect, table), table_rows)
        else:
            names = _COLUMNS[table]
            conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in table_rows])


def _group(conn: Connection, table: Table, ids: Sequence[str] | None) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    order = [c for c in table.primary_key.columns]
    stmt = select(table).order_by(*order)
    if ids is not None:
        stmt = stmt.where(table.c.cve_id.in_(ids))
    for row in conn.execute(stmt):
        out[row.cve_id].append(row)
    return out


def load_vulnerabilities(conn: Connection, ids: Sequence[str] | None = None) -> Iterator[Vulnerability]:
    """Rebuild :class:`Vulnerability` values from the store (all, or those in ``ids``), ordered by id."""
    if ids is not None:
        for start in range(0, len(ids), 500):
            yield from _load(conn, list(ids[start : start + 500]))
    else:
        yield from _load(conn, None)


def _load(conn: Connection, ids: list[str] | None) -> Iterator[Vulnerability]:
    stmt = select(T_VULN).order_by(T_VULN.c.id)
    if ids is not None:
        stmt = stmt.where(T_VULN.c.id.in_(ids))
    metrics = _group(conn, T_METRIC, ids)
    cwes = _group(conn, T_CWE, ids)
    refs = _group(conn, T_REF, ids)
    confs = _group(conn, T_CONF, ids)
    nodes = _group(conn, T_NODE, ids)
    cpes = _group(conn, T_CPE, ids)
    for row in conn.execute(stmt):
        cid = row.id
        node_cpes: dict[tuple[int, int], list[CpeMatch]] = defaultdict(list)
        for c in cpes.get(cid, ()):
            node_cpes[(c.config_ordinal, c.node_ordinal)].append(
                CpeMatch(
                    criteria=c.criteria,
                    vulnerable=c.vulnerable,
                    version_start_including=c.version_start_including,
                    version_start_excluding=c.version_start_excluding,
                    version_end_including=c.version_end_including,
                    version_end_excluding=c.version_end_excluding,
                    match_criteria_id=c.match_criteria_id,
                )
            )
        conf_nodes: dict[int, list[ConfigNode]] = defaultdict(list)
        for n in nodes.get(cid, ()):
            conf_nodes[n.config_ordinal].append(
                ConfigNode(
                    operator=n.operator,
                    negate=n.negate,
                    cpe_match=tuple(node_cpes.get((n.config_ordinal, n.ordinal), ())),
                )
            )
        yield Vulnerability(
            id=cid,
            published=row.published,
            last_modified=row.last_modified,
            status=row.status,
            source_identifier=row.source_identifier,
            descriptions=tuple(Description(d["lang"], d["value"]) for d in row.descriptions),
            metrics=tuple(
                CvssMetric(m.version, m.vector, m.base_score, m.base_severity, m.source, m.type)
                for m in metrics.get(cid, ())
            ),
            weaknesses=tuple(w.cwe for w in cwes.get(cid, ())),
            references=tuple(Reference(r.url, r.source, tuple(r.tags)) for r in refs.get(cid, ())),
            configurations=tuple(
                Configuration(
                    nodes=tuple(conf_nodes.get(c.ordinal, ())), operator=c.operator, negate=c.negate
                )
                for c in confs.get(cid, ())
            ),
            cisa_kev=row.cisa_kev,
        )


def upsert_all(conn: Connection, records: Iterable[Vulnerability], batch_size: int = 2000) -> UpsertStats:
    total = UpsertStats()
    batch: list[Vulnerability] = []
    for v in records:
        batch.append(v)
        if len(batch) >= batch_size:
            total.add(upsert_batch(conn, batch))
            batch = []
    if batch:
        total.add(upsert_batch(conn, batch))
    return total


def cves_naming(
    conn: Connection, pairs: Iterable[tuple[str, str]] = (), products: Iterable[str] = ()
) -> set[str]:
    """Ids of the CVEs with a vulnerable criterion naming one of the (vendor, product) ``pairs``, or one of
    the ``products`` under any vendor. One indexed lookup per product (the index leads with the product);
    the vendors of ``pairs`` are checked here."""
    pair_set, product_set = set(pairs), set(products)
    wanted = sorted(product_set | {p for _, p in pair_set})
    c = T_CPE.c
    out: set[str] = set()
    for start in range(0, len(wanted), 500):
        stmt = select(c.cve_id, c.vendor, c.product).where(
            c.product.in_(wanted[start : start + 500]), c.vulnerable.is_(True)
        )
        for cve, vendor, product in conn.execute(stmt).cursor.fetchall():
            if product in product_set or (vendor, product) in pair_set:
                out.add(cve)
    return out


def seen_cpe_names(conn: Connection) -> dict[str, dict[str, int]]:
    """product -> vendor -> number of CVEs with a vulnerable criterion naming vendor:product."""
    stmt = (
        select(T_CPE.c.product, T_CPE.c.vendor, func.count(func.distinct(T_CPE.c.cve_id)))
        .where(T_CPE.c.vulnerable.is_(True))
        .group_by(T_CPE.c.product, T_CPE.c.vendor)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for product, vendor, count in conn.execute(stmt):
        out[product][vendor] = int(count)
    return dict(out)
