"""A full scan split by CVE id into shards, decided in parallel processes.

Every verdict belongs to one (CVE, package), and a CVE's verdicts depend on nothing but that CVE and the
packages, so the sorted candidate ids split into contiguous ranges that are scanned independently: each
shard reads its CVE records, decides every pair, and compares the verdicts with the stored digests of its
id range (:func:`cvewatch.store.verdicts.diff_verdicts`). Only the differences travel back; the parent,
the only writer, applies them in its transaction. The ranges cover the whole id space, so a stored verdict
whose CVE is no longer a candidate is deleted by the shard whose range holds its id.

Workers are forked (Linux): they inherit the packages, mappings and records already in memory and open
their own database connections. With one worker, or for a small scan, the parent scans alone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine

from cvewatch.config import parse_workers
from cvewatch.errors import StoreError
from cvewatch.gcpause import gc_paused
from cvewatch.matching.cna import vulnerability_from_cve5
from cvewatch.matching.components import ComponentFacts
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.scan import scan
from cvewatch.model.cve5 import Cve5Record
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Verdict
from cvewatch.store.cve5 import load_cve5
from cvewatch.store.match_view import load_for_matching
from cvewatch.store.verdicts import VerdictDiff, diff_verdicts, stored_digests
from cvewatch.versions.rpm import EVR

WORKERS_ENV = "CVEWATCH_SCAN_WORKERS"
#: below this many candidate CVEs a full scan is not split: starting workers would cost more than it saves
PARALLEL_MIN = 4000


def default_workers() -> int:
    """``$CVEWATCH_SCAN_WORKERS``, else the number of CPUs this process may run on (at most 4). A container's
    CPU quota is not visible here: set the variable (or ``scan.workers``) to match it."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if value:
        return parse_workers(value, f"${WORKERS_ENV}")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cpus, 4))


def load_records(
    conn: Connection, ids: Iterable[str]
) -> tuple[dict[str, Vulnerability], dict[str, Cve5Record]]:
    """The NVD records of ``ids``, plus the CVE JSON 5 records of those NVD has no configuration for (a
    stand-in record for a CVE NVD does not have at all)."""
    ids = sorted(set(ids))
    vulns = load_for_matching(conn, ids)
    need = [i for i in ids if i not in vulns or not vulns[i].configurations]
    cna = {r.cve_id: r for r in load_cve5(conn, need)} if need else {}
    for cve, record in cna.items():
        if cve not in vulns and (record.date_published or record.date_updated):
            vulns[cve] = vulnerability_from_cve5(record)
    return vulns, cna


@dataclass(frozen=True, slots=True)
class ScanScope:
    """Everything a shard needs besides its CVE ids."""

    release: str
    dist: str | None
    image: str | None
    release_id: int
    image_id: int | None
    specs: Sequence[SourcePackage]
    mapping: PackageMapping
    installed: Mapping[str, EVR] | None
    triage: Mapping[tuple[str, str], TriageRecord]
    facts: ComponentFacts
    collect: bool  # return every verdict (else only the differences)


@dataclass(slots=True)
class ShardOutcome:
    diff: VerdictDiff = field(default_factory=VerdictDiff)
    verdicts: list[Verdict] = field(default_factory=list)
    cves: int = 0


def decide_scope(
    scope: ScanScope,
    vulns: Mapping[str, Vulnerability],
    cna: Mapping[str, Cve5Record],
    specs: Sequence[SourcePackage] | None = None,
) -> list[Verdict]:
    """:func:`cvewatch.matching.scan.scan` of ``vulns`` for the scope's packages (or ``specs`` of them)."""
    return scan(
        vulns,
        scope.specs if specs is None else specs,
        scope.mapping,
        release=scope.release,
        dist=scope.dist,
        image=scope.image,
        installed=scope.installed,
        triage=scope.triage,
        cna=cna,
        components=scope.facts,
    )


def scan_shard(
    conn: Connection, scope: ScanScope, ids: Sequence[str], cve_from: str | None, cve_below: str | None
) -> ShardOutcome:
    """Scan the CVEs ``ids`` (all of the range [cve_from, cve_below) that are candidates) and diff the
    verdicts against the stored ones of that range."""
    with gc_paused():  # records, criteria, verdicts: hundreds of thousands of objects, no cycles
        vulns, cna = load_records(conn, ids)
        verdicts = decide_scope(scope, vulns, cna)
        stored = stored_digests(
            conn, scope.release_id, scope.image_id, cve_from=cve_from, cve_below=cve_below
        )
        diff = diff_verdicts(stored, verdicts)
    return ShardOutcome(diff, verdicts if scope.collect else [], len(vulns))


def split(ids: Sequence[str], shards: int) -> list[tuple[list[str], str | None, str | None]]:
    """Sorted ``ids`` in ``shards`` contiguous parts, each with the id range it covers; together the
    ranges cover every id (the first is open below, the last open above)."""
    ordered = sorted(set(ids))
    shards = max(1, min(shards, len(ordered)))
    size = -(-len(ordered) // shards) if ordered else 0
    parts = [ordered[i : i + size] for i in range(0, len(ordered), size)] if ordered else [[]]
    out = []
    for n, part in enumerate(parts):
        cve_from = None if n == 0 else part[0]
        cve_below = parts[n + 1][0] if n + 1 < len(parts) else None
        out.append((part, cve_from, cve_below))
    return out


# what a forked worker inherits: set by the parent just before it starts the pool
_WORK: tuple[Engine, ScanScope, list[tuple[list[str], str | None, str | None]]] | None = None
_WORK_LOCK = threading.Lock()


def _child_init() -> None:
    assert _WORK is not None
    _WORK[0].dispose(close=False)  # the parent's pooled connections are not this process's to use


def _child_run(n: int) -> ShardOutcome:
    assert _WORK is not None
    engine, scope, parts = _WORK
    ids, cve_from, cve_below = parts[n]
    with engine.connect() as conn:
        return scan_shard(conn, scope, ids, cve_from, cve_below)


def _in_memory(engine: Engine) -> bool:
    return engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:")


def run_full(
    engine: Engine, conn: Connection, scope: ScanScope, ids: Iterable[str], workers: int | None = None
) -> ShardOutcome:
    """Scan every candidate in ``ids`` for ``scope``, in ``workers`` processes when that pays."""
    global _WORK
    ordered = sorted(set(ids))
    workers = default_workers() if workers is None else max(1, workers)
    if workers == 1 or len(ordered) < PARALLEL_MIN or _in_memory(engine) or os.name != "posix":
        return scan_shard(conn, scope, ordered, None, None)
    parts = split(ordered, workers)
    with _WORK_LOCK:  # one parallel scan at a time per process: the workers read _WORK when forked
        _WORK = (engine, scope, parts)
        try:
            with ProcessPoolExecutor(
                max_workers=len(parts),
                mp_context=multiprocessing.get_context("fork"),
                initializer=_child_init,
            ) as pool:
                outcomes = list(pool.map(_child_run, range(len(parts))))
        except BrokenProcessPool as err:
            raise StoreError(
                f"a scan worker process died ({err}); nothing was stored. If the machine ran out of memory, "
                f"scan with fewer workers (--workers, ${WORKERS_ENV})"
            ) from err
        finally:
            _WORK = None
    total = ShardOutcome()
    for o in outcomes:
        total.diff.extend(o.diff)
        total.verdicts += o.verdicts
        total.cves += o.cves
    return total
