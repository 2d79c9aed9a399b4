"""The read path of a scan: just what the matcher needs of each CVE, fast.

A verdict depends on a CVE's status, CVSS assessments and configurations, never on its descriptions,
references or weaknesses; this loader leaves those out (the returned records have them empty). Publishing
reads whole records with :func:`cvewatch.store.vulnerabilities.load_vulnerabilities`.

So that a scan of tens of thousands of candidate CVEs is not dominated by the database layer and Python's
object machinery:

* the statements are plain SQL run through the driver (``exec_driver_sql``), built once per dialect, with
  one parameter holding all the ids of a chunk (SQLite: a JSON array read by ``json_each``; PostgreSQL: an
  array joined through ``unnest``): nothing is compiled per chunk, so chunks can be large (other databases
  get an expanding ``IN``, compiled per chunk);
* four statements per chunk, each served by primary keys that lead with the CVE id: the records; their
  metrics; their configurations joined with their nodes; their cpe matches -- the last three in key
  order, so that the rows of one node (configuration, CVE) follow each other and each statement is
  folded in one pass, fetched a batch at a time as plain tuples, into the tuples the next one attaches
  to their parents;
* the records are frozen slotted dataclasses, whose ``__init__`` sets each field through
  ``object.__setattr__``: they are built instead as a "draft" (a plain class with the same slots) whose
  slots are set directly and whose ``__class__`` is then switched to the dataclass, which makes the very
  object ``__init__`` would (same type, fields, ``==``, hash, repr, pickling) at about a quarter of the
  cost;
* the cyclic garbage collector is paused meanwhile (and then left as it was): the million new objects
  hold no cycles, and the collections their allocation would set off cost as much as all the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, text

from cvewatch.gcpause import gc_paused
from cvewatch.model.records import ConfigNode, Configuration, CpeMatch, CvssMetric, Vulnerability
from cvewatch.store.types import from_store
from cvewatch.store.vulnerabilities import T_CONF, T_CPE, T_METRIC, T_NODE, T_VULN

CHUNK = 10_000  # ids per statement
BATCH = 1_000  # rows per fetch
_BOOL = (False, True)  # SQLite gives 0/1, PostgreSQL a bool: both index this


def _draft(cls: Any, names: tuple[str, ...]) -> type:
    """A plain class with the slots of ``cls``: an instance whose slots are all set and whose ``__class__``
    is then set to ``cls`` is what ``cls(...)`` makes, for ``cls`` a slotted dataclass whose fields are
    ``names`` (the ones this module sets, checked here) and whose ``__init__`` only sets them. The memory
    layouts agree, or CPython refuses the switch: checked here too."""
    fields = tuple(f.name for f in dataclasses.fields(cls))
    if not (names == fields == getattr(cls, "__slots__", None)) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} no longer has just the slotted fields {names}")
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": names})
    probe: Any = object.__new__(draft)
    probe.__class__ = cls
    return draft


_CvssMetricDraft = _draft(CvssMetric, ("version", "vector", "base_score", "base_severity", "source", "type"))
_CpeMatchDraft = _draft(
    CpeMatch,
    (
        "criteria",
        "vulnerable",
        "version_start_including",
        "version_start_excluding",
        "version_end_including",
        "version_end_excluding",
        "match_criteria_id",
    ),
)
_ConfigNodeDraft = _draft(ConfigNode, ("operator", "negate", "cpe_match"))
_ConfigurationDraft = _draft(Configuration, ("nodes", "operator", "negate"))
_VulnerabilityDraft = _draft(
    Vulnerability,
    (
        "id",
        "published",
        "last_modified",
        "status",
        "source_identifier",
        "descriptions",
        "metrics",
        "weaknesses",
        "references",
        "configurations",
        "cisa_kev",
    ),
)


#: How a statement takes all the ids of a chunk as one parameter, by dialect: SQLite reads a JSON array with
#: ``json_each``; PostgreSQL joins ``unnest`` of an array (with ``= ANY`` instead it may scan whole tables:
#: it cannot see how few ids there are); on other databases SQLAlchemy expands ``:ids``, one per id.
_ONE_PARAMETER = {"sqlite": "IN (SELECT value FROM json_each(?1))", "postgresql": "unnest"}
_SQL: dict[str, tuple[str, str, str, str]] = {}


def _statements(conn: Connection) -> tuple[str, str, str, str]:
    """For ``conn``'s dialect, the rows for the ids of the parameter ``ids``: of the records; of their
    metrics; of their configurations, each with each of its nodes (node columns NULL when it has none); of
    their cpe matches; the last three in primary key order."""
    dialect = conn.dialect.name
    sql = _SQL.get(dialect)
    if sql is not None:
        return sql
    cond = _ONE_PARAMETER.get(dialect, "IN :ids")
    prep = conn.dialect.identifier_preparer

    def col(alias: str, table: Table, name: str) -> str:
        return f"{alias}.{prep.quote(table.c[name].name)}"

    def cols(alias: str, table: Table, *names: str) -> str:
        return ", ".join(col(alias, table, n) for n in names)

    def wanted(alias: str, table: Table, key: str) -> tuple[str, str]:
        """(FROM clause, WHERE condition) selecting the rows of ``table`` whose ``key`` is one of the ids."""
        name = f"{prep.format_table(table)} {alias}"
        if cond == "unnest":
            return f"unnest(%(ids)s::text[]) AS w(id) JOIN {name} ON {col(alias, table, key)} = w.id", "TRUE"
        return name, f"{col(alias, table, key)} {cond}"

    v_from, v_where = wanted("v", T_VULN, "id")
    vulns = (
        f"SELECT {cols('v', T_VULN, 'id', 'published', 'last_modified', 'status', 'source_identifier')}, "
        f"{col('v', T_VULN, 'cisa_kev')} FROM {v_from} WHERE {v_where}"
    )
    m_from, m_where = wanted("m", T_METRIC, "cve_id")
    metrics = (
        f"SELECT {cols('m', T_METRIC, 'cve_id', 'version', 'vector', 'base_score', 'base_severity')}, "
        f"{cols('m', T_METRIC, 'source', 'type')} FROM {m_from} "
        f"WHERE {m_where} ORDER BY {cols('m', T_METRIC, 'cve_id', 'ordinal')}"
    )
    c_from, c_where = wanted("c", T_CONF, "cve_id")
    confs = (
        f"SELECT {cols('c', T_CONF, 'cve_id', 'ordinal', 'operator', 'negate')}, "
        f"{cols('n', T_NODE, 'ordinal', 'operator', 'negate')} FROM {c_from} "
        f"LEFT JOIN {prep.format_table(T_NODE)} n "
        f"ON {col('n', T_NODE, 'cve_id')} = {col('c', T_CONF, 'cve_id')} "
        f"AND {col('n', T_NODE, 'config_ordinal')} = {col('c', T_CONF, 'ordinal')} "
        f"WHERE {c_where} "
        f"ORDER BY {cols('c', T_CONF, 'cve_id', 'ordinal')}, {col('n', T_NODE, 'ordinal')}"
    )
    p_from, p_where = wanted("p", T_CPE, "cve_id")
    cpes = (
        f"SELECT {cols('p', T_CPE, 'cve_id', 'config_ordinal', 'node_ordinal', 'criteria', 'vulnerable')}, "
        f"{cols('p', T_CPE, 'version_start_including', 'version_start_excluding')}, "
        f"{cols('p', T_CPE, 'version_end_including', 'version_end_excluding', 'match_criteria_id')} "
        f"FROM {p_from} WHERE {p_where} "
        f"ORDER BY {cols('p', T_CPE, 'cve_id', 'config_ordinal', 'node_ordinal', 'ordinal')}"
    )
    sql = _SQL[dialect] = (vulns, metrics, confs, cpes)
    return sql


def _batches(conn: Connection, sql: str, chunk: list[str]) -> Iterator[Sequence[Any]]:
    """The rows of ``sql`` for the ids of ``chunk`` as the driver gives them, a batch at a time (built while
    still in the CPU's caches, and freed as soon as they are folded)."""
    dialect = conn.dialect.name
    if dialect not in _ONE_PARAMETER:
        result = conn.execute(text(sql).bindparams(bindparam("ids", expanding=True)), {"ids": chunk})
    elif dialect == "sqlite":
        result = conn.exec_driver_sql(sql, (orjson.dumps(chunk).decode(),))
    else:
        result = conn.exec_driver_sql(sql, {"ids": chunk})
    try:
        fetch = result.cursor.fetchmany
        while rows := fetch(BATCH):
            yield rows
    finally:
        result.close()


def load_for_matching(conn: Connection, ids: Iterable[str]) -> dict[str, Vulnerability]:
    """The records of ``ids`` that exist, in id order, without descriptions, references and weaknesses."""
    wanted = sorted(set(ids))
    out: dict[str, Vulnerability] = {}
    if not wanted:
        return out
    with gc_paused():
        for start in range(0, len(wanted), CHUNK):
            _load_chunk(conn, wanted[start : start + CHUNK], out)
    return out


#: (CVE id, configuration ordinal, node ordinal) -> the node's cpe matches
_Matches = dict[tuple[str, int, int], tuple[CpeMatch, ...]]


def _load_chunk(conn: Connection, chunk: list[str], out: dict[str, Vulnerability]) -> None:
    """Add the records of the ids of ``chunk`` (sorted) to ``out``, in that order: each statement folded
    into what the next attaches to its parents (a fold is called once a chunk; its loop is the cost)."""
    vulns_sql, metrics_sql, confs_sql, cpes_sql = _statements(conn)
    metrics = _metrics(conn, metrics_sql, chunk)
    confs = _configurations(conn, confs_sql, chunk, _matches(conn, cpes_sql, chunk))
    built = _records(conn, vulns_sql, chunk, metrics, confs)
    for cve in chunk:
        vuln = built.get(cve)
        if vuln is not None:
            out[cve] = vuln


def _metrics(conn: Connection, sql: str, chunk: list[str]) -> dict[str, list[CvssMetric]]:
    """CVE id -> its CVSS metrics, in order."""
    new = object.__new__
    m: Any  # a draft, then its dataclass
    metrics: dict[str, list[CvssMetric]] = {}
    for rows in _batches(conn, sql, chunk):
        for cve, version, vector, score, severity, source, kind in rows:
            m = new(_CvssMetricDraft)
            m.version = version
            m.vector = vector
            m.base_score = score
            m.base_severity = severity
            m.source = source
            m.type = kind
            m.__class__ = CvssMetric
            found = metrics.get(cve)
            if found is None:
                metrics[cve] = [m]
            else:
                found.append(m)
    return metrics


def _matches(conn: Connection, sql: str, chunk: list[str]) -> _Matches:
    """(CVE id, configuration, node) -> the node's cpe matches. Rows come in key order: the rows of one
    node follow each other, so each node's matches are gathered in one pass."""
    new = object.__new__
    boolean = _BOOL
    m: Any
    matches: _Matches = {}
    run: list[Any] = []
    pcve, pci, pni = "", -1, -1
    for rows in _batches(conn, sql, chunk):
        for cve, ci, ni, crit, vul, vsi, vse, vei, vee, mcid in rows:
            if ni != pni or ci != pci or cve != pcve:
                if run:
                    matches[(pcve, pci, pni)] = tuple(run)
                run = []
                pcve, pci, pni = cve, ci, ni
            m = new(_CpeMatchDraft)
            m.criteria = crit
            m.vulnerable = boolean[vul]
            m.version_start_including = vsi
            m.version_start_excluding = vse
            m.version_end_including = vei
            m.version_end_excluding = vee
            m.match_criteria_id = mcid
            m.__class__ = CpeMatch
            run.append(m)
    if run:
        matches[(pcve, pci, pni)] = tuple(run)
    return matches


def _configurations(
    conn: Connection, sql: str, chunk: list[str], matches: _Matches
) -> dict[str, tuple[Configuration, ...]]:
    """CVE id -> its configurations, each with its nodes and their matches (rows in key order, as for
    :func:`_matches`)."""
    new = object.__new__
    boolean = _BOOL
    m: Any
    confs: dict[str, tuple[Configuration, ...]] = {}
    cve_confs: list[Any] = []
    conf_nodes: list[Any] = []
    conf: Any = None  # the configuration being read: a draft until all its nodes are read
    pcve, pci = "", -1
    for rows in _batches(conn, sql, chunk):
        for cve, ci, cop, cneg, ni, nop, nneg in rows:
            if ci != pci or cve != pcve:
                if conf is not None:
                    conf.nodes = tuple(conf_nodes)
                    conf.__class__ = Configuration
                    if cve != pcve:
                        confs[pcve] = tuple(cve_confs)
                        cve_confs = []
                conf = new(_ConfigurationDraft)
                conf.operator = cop
                conf.negate = boolean[cneg]
                cve_confs.append(conf)
                conf_nodes = []
                pcve, pci = cve, ci
            if ni is not None:  # else a configuration without nodes
                m = new(_ConfigNodeDraft)
                m.operator = nop
                m.negate = boolean[nneg]
                m.cpe_match = matches.get((cve, ci, ni), ())
                m.__class__ = ConfigNode
                conf_nodes.append(m)
    if conf is not None:
        conf.nodes = tuple(conf_nodes)
        conf.__class__ = Configuration
        confs[pcve] = tuple(cve_confs)
    return confs


def _records(
    conn: Connection,
    sql: str,
    chunk: list[str],
    metrics: dict[str, list[CvssMetric]],
    confs: dict[str, tuple[Configuration, ...]],
) -> dict[str, Vulnerability]:
    """CVE id -> its record, with its metrics and configurations (the times aware, in UTC)."""
    new = object.__new__
    boolean = _BOOL
    fromiso = datetime.fromisoformat
    m: Any
    built: dict[str, Vulnerability] = {}
    for rows in _batches(conn, sql, chunk):
        for cve, published, modified, status, source, kev in rows:
            if published.__class__ is str:  # SQLite: the ISO text SQLAlchemy would parse
                published = fromiso(published)
                modified = fromiso(modified)
            m = new(_VulnerabilityDraft)
            m.id = cve
            m.published = published if published.tzinfo is UTC else from_store(published)
            m.last_modified = modified if modified.tzinfo is UTC else from_store(modified)
            m.status = status
            m.source_identifier = source
            m.descriptions = ()
            found = metrics.get(cve)
            m.metrics = tuple(found) if found else ()
            m.weaknesses = ()
            m.references = ()
            m.configurations = confs.get(cve, ())
            m.cisa_kev = boolean[kev]
            m.__class__ = Vulnerability
            built[cve] = m
    return built
