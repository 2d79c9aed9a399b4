"""CVE JSON 5 records: every genuine record parses, bad files are problems, deltas, the store round trip."""

from __future__ import annotations

import copy
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from cvewatch.errors import InputError, RecordError
from cvewatch.model.cve5 import AffectedVersion, Cve5Metric, Cve5Record, VersionChange
from cvewatch.model.records import RecordProblem
from cvewatch.sources.cve5 import (
    Cve5Source,
    delta_cve_ids,
    import_cve5,
    parse_record,
    read_location,
    read_record,
    record_path,
)
from cvewatch.store.cve5 import T_AFFECTED, count_cve5, find_affected, load_cve5, upsert_cve5
from cvewatch.store.sync_runs import last_success, recent_runs


@pytest.fixture(scope="module")
def recent(cve5_data: Path) -> Path:
    return cve5_data / "recent"


@pytest.fixture(scope="module")
def osv_cve5(nvd_data: Path) -> Path:
    return nvd_data / "cve5-records" / "osv.dev"


def _records(source: Cve5Source) -> tuple[list[Cve5Record], list[RecordProblem]]:
    recs: list[Cve5Record] = []
    problems: list[RecordProblem] = []
    for item in source.records():
        (problems if isinstance(item, RecordProblem) else recs).append(item)  # type: ignore[arg-type]
    return recs, problems


def _by_id(records: list[Cve5Record]) -> dict[str, Cve5Record]:
    return {r.cve_id: r for r in records}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- every genuine record -----------------------------------------------------------------------------------


def test_every_genuine_record_parses(recent: Path, osv_cve5: Path) -> None:
    for folder in (recent, osv_cve5):
        files = sorted(p for p in folder.iterdir() if p.suffix == ".json")
        records, problems = _records(Cve5Source(folder))
        assert problems == []
        assert len(records) == len(files) > 20
        for file, rec in zip(files, records, strict=True):
            # the id is the one in the file name (osv.dev's copies are prefixed "cvelistV5-")
            assert file.name.endswith(f"{rec.cve_id}.json")
            doc = _load(file)
            assert rec.state == doc["cveMetadata"]["state"]
            assert rec.date_updated is not None and rec.date_updated.tzinfo is not None
            cna_affected = doc["containers"]["cna"].get("affected", [])
            assert len([a for a in rec.affected if a.container == "cna"]) == len(cna_affected)


def test_cna_git_range(recent: Path) -> None:
    rec = read_record(str(recent / "CVE-2026-35535.json"))
    assert isinstance(rec, Cve5Record)
    assert rec.assigner == "mitre"
    entry = rec.affected[0]
    assert (entry.container, entry.vendor, entry.product, entry.default_status) == (
        "cna",
        "Sudo project",
        "Sudo",
        "unaffected",
    )
    assert entry.versions == (
        AffectedVersion(
            version="0",
            status="affected",
            less_than="3e474c2f201484be83d994ae10a4e20e8c81bb69",
            version_type="git",
        ),
    )
    assert entry.versions[0].is_range
    # Red Hat's supplier ADP adds its own products, with rpm versions and cpes
    rhel9 = next(a for a in rec.affected if a.product == "Red Hat Enterprise Linux 9")
    assert (rhel9.container, rhel9.package_name) == ("adp:redhat-SADP", "sudo")
    assert rhel9.cpes == ("cpe:/a:redhat:enterprise_linux:9", "cpe:/o:redhat:enterprise_linux:9")
    assert rhel9.versions[0] == AffectedVersion(
        "0:1.9.17p2-3.el9_8", "unaffected", less_than="*", version_type="rpm"
    )


def test_cna_semver_range_and_cisa_adp_cvss(recent: Path) -> None:
    rec = read_record(str(recent / "CVE-2024-45338.json"))
    assert isinstance(rec, Cve5Record)
    (entry,) = rec.affected
    assert entry.package_name == "golang.org/x/net/html"
    assert entry.collection_url == "https://pkg.go.dev"
    assert entry.versions[0].less_than == "0.33.0"
    assert entry.versions[0].version_type == "semver"
    # the CNA gave no CVSS score; CISA's vulnrichment ADP did
    assert rec.metrics == (
        Cve5Metric("adp:CISA-ADP", "3.1", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3, "MEDIUM"),
    )
    # the CNA's CWE is only in the text ("CWE-405: ..."), CISA's has a cweId
    assert rec.problem_types == ("CWE-405", "CWE-1333")
    assert rec.date_updated == datetime(2024, 12, 31, 19, 55, 4, 864000, tzinfo=UTC)


