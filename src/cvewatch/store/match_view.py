"""The read path of a scan: just what the matcher needs of each CVE, fast.

A verdict depends on a CVE's status, CVSS assessments and configurations, never on its descriptions,
references or weaknesses; this loader leaves those out (the returned records have them empty) and reads
each table once per chunk of ids, as plain tuples in key order, so that a scan of tens of thousands of
candidate CVEs is not dominated by the database layer. Publishing reads whole records with
:func:`cvewatch.store.vulnerabilities.load_vulnerabilities`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Select, select

from cvewatch.sources.records import ConfigNode, Configuration, CpeMatch, CvssMetric, Vulnerability
from cvewatch.store.vulnerabilities import T_CONF, T_CPE, T_METRIC, T_NODE, T_VULN

CHUNK = 900


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _raw(conn: Connection, stmt: Select[Any]) -> list[tuple[Any, ...]]:
    """Rows as the driver gives them (no per-row result processing: the columns read this way are plain
    numbers and strings)."""
    return list(conn.execute(stmt).cursor.fetchall())


def load_for_matching(conn: Connection, ids: Iterable[str]) -> dict[str, Vulnerability]:
    """The records of ``ids`` that exist, without descriptions, references and weaknesses."""
    wanted = sorted(set(ids))
    out: dict[str, Vulnerability] = {}
    v, m, c, n, p = T_VULN.c, T_METRIC.c, T_CONF.c, T_NODE.c, T_CPE.c
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        metrics: dict[str, list[CvssMetric]] = defaultdict(list)
        for row in _raw(
            conn,
            select(m.cve_id, m.version, m.vector, m.base_score, m.base_severity, m.source, m.type)
            .where(m.cve_id.in_(chunk))
            .order_by(m.cve_id, m.ordinal),
        ):
            metrics[row[0]].append(CvssMetric(row[1], row[2], row[3], row[4], row[5], row[6]))
        matches: dict[tuple[str, int, int], list[CpeMatch]] = defaultdict(list)
        for crow in _raw(
            conn,
            select(
                p.cve_id,
                p.config_ordinal,
                p.node_ordinal,
                p.criteria,
                p.vulnerable,
                p.version_start_including,
                p.version_start_excluding,
                p.version_end_including,
                p.version_end_excluding,
                p.match_criteria_id,
            )
            .where(p.cve_id.in_(chunk))
            .order_by(p.cve_id, p.config_ordinal, p.node_ordinal, p.ordinal),
        ):
            matches[(crow[0], crow[1], crow[2])].append(
                CpeMatch(crow[3], bool(crow[4]), crow[5], crow[6], crow[7], crow[8], crow[9])
            )
        nodes: dict[tuple[str, int], list[ConfigNode]] = defaultdict(list)
        for cve, ci, ni, op, neg in _raw(
            conn,
            select(n.cve_id, n.config_ordinal, n.ordinal, n.operator, n.negate)
            .where(n.cve_id.in_(chunk))
            .order_by(n.cve_id, n.config_ordinal, n.ordinal),
        ):
            nodes[(cve, ci)].append(ConfigNode(op, bool(neg), tuple(matches.get((cve, ci, ni), ()))))
        confs: dict[str, list[Configuration]] = defaultdict(list)
        for cve, ci, op, neg in _raw(
            conn,
            select(c.cve_id, c.ordinal, c.operator, c.negate)
            .where(c.cve_id.in_(chunk))
            .order_by(c.cve_id, c.ordinal),
        ):
            confs[cve].append(Configuration(tuple(nodes.get((cve, ci), ())), op, bool(neg)))
        for cve, published, modified, status, source, kev in conn.execute(
            select(v.id, v.published, v.last_modified, v.status, v.source_identifier, v.cisa_kev).where(
                v.id.in_(chunk)
            )
        ):
            out[cve] = Vulnerability(
                id=cve,
                published=_utc(published),
                last_modified=_utc(modified),
                status=status,
                source_identifier=source,
                metrics=tuple(metrics.get(cve, ())),
                configurations=tuple(confs.get(cve, ())),
                cisa_kev=kev,
            )
    return out
