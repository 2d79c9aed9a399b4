"""The store on SQLite and on the real PostgreSQL: migrations, upserts, inventory, verdicts."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from cvewatch.errors import NotFoundError
from cvewatch.model.packages import ChangelogEntry, InstalledPackage, PatchFile, SourcePackage, TriageFile
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import CvssSummary, Evidence, Severity, Status, Verdict
from cvewatch.services.inventory import store_release
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.store.db import current_revision, head_revision, open_engine
from cvewatch.store.inventory import (
    load_image_packages,
    load_release_packages,
    replace_image,
    replace_release_packages,
)
from cvewatch.store.verdicts import T_VERDICT, VerdictChanges, load_verdicts, replace_verdicts, verdict_digest
from cvewatch.store.vulnerabilities import load_vulnerabilities, upsert_all, vendor_product

from ..conftest import NVD


def genuine_records() -> list[Vulnerability]:
    items = list(NvdFileSource(NVD / "api2.0-shape" / "genuine-api2.0-sample.json.gz").records())
    vulns = [i.vulnerability for i in items if i.vulnerability is not None]
    assert len(vulns) == 42
    return vulns


def test_migrations_reach_head_and_create_every_table(engine: Engine) -> None:
    head = head_revision(engine)
    assert head is not None and current_revision(engine) == head
    tables = set(inspect(engine).get_table_names())
    assert {
        "vulnerabilities",
        "cpe_matches",
        "source_packages",
        "verdicts",
        "sync_runs",
        "sync_retry",
    } <= tables
    # opening again is a no-op
    again = open_engine(str(engine.url.render_as_string(hide_password=False)))
    assert current_revision(again) == head
    again.dispose()


def test_migration_0009_adds_the_retry_list_and_takes_it_away(db_url: str) -> None:
    """``0009_sync_retry`` creates ``sync_retry`` as the model has it (autogenerate sees no difference)
    and its downgrade drops it again."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cvewatch.store.db import alembic_config, make_engine
    from cvewatch.store.models import Base
    from cvewatch.store.sync_runs import keep_for_retry, pending_retries

    engine = make_engine(db_url)
    try:
        command.upgrade(alembic_config(engine), "0008_verdict_scope_unique")
        assert "sync_retry" not in inspect(engine).get_table_names()
        command.upgrade(alembic_config(engine), "0009_sync_retry")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert [d for d in compare_metadata(context, Base.metadata) if "sync_retry" in repr(d)] == []
        with engine.begin() as conn:
            keep_for_retry(conn, "nvd-api", [("CVE-2024-3094", "a NUL\x00 in it")], run_id=1)
            keep_for_retry(conn, "nvd-api", [("CVE-2024-3094", "again")], run_id=2)
        with engine.connect() as conn:
            (entry,) = pending_retries(conn)
        assert (entry.cve_id, entry.reason, entry.attempts, entry.run_id) == ("CVE-2024-3094", "again", 2, 2)
        command.downgrade(alembic_config(engine), "0008_verdict_scope_unique")
        assert "sync_retry" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_records_round_trip_exactly(engine: Engine) -> None:
    vulns = genuine_records()
    with engine.begin() as conn:
        stats = upsert_all(conn, vulns)
    assert (stats.new, stats.updated, stats.unchanged) == (42, 0, 0)
    with engine.connect() as conn:
        back = {v.id: v for v in load_vulnerabilities(conn)}
    assert back == {v.id: v for v in vulns}
    curl = back["CVE-2023-38545"]
    assert [(m.version, m.base_score, m.type) for m in curl.metrics][:1] == [("3.1", 9.8, "Primary")]
    assert curl.configurations[0].nodes[0].cpe_match[0].version_end_excluding == "8.4.0"


def test_upsert_keeps_the_newest_last_modified(engine: Engine) -> None:
    v = genuine_records()[0]
    older = dataclasses.replace(v, last_modified=v.last_modified - timedelta(days=30), status="Analyzed")
    newer = dataclasses.replace(v, last_modified=v.last_modified + timedelta(days=1), status="Modified")
    with engine.begin() as conn:
        upsert_all(conn, [v])
        s1 = upsert_all(conn, [older])
        s2 = upsert_all(conn, [newer, older])  # both in one batch: newest wins
    assert (s1.unchanged, s1.updated) == (1, 0)
    assert s2.updated == 1
    with engine.connect() as conn:
        (stored,) = load_vulnerabilities(conn, [v.id])
    assert stored.status == "Modified"
    assert stored.last_modified == newer.last_modified.astimezone(UTC)
    assert stored.configurations == v.configurations


