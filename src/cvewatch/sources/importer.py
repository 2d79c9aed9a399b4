"""Writing a source's records into the store, batch by batch, with a record of the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cvewatch.sources.interface import RecordProblem, Source
from cvewatch.sources.records import Vulnerability
from cvewatch.store.sync_runs import finish_run, start_run
from cvewatch.store.vulnerabilities import UpsertStats, upsert_batch


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


def import_source(
    engine: Engine,
    source: Source,
    *,
    origin: str,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every record of ``source``. Each batch commits on its own, so an error later in the
    input never loses what was already stored."""
    with engine.begin() as conn:
        run_id = start_run(conn, source.name, origin)
    report = ImportReport(run_id, source.name, origin)
    batch: list[Vulnerability] = []

    def flush() -> None:
        if batch:
            with engine.begin() as conn:
                report.stats.add(upsert_batch(conn, batch))
            if progress:
                progress(len(batch))
            batch.clear()

    crashed = False
    try:
        for item in source.records():
            if item.problem is not None:
                report.problems.append(item.problem)
                continue
            assert item.vulnerability is not None
            report.read += 1
            batch.append(item.vulnerability)
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
    return report
