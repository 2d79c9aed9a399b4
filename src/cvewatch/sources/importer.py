"""Writing a source's records into the store, batch by batch, with a record of the run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine

from cvewatch.model.records import RecordProblem
from cvewatch.sources.interface import Source
from cvewatch.store.db import refresh_statistics
from cvewatch.store.sync_runs import finish_run, mark_success, start_run
from cvewatch.store.vulnerabilities import UpsertStats, upsert_batch

T = TypeVar("T")


@dataclass
class ImportReport:
    run_id: int
    source: str
    origin: str
    stats: UpsertStats = field(default_factory=UpsertStats)
    problems: list[RecordProblem] = field(default_factory=list)
    read: int = 0

    @property
    def status(self) -> str:
        if not self.problems:
            return "ok"
        return "partial" if self.read else "failed"


def import_records(
    engine: Engine,
    items: Iterable[T | RecordProblem],
    upsert: Callable[[Connection, list[T]], UpsertStats],
    *,
    name: str,
    origin: str,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Write ``items`` with ``upsert`` in batches, each committed on its own (an error later in the input
    never loses what was already stored), and record the run; a run that is not a failure marks the
    source's last success."""
    started = datetime.now(UTC)
    with engine.begin() as conn:
        run_id = start_run(conn, name, origin)
    report = ImportReport(run_id, name, origin)
    batch: list[T] = []

    def flush() -> None:
        if batch:
            with engine.begin() as conn:
                report.stats.add(upsert(conn, batch))
            if progress:
                progress(len(batch))
            batch.clear()

    crashed = False
    try:
        for item in items:
            if isinstance(item, RecordProblem):
                report.problems.append(item)
                continue
            report.read += 1
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        flush()
    except BaseException:
        crashed = True
        raise
    finally:
        with engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status="failed" if crashed else report.status,
                messages=[str(p) for p in report.problems],
                new=report.stats.new,
                updated=report.stats.updated,
                unchanged=report.stats.unchanged,
                rejected=report.stats.rejected,
                errors=len(report.problems),
            )
            if not crashed and report.status != "failed":
                mark_success(conn, name, started)
    refresh_statistics(engine, report.stats.new + report.stats.updated)
    return report


def import_source(
    engine: Engine,
    source: Source,
    *,
    origin: str,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every NVD record of ``source``, keeping the newest ``lastModified`` per CVE."""
    items = (
        item.vulnerability if item.vulnerability is not None else item.problem for item in source.records()
    )
    return import_records(
        engine,
        (i for i in items if i is not None),
        upsert_batch,
        name=source.name,
        origin=origin,
        batch_size=batch_size,
        progress=progress,
    )
