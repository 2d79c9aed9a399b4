"""A full scan split into shards decided by forked workers gives what one process gives, on SQLite and
PostgreSQL, and its id ranges cover every stored verdict."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from cvewatch.errors import ConfigError, StoreError
from cvewatch.inventory.imagelist import parse_image_list
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Evidence, Severity, Status, Verdict
from cvewatch.services import shards
from cvewatch.services.scan import T_SCAN, run_scan
from cvewatch.store.inventory import replace_image, replace_release_packages
from cvewatch.store.verdicts import T_VERDICT, load_verdicts, replace_verdicts
from cvewatch.store.vulnerabilities import upsert_all

from ..conftest import IMAGES


@given(st.lists(st.from_regex(r"CVE-20[0-9]{2}-[0-9]{4,5}", fullmatch=True), max_size=40), st.integers(1, 6))
def test_split_ranges_cover_every_id_once(ids: list[str], n: int) -> None:
    parts = shards.split(ids, n)
    assert sorted(i for part, _, _ in parts for i in part) == sorted(set(ids))
    probes = [*ids, "CVE-0000-0000", "CVE-9999-99999", "CVE-2015-5", "A", "z"]
    for probe in probes:
        holders = [
            (lo, hi) for _, lo, hi in parts if (lo is None or probe >= lo) and (hi is None or probe < hi)
        ]
        assert len(holders) == 1, (probe, parts)
    for part, lo, hi in parts:
        assert all((lo is None or i >= lo) and (hi is None or i < hi) for i in part)


def _stale(cve: str, package: str, image: str | None) -> Verdict:
    return Verdict(
        cve, package, "azl3", image, "0:1-1.azl3", Status.AFFECTED, None, Severity.HIGH, None,
        (Evidence("cpe-match", "left over from an older scan"),),
    )  # fmt: skip


@pytest.mark.parametrize("image", [None, "img"])
def test_workers_give_the_single_process_verdicts(
    engine: Engine,
    tree: list[SourcePackage],
    records: list[Vulnerability],
    monkeypatch: pytest.MonkeyPatch,
    image: str | None,
) -> None:
    monkeypatch.setattr(shards, "PARALLEL_MIN", 0)  # the real data has ~230 candidates: split them anyway
    listing = parse_image_list((IMAGES / "202608.20.0.txt").read_text(), path="202608.20.0.txt")
    with engine.begin() as conn:
        upsert_all(conn, records)
        replace_release_packages(conn, "azl3", tree, dist=".azl3")
        replace_image(conn, "img", "azl3", listing.packages)
    scope = {"image": image} if image else {"release": "azl3"}
    single = run_scan(engine, full=True, workers=1, **scope)  # type: ignore[arg-type]
    assert len(single.verdicts) > 100

    # verdicts an older scan left for CVEs that are no candidates any more: below the first id, between
    # two, above the last; whichever shard's range holds them must delete them
    middle = sorted({v.cve for v in single.verdicts})[len(single.verdicts) // 4] + "0"
    stale = [_stale(c, "curl", image) for c in ("CVE-1999-0001", middle, "CVE-2999-0001")]
    with engine.begin() as conn:
        replace_verdicts(conn, "azl3", image, stale, only_cves=[v.cve for v in stale])

    parallel = run_scan(engine, full=True, workers=3, **scope)  # type: ignore[arg-type]
    assert parallel.verdicts == single.verdicts
    assert parallel.changes.removed == 3 and parallel.changes.unchanged == len(single.verdicts)
    assert parallel.changes.added == parallel.changes.changed == 0
    with engine.connect() as conn:
        stored = set(conn.execute(select(T_VERDICT.c.cve_id)).scalars())
    assert not {v.cve for v in stale} & stored

    # collect=False hands back nothing, stores the same, and counts what it stored
    quiet = run_scan(engine, full=True, workers=2, collect=False, **scope)  # type: ignore[arg-type]
    assert quiet.verdicts == [] and quiet.changes.unchanged == len(single.verdicts)


def test_default_workers_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(shards.WORKERS_ENV, "3")
    assert shards.default_workers() == 3
    for bad in ("0", "many"):
        monkeypatch.setenv(shards.WORKERS_ENV, bad)
        with pytest.raises(ConfigError, match=r"\$CVEWATCH_SCAN_WORKERS: expected a number of processes"):
            shards.default_workers()
    monkeypatch.delenv(shards.WORKERS_ENV)
    assert 1 <= shards.default_workers() <= 4


def _die(n: int) -> None:
    os._exit(9)  # a worker killed, e.g. by the kernel's out-of-memory killer


def test_a_dead_worker_fails_the_scan_and_stores_nothing(
    engine: Engine, tree: list[SourcePackage], records: list[Vulnerability], monkeypatch: pytest.MonkeyPatch
) -> None:
    with engine.begin() as conn:
        upsert_all(conn, records)
        replace_release_packages(conn, "azl3", tree, dist=".azl3")
    before = run_scan(engine, release="azl3", full=True, workers=1)
    monkeypatch.setattr(shards, "PARALLEL_MIN", 0)
    monkeypatch.setattr(shards, "_child_run", _die)
    with engine.begin() as conn:  # something for the failed scan to (not) replace
        replace_verdicts(conn, "azl3", None, before.verdicts[:10])
    with pytest.raises(StoreError, match=r"a scan worker process died .*nothing was stored.*--workers"):
        run_scan(engine, release="azl3", full=True, workers=2)
    with engine.connect() as conn:
        assert load_verdicts(conn, "azl3") == before.verdicts[:10]
        runs = conn.execute(select(T_SCAN.c.finished)).scalars().all()
    assert len(runs) == 1  # the failed scan left no run record