def test_rejected_records_are_counted_and_kept(engine: Engine) -> None:
    v = genuine_records()[1]
    rejected = dataclasses.replace(v, last_modified=v.last_modified + timedelta(days=2), status="Rejected")
    with engine.begin() as conn:
        upsert_all(conn, [v])
        stats = upsert_all(conn, [rejected])
    assert stats.rejected == 1
    with engine.connect() as conn:
        (stored,) = load_vulnerabilities(conn, [v.id])
    assert stored.rejected


def test_vendor_product_unescapes() -> None:
    assert vendor_product("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*") == ("haxx", "libcurl")
    assert vendor_product(r"cpe:2.3:a:foo\:bar:baz\.qux:1.0:*:*:*:*:*:*:*") == ("foo:bar", "baz.qux")


CURL = SourcePackage(
    name="curl",
    epoch=0,
    version="8.11.1",
    release="3.azl3",
    subpackages=("curl", "curl-devel", "curl-libs"),
    patches=(PatchFile("CVE-2025-0167.patch", 0, ("CVE-2025-0167",), True),),
    triage=(TriageFile("CVE-2024-0001", "fixed upstream before 8.0"),),
    changelog=(
        ChangelogEntry(
            date(2025, 2, 1), "A <a@example.com>", "8.11.1-3", "Patch CVE-2025-0167", ("CVE-2025-0167",)
        ),
    ),
    url="https://curl.se",
    source0="https://curl.se/download/curl-8.11.1.tar.xz",
    spec_path="SPECS/curl/curl.spec",
)


def test_release_packages_round_trip_and_report_changes(engine: Engine) -> None:
    zlib = SourcePackage("zlib", 0, "1.3.1", "1.azl3", ("zlib", "zlib-devel"))
    with engine.begin() as conn:
        assert replace_release_packages(conn, "azl3", [CURL, zlib], dist=".azl3") == (2, 0, 0)
    with engine.begin() as conn:
        assert load_release_packages(conn, "azl3") == [CURL, zlib]
        bumped = dataclasses.replace(zlib, release="2.azl3")
        assert replace_release_packages(conn, "azl3", [CURL, bumped], dist=".azl3") == (0, 1, 0)
        assert replace_release_packages(conn, "azl3", [CURL], dist=".azl3") == (0, 0, 1)
        assert [p.name for p in load_release_packages(conn, "azl3")] == ["curl"]


def test_images_and_verdicts_round_trip(engine: Engine) -> None:
    with engine.begin() as conn:
        replace_release_packages(conn, "azl3", [CURL], dist=".azl3")
        pkgs = [InstalledPackage("curl", 0, "8.11.1", "2.azl3", "x86_64")]
        replace_image(conn, "img1", "azl3", pkgs, kernel="6.6.1")
        assert load_image_packages(conn, "img1") == pkgs
        v = Verdict(
            "CVE-2025-0167",
            "curl",
            "azl3",
            "img1",
            "0:8.11.1-2.azl3",
            Status.AFFECTED,
            "0:8.11.1-3.azl3",
            Severity.LOW,
            CvssSummary("3.1", 3.4, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "x"),
            (Evidence("patch", "Patch0"),),
        )
        replace_verdicts(conn, "azl3", "img1", [v])
        assert load_verdicts(conn, "azl3", "img1") == [v]
        assert load_verdicts(conn, "azl3") == []
        with pytest.raises(NotFoundError, match="no node image named 'nope'"):
            load_image_packages(conn, "nope")
        with pytest.raises(NotFoundError, match="no release named 'azl9'"):
            load_release_packages(conn, "azl9")


