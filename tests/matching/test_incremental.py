"""An incremental rescan gives the same verdicts as a full one, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cvewatch.inventory.imagelist import parse_image_list
from cvewatch.model.packages import PatchFile, SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Status, Verdict
from cvewatch.services.scan import run_scan
from cvewatch.store.inventory import replace_image, replace_release_packages
from cvewatch.store.triage import add_triage
from cvewatch.store.vulnerabilities import upsert_all

from ..conftest import IMAGES


def key(verdicts: list[Verdict]) -> list[tuple[object, ...]]:
    return sorted((v.cve, v.package, v.status, v.fixed_in, v.version, v.evidence) for v in verdicts)


def test_incremental_rescan_equals_full_rescan(
    engine: Engine, tree: list[SourcePackage], records: list[Vulnerability]
) -> None:
    first, later = records[: len(records) // 2], records[len(records) // 2 :]
    image = parse_image_list((IMAGES / "202608.20.0.txt").read_text(), path="202608.20.0.txt")
    with engine.begin() as conn:
        upsert_all(conn, first)
        replace_release_packages(conn, "azl3", tree, dist=".azl3")
        replace_image(conn, "img", "azl3", image.packages)
    assert run_scan(engine, release="azl3").mode == "full"
    assert run_scan(engine, image="img").mode == "full"

    # what happens between two syncs: new CVEs, changed CVEs, a package bumped with a CVE patch,
    # a package removed, a triage decision
    curl_cve = next(v for v in records if v.id == "CVE-2023-38545")
    changed = dataclasses.replace(
        curl_cve, last_modified=curl_cve.last_modified + timedelta(days=3), status="Rejected"
    )
    by_name = {p.name: p for p in tree}
    bumped = dataclasses.replace(
        by_name["zlib"],
        release="99.azl3",
        patches=(*by_name["zlib"].patches, PatchFile("CVE-2026-27171.patch", 42, ("CVE-2026-27171",))),
    )
    new_tree = [bumped if p.name == "zlib" else p for p in tree if p.name != "expat"]
    with engine.begin() as conn:
        upsert_all(conn, later)
        upsert_all(conn, [changed])
        replace_release_packages(conn, "azl3", new_tree, dist=".azl3")
        add_triage(
            conn,
            TriageRecord(
                cve="CVE-2024-6387",
                package="openssh",
                status=Status.NOT_AFFECTED,
                justification="vulnerable_code_not_present",
                author="bob",
                created_at=datetime.now(UTC),
            ),
        )

    inc = run_scan(engine, release="azl3")
    inc_img = run_scan(engine, image="img")
    assert inc.mode == "incremental" and inc_img.mode == "incremental"
    assert inc.packages_evaluated == 1  # zlib only (expat is gone: its verdicts are dropped)
    assert 0 < inc.cves_evaluated < len(records)
    full = run_scan(engine, release="azl3", full=True)
    full_img = run_scan(engine, image="img", full=True)
    assert full.mode == "full"
    assert key(inc.verdicts) == key(full.verdicts)
    assert key(inc_img.verdicts) == key(full_img.verdicts)
    # and the changes really show
    assert not any(v.cve == "CVE-2023-38545" for v in full.verdicts)
    assert not any(v.package == "expat" for v in full.verdicts)
    assert any(
        v.cve == "CVE-2026-27171" and v.package == "zlib" and v.status is Status.FIXED for v in full.verdicts
    )
    ssh = next(v for v in full.verdicts if (v.cve, v.package) == ("CVE-2024-6387", "openssh"))
    assert ssh.status is Status.NOT_AFFECTED and ssh.evidence[0].kind == "triage"


def test_a_changed_mapping_forces_a_full_scan(engine: Engine, tree: list[SourcePackage]) -> None:
    from cvewatch.matching.mapping import PackageMapping

    with engine.begin() as conn:
        replace_release_packages(conn, "azl3", tree[:50], dist=".azl3")
    assert run_scan(engine, release="azl3").mode == "full"
    assert run_scan(engine, release="azl3").mode == "incremental"
    other = PackageMapping({"curl": (("haxx", "curl"),)})
    assert run_scan(engine, release="azl3", mapping=other).mode == "full"


def test_the_scan_record_counts_the_stored_verdicts(
    engine: Engine, tree: list[SourcePackage], records: list[Vulnerability]
) -> None:
    """An incremental scan that does not collect the verdicts derives the scope's count from the last
    scan's and what it changed; it must equal a count of the rows, also when packages leave."""
    from sqlalchemy import func, select

    from cvewatch.services.scan import T_SCAN
    from cvewatch.store.verdicts import T_VERDICT

    first, later = records[: len(records) // 2], records[len(records) // 2 :]
    with engine.begin() as conn:
        upsert_all(conn, first)
        replace_release_packages(conn, "azl3", tree, dist=".azl3")
    before = run_scan(engine, release="azl3")
    leaving = sorted({v.package for v in before.verdicts})[:2]  # two packages that have verdicts
    with engine.begin() as conn:
        upsert_all(conn, later)
        replace_release_packages(conn, "azl3", [p for p in tree if p.name not in leaving], dist=".azl3")
    inc = run_scan(engine, release="azl3", collect=False)
    assert inc.mode == "incremental" and inc.changes.removed > 0 and inc.changes.added > 0
    with engine.connect() as conn:
        recorded = conn.execute(select(T_SCAN.c.verdicts).order_by(T_SCAN.c.id.desc()).limit(1)).scalar()
        stored = conn.execute(select(func.count()).select_from(T_VERDICT)).scalar()
        packages = set(conn.execute(select(T_VERDICT.c.package)).scalars())
    assert recorded == stored
    assert len(leaving) == 2 and not set(leaving) & packages