def test_rpm_versions_and_cpes(recent: Path) -> None:
    rec = read_record(str(recent / "CVE-2023-7008.json"))
    assert isinstance(rec, Cve5Record)
    assert (
        rec.title == "Systemd-resolved: unsigned name response in signed zone is not refused when dnssec=yes"
    )
    first = rec.affected[0]
    assert (first.vendor, first.product, first.package_name) == (
        "Red Hat",
        "Red Hat Enterprise Linux 8",
        "systemd",
    )
    assert first.collection_url == "https://access.redhat.com/downloads/content/package-browser/"
    assert first.default_status == "affected"
    assert first.cpes == ("cpe:/o:redhat:enterprise_linux:8::baseos",)
    assert first.versions == (
        AffectedVersion(version="0:239-82.el8", status="unaffected", less_than="*", version_type="rpm"),
    )
    assert rec.metrics[0] == Cve5Metric(
        "cna", "3.1", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N", 5.9, "MEDIUM"
    )


def test_changes_cvss_v4_v2_and_adp_affected(recent: Path, osv_cve5: Path) -> None:
    log4j = read_record(str(osv_cve5 / "cvelistV5-CVE-2021-44228.json"))
    assert isinstance(log4j, Cve5Record)
    v = log4j.affected[0].versions[0]
    assert (v.version, v.less_than, v.version_type) == ("2.0-beta9", "log4j-core*", "custom")
    assert v.changes[0] == VersionChange("2.3.1", "unaffected")
    assert [c.at for c in v.changes] == ["2.3.1", "2.4", "2.12.2", "2.13.0", "2.15.0"]

    v4 = read_record(str(recent / "CVE-2025-27144.json"))
    assert isinstance(v4, Cve5Record)
    assert [(m.version, m.base_score) for m in v4.metrics if m.source == "cna"] == [("4.0", 6.6)]

    v2 = read_record(str(recent / "CVE-2025-8732.json"))
    assert isinstance(v2, Cve5Record)
    assert Cve5Metric("cna", "2.0", "AV:L/AC:L/Au:S/C:N/I:N/A:P/E:POC/RL:ND/RC:C", 1.7, None) in v2.metrics

    siemens = read_record(str(recent / "CVE-2025-4598.json"))
    assert isinstance(siemens, Cve5Record)
    adp = [a for a in siemens.affected if a.container == "adp:siemens-SADP"]
    assert adp and adp[0].vendor == "Siemens"
    assert adp[0].versions[0] == AffectedVersion("V3.1.5", "affected", less_than="*", version_type="custom")


def test_kernel_record_git_and_lessthanorequal(osv_cve5: Path) -> None:
    rec = read_record(str(osv_cve5 / "cvelistV5-CVE-2025-21631.json"))
    assert isinstance(rec, Cve5Record)
    by_commit, by_version = rec.affected
    assert (by_commit.product, by_commit.default_status) == ("Linux", "unaffected")
    assert by_commit.versions[0].version_type == "git"
    assert by_commit.versions[0].less_than == "f587c1ac68956c4703857d650d9b1cd7bb2ac4d7"
    assert by_version.default_status == "affected"
    assert AffectedVersion("0", "unaffected", less_than="6.12", version_type="semver") in by_version.versions
    assert (
        AffectedVersion("5.15.177", "unaffected", less_than_or_equal="5.15.*", version_type="semver")
        in by_version.versions
    )


# --- bad input --------------------------------------------------------------------------------------------