def test_replace_verdicts_writes_only_what_changed(engine: Engine) -> None:
    """A rescan that decides the same leaves the stored row alone (same id, same scanned_at); a changed
    verdict is updated in place, a new one inserted, one the scan no longer gives deleted — and the scope
    then holds exactly the new verdicts."""
    store_release(
        engine,
        [SourcePackage("curl", 0, "8.11.1", "2.azl3"), SourcePackage("bash", 0, "5.2.37", "1.azl3")],
        release="azl3",
        dist=".azl3",
    )

    def verdict(cve: str, package: str, status: Status) -> Verdict:
        return Verdict(
            cve,
            package,
            "azl3",
            None,
            "0:1-1.azl3",
            status,
            None,
            Severity.HIGH,
            None,
            (Evidence("cpe-match", f"{cve} names {package}"),),
        )

    first = [
        verdict("CVE-2024-0001", "curl", Status.AFFECTED),
        verdict("CVE-2024-0002", "curl", Status.FIXED),
        verdict("CVE-2024-0003", "bash", Status.AFFECTED),
    ]
    with engine.begin() as conn:
        assert replace_verdicts(conn, "azl3", None, first) == VerdictChanges(added=3)
        before = {
            (r.cve_id, r.package): (r.id, r.scanned_at, r.digest) for r in conn.execute(select(T_VERDICT))
        }
    second = [
        first[0],
        dataclasses.replace(first[1], status=Status.AFFECTED),
        verdict("CVE-2024-0004", "bash", Status.NOT_AFFECTED),
    ]
    with engine.begin() as conn:
        changes = replace_verdicts(conn, "azl3", None, second)
        after = {
            (r.cve_id, r.package): (r.id, r.scanned_at, r.digest) for r in conn.execute(select(T_VERDICT))
        }
        assert load_verdicts(conn, "azl3") == second
    assert changes == VerdictChanges(added=1, changed=1, removed=1, unchanged=1)
    assert after[("CVE-2024-0001", "curl")] == before[("CVE-2024-0001", "curl")]  # untouched
    changed_id, changed_at, changed_digest = after[("CVE-2024-0002", "curl")]
    assert changed_id == before[("CVE-2024-0002", "curl")][0]
    assert (
        changed_digest != before[("CVE-2024-0002", "curl")][2]
        and changed_at > before[("CVE-2024-0002", "curl")][1]
    )
    assert ("CVE-2024-0003", "bash") not in after
    # an incremental replacement touches only the CVEs and packages it names
    with engine.begin() as conn:
        changes = replace_verdicts(conn, "azl3", None, [], only_cves=["CVE-2024-0004"])
        assert changes == VerdictChanges(removed=1)
        assert load_verdicts(conn, "azl3") == second[:2]
    assert verdict_digest(first[0]) == verdict_digest(dataclasses.replace(first[0], package="bash"))
    assert verdict_digest(first[0]) != verdict_digest(dataclasses.replace(first[0], evidence=()))


def test_default_url_honours_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cvewatch.store.db import default_url

    monkeypatch.setenv("CVEWATCH_DB", "sqlite:///x.db")
    assert default_url() == "sqlite:///x.db"
    monkeypatch.delenv("CVEWATCH_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_url() == f"sqlite:///{tmp_path}/cvewatch/cvewatch.sqlite"


def test_timestamps_are_timezone_aware(engine: Engine) -> None:
    vulns = genuine_records()[:3]
    with engine.begin() as conn:
        upsert_all(conn, vulns)
    with engine.connect() as conn:
        for v in load_vulnerabilities(conn):
            assert v.published.tzinfo is not None and v.last_modified.utcoffset() == timedelta(0)
            assert isinstance(v.published, datetime)


def test_triage_records_newest_and_release_specific_win(engine: Engine) -> None:
    from cvewatch.model.triage import TriageRecord
    from cvewatch.store.triage import add_triage, load_triage

    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    with engine.begin() as conn:
        replace_release_packages(conn, "azl3", [CURL], dist=".azl3")
        replace_release_packages(conn, "azl4", [CURL], dist=".azl4")
        base = dict(cve="CVE-2026-1965", package="curl", author="alice")
        add_triage(conn, TriageRecord(status=Status.UNDER_INVESTIGATION, created_at=t0, **base))  # type: ignore[arg-type]
        add_triage(
            conn,
            TriageRecord(
                status=Status.FIXED,
                fixed_in="0:8.11.1-4.azl3",
                created_at=t0 - timedelta(days=1),
                release="azl3",
                **base,
            ),  # type: ignore[arg-type]
        )
        add_triage(conn, TriageRecord(status=Status.AFFECTED, created_at=t0 + timedelta(days=1), **base))  # type: ignore[arg-type]
    with engine.connect() as conn:
        azl3 = load_triage(conn, "azl3")[("CVE-2026-1965", "curl")]
        azl4 = load_triage(conn, "azl4")[("CVE-2026-1965", "curl")]
    assert (
        azl3.status is Status.FIXED and azl3.release == "azl3" and azl3.created_at == t0 - timedelta(days=1)
    )
    assert azl4.status is Status.AFFECTED and azl4.release is None


def test_bulk_writes_refresh_postgresql_statistics(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from cvewatch.store import db

    def analyzed() -> object:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'verdicts'"
            ).scalar()

    db.refresh_statistics(engine, db.ANALYZE_AFTER - 1, ("verdicts",))  # a small write: nothing to do
    if engine.dialect.name != "postgresql":
        return  # SQLite: a no-op by design (checked above: it did not fail)
    assert analyzed() is None
    monkeypatch.setattr(db, "ANALYZE_AFTER", 1)
    db.refresh_statistics(engine, 1, ("verdicts",))
    for _ in range(50):  # the cumulative statistics are flushed by the backend, at most ~1 s later
        if analyzed() is not None:
            break
        time.sleep(0.1)
    assert analyzed() is not None


def test_migration_0007_fills_the_cna_lookup_keys(db_url: str) -> None:
    """Entries stored before the lookup keys existed get them, made as new entries get them."""
    from alembic import command
    from sqlalchemy import text

    from cvewatch.model.cve5 import name_key
    from cvewatch.store.cve5 import find_affected
    from cvewatch.store.db import alembic_config, make_engine

    engine = make_engine(db_url)
    try:
        command.upgrade(alembic_config(engine), "0006")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO cve5_records (cve_id, state, assigner, stored_at, metrics, problem_types)"
                    " VALUES ('CVE-2024-3094', 'PUBLISHED', 'redhat', :now, '[]', '[]')"
                ),
                {"now": datetime.now(UTC)},
            )
            conn.execute(
                text(
                    "INSERT INTO cna_affected (cve_id, ordinal, container, vendor, product, package_name,"
                    " versions, cpes) VALUES ('CVE-2024-3094', 0, 'cna', ' The  Tukaani Project ',"
                    " 'XZ Utils', 'GitHub.com/Tukaani/XZ', '[]', '[]')"
                )
            )
        command.upgrade(alembic_config(engine), "head")
        with engine.connect() as conn:
            keys = conn.execute(text("SELECT vendor_key, product_key, package_key FROM cna_affected")).one()
            assert tuple(keys) == ("the_tukaani_project", "xz_utils", "github.com/tukaani/xz")
            assert keys[0] == name_key(" The  Tukaani Project ")
            assert [c for c, _ in find_affected(conn, vendor="the tukaani project", product="xz utils")] == [
                "CVE-2024-3094"
            ]
    finally:
        engine.dispose()


