"""One verdict per (CVE, package, scope) on SQLite and on the real PostgreSQL: the store refuses a second
one (a release's own verdicts have no image: a unique constraint over a NULL image_id held nothing), and
migration 0008_verdict_scope_unique removes the duplicates stored before."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, func, select

from cvewatch.errors import StoreError
from cvewatch.model.packages import InstalledPackage, SourcePackage
from cvewatch.model.verdicts import Evidence, Severity, Status, Verdict
from cvewatch.services.inventory import store_release
from cvewatch.store.db import alembic_config, current_revision, head_revision, make_engine
from cvewatch.store.inventory import image_id, release_id, replace_image
from cvewatch.store.verdicts import (
    COPY_AFTER,
    T_VERDICT,
    VerdictChanges,
    apply_diff,
    diff_verdicts,
    load_verdicts,
)

MIGRATION = "0008_verdict_scope_unique"
PACKAGES = [SourcePackage("curl", 0, "8.11.1", "2.azl3"), SourcePackage("bash", 0, "5.2.37", "1.azl3")]


def _verdicts(n: int, image: str | None, status: Status = Status.AFFECTED) -> list[Verdict]:
    return [
        Verdict(
            f"CVE-2025-{i:05d}",
            package,
            "azl3",
            image,
            "0:8.11.1-2.azl3",
            status,
            None,
            Severity.HIGH,
            None,
            (Evidence("version-affected", f"version 8.11.1 is within [8.0.0, 8.12.0) ({i})"),),
        )
        for i in range(n)
        for package in ("bash", "curl")
    ]


def _store_inventory(engine: Engine) -> tuple[int, int]:
    store_release(engine, list(PACKAGES), release="azl3", dist=".azl3")
    with engine.begin() as conn:
        replace_image(conn, "img1", "azl3", [InstalledPackage("curl", 0, "8.11.1", "2.azl3", "x86_64")])
        return release_id(conn, "azl3"), image_id(conn, "img1")[0]


def _scan_from_scratch(
    engine: Engine, rid: int, iid: int | None, verdicts: list[Verdict], at: datetime
) -> VerdictChanges:
    """What one of two scans at once did: it found no stored verdict in the scope and inserted all."""
    with engine.begin() as conn:
        return apply_diff(conn, rid, iid, diff_verdicts({}, verdicts), at)


def _rows_and_scopes(engine: Engine) -> tuple[int, int]:
    c = T_VERDICT.c
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(T_VERDICT)).scalar_one()
        keys = select(c.cve_id, c.package, c.release_id, c.image_id).distinct().subquery()
        scopes = conn.execute(select(func.count()).select_from(keys)).scalar_one()
    return rows, scopes


@pytest.mark.parametrize("many", [False, True], ids=["insert", "copy"])
def test_a_second_copy_of_a_scopes_verdicts_is_refused(engine: Engine, many: bool) -> None:
    """On both write paths (PostgreSQL: COPY from COPY_AFTER verdicts on), for a release and an image."""
    rid, iid = _store_inventory(engine)
    n = COPY_AFTER if many else 3
    now = datetime.now(UTC)
    for scope, image in ((None, None), (iid, "img1")):
        verdicts = _verdicts(n, image)
        assert _scan_from_scratch(engine, rid, scope, verdicts, now) == VerdictChanges(added=len(verdicts))
        with pytest.raises(StoreError, match="another scan stored verdicts of the same scope"):
            _scan_from_scratch(engine, rid, scope, verdicts, now + timedelta(seconds=1))
        with engine.connect() as conn:
            assert load_verdicts(conn, "azl3", image) == verdicts  # the refused scan stored nothing
    rows, scopes = _rows_and_scopes(engine)
    assert rows == scopes == 2 * 2 * n


def _run_migration_step(engine: Engine, step: str) -> None:
    """Run this one migration's ``upgrade`` or ``downgrade`` on a store at head: the test does not
    depend on where the migration sits in the chain (later migrations change the tables it writes)."""
    module = ScriptDirectory.from_config(alembic_config(engine)).get_revision(MIGRATION).module
    with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        getattr(module, step)()


def test_migration_removes_duplicate_verdicts_keeping_the_newest(db_url: str) -> None:
    """Duplicates made as two scans at once made them, in a store without this migration; after the
    migration, one verdict per scope: the newest."""
    engine = make_engine(db_url)
    try:
        command.upgrade(alembic_config(engine), "head")
        _run_migration_step(engine, "downgrade")  # the old constraint, which let NULL image ids repeat
        rid, iid = _store_inventory(engine)
        t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
        old = _verdicts(3, None)
        newer = [dataclasses.replace(v, status=Status.FIXED, fixed_in="0:8.11.1-3.azl3") for v in old]
        image = _verdicts(2, "img1")
        _scan_from_scratch(engine, rid, None, old, t0)
        _scan_from_scratch(engine, rid, None, newer, t0 + timedelta(minutes=1))
        _scan_from_scratch(engine, rid, iid, image, t0)
        with engine.connect() as conn:
            assert len(load_verdicts(conn, "azl3")) == 2 * len(old)  # the old constraint let them in
        _run_migration_step(engine, "upgrade")
        rows, scopes = _rows_and_scopes(engine)
        assert rows == scopes == len(old) + len(image)
        with engine.connect() as conn:
            assert load_verdicts(conn, "azl3") == newer
            assert load_verdicts(conn, "azl3", "img1") == image
        # and from now on a second copy is refused
        with pytest.raises(StoreError, match="another scan stored verdicts"):
            _scan_from_scratch(engine, rid, None, old, t0 + timedelta(minutes=2))
        # down and up again: the old constraint comes back (no duplicate is left to stop it), then the new
        _run_migration_step(engine, "downgrade")
        _run_migration_step(engine, "upgrade")
        assert current_revision(engine) == head_revision(engine)
        assert _rows_and_scopes(engine) == (rows, scopes)
    finally:
        engine.dispose()