def test_bad_files_are_problems_naming_the_file(recent: Path, tmp_path: Path) -> None:
    good = recent / "CVE-2023-7008.json"
    shutil.copy(good, tmp_path / "CVE-2023-7008.json")
    raw = good.read_text(encoding="utf-8")
    (tmp_path / "CVE-2024-0001.json").write_text(raw[: len(raw) // 2], encoding="utf-8")  # truncated
    doc = _load(good)
    del doc["cveMetadata"]
    (tmp_path / "CVE-2024-0002.json").write_text(json.dumps(doc), encoding="utf-8")
    doc = _load(good)
    doc["cveMetadata"]["state"] = "RESERVED"
    (tmp_path / "CVE-2024-0003.json").write_text(json.dumps(doc), encoding="utf-8")
    doc = _load(good)
    doc["containers"]["cna"]["affected"][0]["versions"][0].pop("status")
    (tmp_path / "CVE-2024-0004.json").write_text(json.dumps(doc), encoding="utf-8")

    records, problems = _records(Cve5Source(tmp_path))
    assert [r.cve_id for r in records] == ["CVE-2023-7008"]
    by_file = {Path(p.origin).name: p for p in problems}
    assert set(by_file) == {
        "CVE-2024-0001.json",
        "CVE-2024-0002.json",
        "CVE-2024-0003.json",
        "CVE-2024-0004.json",
    }
    assert "invalid JSON" in by_file["CVE-2024-0001.json"].message
    assert by_file["CVE-2024-0002.json"].message == "missing cveMetadata"
    assert "RESERVED" in by_file["CVE-2024-0003.json"].message
    assert by_file["CVE-2024-0003.json"].record_id == "CVE-2023-7008"
    assert "status" in by_file["CVE-2024-0004.json"].message
    assert str(tmp_path / "CVE-2024-0001.json") in str(by_file["CVE-2024-0001.json"])


def test_rejected_record(recent: Path) -> None:
    doc = _load(recent / "CVE-2023-7008.json")
    doc["cveMetadata"]["state"] = "REJECTED"
    doc["containers"] = {
        "cna": {
            "providerMetadata": doc["containers"]["cna"]["providerMetadata"],
            "rejectedReasons": [{"lang": "en", "value": "This CVE ID is a duplicate of CVE-2023-7009."}],
        }
    }
    rec = parse_record(doc, origin="x.json")
    assert rec.rejected and rec.affected == () and rec.metrics == ()
    assert rec.description == "This CVE ID is a duplicate of CVE-2023-7009."


def test_parse_record_errors() -> None:
    with pytest.raises(RecordError, match="missing cveMetadata"):
        parse_record({"dataType": "CVE_RECORD", "containers": {}}, origin="f.json")
    with pytest.raises(RecordError, match=r"invalid cveMetadata\.cveId"):
        parse_record({"cveMetadata": {"cveId": "CVE-24-1", "state": "PUBLISHED"}}, origin="f.json")
    with pytest.raises(InputError, match="no such file or directory"):
        Cve5Source("/nonexistent/cvelist")


# --- cvelistV5 layout and deltas --------------------------------------------------------------------------


def test_record_path() -> None:
    assert record_path("CVE-2024-3094") == "cves/2024/3xxx/CVE-2024-3094.json"
    assert record_path("CVE-2024-45338") == "cves/2024/45xxx/CVE-2024-45338.json"
    assert record_path("CVE-2026-1965") == "cves/2026/1xxx/CVE-2026-1965.json"
    with pytest.raises(InputError):
        record_path("CVE-2023-99")


def _delta(fetch: str, new: list[str], updated: list[str]) -> dict[str, Any]:
    def item(cve: str) -> dict[str, str]:
        return {
            "cveId": cve,
            "cveOrgLink": f"https://www.cve.org/CVERecord?id={cve}",
            "githubLink": f"https://raw.githubusercontent.com/CVEProject/cvelistV5/main/{record_path(cve)}",
            "dateUpdated": fetch,
        }

    return {
        "fetchTime": fetch,
        "numberOfChanges": len(new) + len(updated),
        "new": [item(c) for c in new],
        "updated": [item(c) for c in updated],
        "error": [],
    }


@pytest.fixture
def checkout(recent: Path, tmp_path: Path) -> Path:
    """A cvelistV5-shaped checkout with four genuine records and a deltaLog of two deltas."""
    root = tmp_path / "cvelistV5"
    for cve in ("CVE-2023-7008", "CVE-2024-45338", "CVE-2025-27144", "CVE-2026-35535"):
        dest = root / record_path(cve)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(recent / f"{cve}.json", dest)
    log = [
        _delta("2026-09-01T12:10:00.000Z", ["CVE-2026-35535"], ["CVE-2024-45338", "CVE-2099-12345"]),
        _delta("2026-08-31T00:10:00.000Z", [], ["CVE-2023-7008", "CVE-2024-45338"]),
    ]
    (root / "cves" / "deltaLog.json").write_text(json.dumps(log), encoding="utf-8")
    (root / "cves" / "delta.json").write_text(json.dumps(log[0]), encoding="utf-8")
    return root


def test_folder_source_skips_delta_files(checkout: Path) -> None:
    records, problems = _records(Cve5Source(checkout))
    assert problems == []
    assert [r.cve_id for r in records] == [
        "CVE-2023-7008",
        "CVE-2024-45338",
        "CVE-2025-27144",
        "CVE-2026-35535",
    ]


def test_delta_log_from_checkout(checkout: Path) -> None:
    source = Cve5Source(checkout, delta="cves/deltaLog.json")
    # oldest delta first, each id once; an id whose file is missing is a problem naming the expected path
    assert source.delta_ids() == ["CVE-2023-7008", "CVE-2024-45338", "CVE-2026-35535", "CVE-2099-12345"]
    records, problems = _records(source)
    assert [r.cve_id for r in records] == ["CVE-2023-7008", "CVE-2024-45338", "CVE-2026-35535"]
    assert len(problems) == 1
    assert problems[0].origin.endswith("cves/2099/12xxx/CVE-2099-12345.json")
    assert "no such file" in problems[0].message

    since = Cve5Source(checkout / "cves", delta="delta.json")
    assert since.delta_ids() == ["CVE-2026-35535", "CVE-2024-45338", "CVE-2099-12345"]
    later = Cve5Source(
        checkout, delta="cves/deltaLog.json", since=datetime(2026, 9, 1, tzinfo=UTC)
    ).delta_ids()
    assert later == ["CVE-2026-35535", "CVE-2024-45338", "CVE-2099-12345"]


def test_delta_shape_is_checked() -> None:
    with pytest.raises(InputError, match="not a cvelistV5 delta"):
        delta_cve_ids({"vulnerabilities": []})


def test_delta_over_http(recent: Path) -> None:
    """A delta URL without a checkout: every record is fetched from the base URL."""
    base = "https://example.test/cvelistV5"
    delta = _delta("2026-09-01T12:10:00.000Z", ["CVE-2026-35535"], ["CVE-2024-45338"])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith("delta.json"):
            return httpx.Response(200, json=delta)
        m = re.search(r"(CVE-\d+-\d+)\.json$", request.url.path)
        assert m is not None
        return httpx.Response(200, content=(recent / f"{m[1]}.json").read_bytes())

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        source = Cve5Source(None, delta=f"{base}/cves/delta.json", base_url=base, client=client)
        records, problems = _records(source)
    assert problems == []
    assert [r.cve_id for r in records] == ["CVE-2026-35535", "CVE-2024-45338"]
    assert seen[1] == f"{base}/cves/2026/35xxx/CVE-2026-35535.json"


def test_http_errors_are_input_errors() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503 if len(calls) == 1 else 404)

    with (
        httpx.Client(transport=httpx.MockTransport(handler)) as client,
        pytest.raises(InputError, match="HTTP 404"),
    ):
        read_location("https://example.test/x.json", client=client, sleep=lambda _s: None)
    assert len(calls) == 2  # the 503 was retried, the 404 was not


# --- the store ----------------------------------------------------------------------------------------------


def test_store_round_trip(engine: Engine, recent: Path, osv_cve5: Path) -> None:
    parsed, _ = _records(Cve5Source(recent))
    report = import_cve5(engine, Cve5Source(recent))
    assert report.status == "ok" and report.read == len(parsed)
    assert report.stats.new == len(parsed)
    with engine.connect() as conn:
        assert count_cve5(conn) == len(parsed)
        loaded = load_cve5(conn, [r.cve_id for r in parsed])
        assert last_success(conn, "cve5") is not None
        assert recent_runs(conn, 1)[0].source == "cve5"
    assert loaded == sorted(parsed, key=lambda r: r.cve_id)

    # the same records again: nothing changes
    again = import_cve5(engine, Cve5Source(recent))
    assert (again.stats.new, again.stats.updated, again.stats.unchanged) == (0, 0, len(parsed))

    # the same CVE in both folders (osv.dev's copy is older): the newer dateUpdated is kept
    both = _by_id(_records(Cve5Source(osv_cve5))[0])
    with engine.begin() as conn:
        stats = upsert_cve5(conn, [both["CVE-2024-3094"]])
        assert stats.new == 1
        stats = upsert_cve5(conn, [both["CVE-2024-3094"]])
        assert stats.unchanged == 1


def test_update_replaces_affected_rows(engine: Engine, recent: Path) -> None:
    rec = read_record(str(recent / "CVE-2023-7008.json"))
    assert isinstance(rec, Cve5Record)
    with engine.begin() as conn:
        upsert_cve5(conn, [rec])
    doc = _load(recent / "CVE-2023-7008.json")
    newer = copy.deepcopy(doc)
    newer["cveMetadata"]["dateUpdated"] = "2025-01-01T00:00:00.000Z"
    newer["containers"]["cna"]["affected"] = newer["containers"]["cna"]["affected"][:1]
    older = copy.deepcopy(doc)
    older["cveMetadata"]["dateUpdated"] = "2020-01-01T00:00:00.000Z"
    with engine.begin() as conn:
        stats = upsert_cve5(conn, [parse_record(newer)])
        assert (stats.updated, stats.new) == (1, 0)
        n = conn.execute(select(func.count()).select_from(T_AFFECTED)).scalar_one()
        assert n == 1
        stats = upsert_cve5(conn, [parse_record(older)])
        assert stats.unchanged == 1
        (stored,) = load_cve5(conn, ["CVE-2023-7008"])
        assert stored.date_updated == datetime(2025, 1, 1, tzinfo=UTC)
        hits = find_affected(conn, package_name="SYSTEMD")
        assert [(cve, e.product) for cve, e in hits] == [("CVE-2023-7008", "Red Hat Enterprise Linux 8")]