def test_many_new_verdicts_are_stored_as_they_are(engine: Engine) -> None:
    """Enough new and changed verdicts for PostgreSQL's COPY paths (SQLite: the same statements as ever):
    they read back equal, and a second store of the same verdicts changes nothing."""
    from cvewatch.store.verdicts import COPY_AFTER

    store_release(
        engine, [SourcePackage("curl", 0, "8.11.1", "2.azl3"), SourcePackage("bash", 0, "5.2.37", "1.azl3")],
        release="azl3", dist=".azl3",
    )  # fmt: skip
    cvss = CvssSummary("3.1", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "nvd@nist.gov")
    verdicts = sorted(
        (
            Verdict(
                f"CVE-2025-{n:05d}",
                package,
                "azl3",
                None,
                "0:8.11.1-2.azl3",
                status,
                fixed,
                severity,
                cvss if n % 3 else None,
                (
                    Evidence(
                        "cpe-match",
                        f'cpe:2.3:a:haxx:curl:*:*:*:*:*:*:*:* ({package}) back\\slash "quoted"\ttab ü',
                    ),
                    Evidence("version-affected", "version 8.11.1 is within [8.0.0, 8.12.0)"),
                ),
            )
            for n in range(COPY_AFTER + 200)
            for package, status, fixed, severity in (
                ("curl", Status.AFFECTED, None, Severity.CRITICAL),
                ("bash", Status.FIXED, "0:5.2.37-1.azl3", Severity.LOW),
            )
            if n % 2 or package == "curl"
        ),
        key=lambda v: (v.cve, v.package),
    )
    with engine.begin() as conn:
        assert replace_verdicts(conn, "azl3", None, verdicts) == VerdictChanges(added=len(verdicts))
    with engine.begin() as conn:
        assert load_verdicts(conn, "azl3") == verdicts
        assert replace_verdicts(conn, "azl3", None, verdicts) == VerdictChanges(unchanged=len(verdicts))
    # and as many changed ones (PostgreSQL: COPY into a temporary table, one UPDATE), twice in one transaction
    changed = [dataclasses.replace(v, status=Status.UNDER_INVESTIGATION, fixed_in=None) for v in verdicts]
    with engine.begin() as conn:
        assert replace_verdicts(conn, "azl3", None, changed) == VerdictChanges(changed=len(verdicts))
        assert replace_verdicts(conn, "azl3", None, verdicts) == VerdictChanges(changed=len(verdicts))
    with engine.connect() as conn:
        assert load_verdicts(conn, "azl3") == verdicts
