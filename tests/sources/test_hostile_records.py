"""Records the store cannot keep as they are: a NUL character in a text, an over-long id or value.

PostgreSQL refuses a NUL in any text and a value longer than its ``VARCHAR`` column, and it refuses the
whole statement: before these checks one such record in a folder of genuine files made the whole batch fail
(0 of 57 files imported) and stuck an API sync on its page. Now the one record is a problem naming it and the
field, and the rest imports, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String

from cvewatch.errors import RecordError
from cvewatch.model import records
from cvewatch.model.records import CVE_ID_RE, RecordProblem, Vulnerability
from cvewatch.sources import cve5 as cve5_source
from cvewatch.sources import epss as epss_source
from cvewatch.sources import kev as kev_source
from cvewatch.sources.cve5 import Cve5Source, import_cve5, parse_record
from cvewatch.sources.importer import import_source
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.sources.nvd_json import iter_document, nul_free, parse_cve
from cvewatch.store import models
from cvewatch.store.cve5 import load_cve5
from cvewatch.store.vulnerabilities import load_vulnerabilities

OVERLONG_ID = "CVE-2024-" + "1" * 40


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _with_cpe(cve: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(cve)
    out["configurations"][0]["nodes"][0]["cpeMatch"][0].update(change)
    return out


@pytest.fixture(scope="module")
def curl(nvd_data: Path) -> dict[str, Any]:
    return _load(nvd_data / "nvd-2.0-records" / "fkie" / "CVE-2023-38545.json")


# --- ids ---


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("CVE-2024-3094", True),
        ("CVE-2024-" + "9" * 23, True),  # 32 characters: what the id columns hold
        ("CVE-2024-" + "9" * 24, False),
        ("CVE-2024-3094\n", False),  # `$` would have let the newline through
        ("CVE-２０２４-3094", False),  # full-width digits pass `\d`
        ("CVE-2024-٣٠٩٤", False),  # Arabic-Indic digits too
        ("CVE-2024-309", False),
    ],
)
def test_cve_ids_are_ascii_and_fit_the_store(value: str, ok: bool) -> None:
    assert bool(CVE_ID_RE.match(value)) is ok


def test_the_limits_are_the_store_columns() -> None:
    """Every limit the sources check is the length of the column the value goes to."""
    m = models
    limits = [
        (records.CVE_ID_MAX_LENGTH, m.VulnerabilityRow, "id"),
        (records.CVE_ID_MAX_LENGTH, m.Cve5RecordRow, "cve_id"),
        (records.CVE_ID_MAX_LENGTH, m.KevEntryRow, "cve_id"),
        (records.CVE_ID_MAX_LENGTH, m.EpssScoreRow, "cve_id"),
        (records.MAX_SOURCE, m.VulnerabilityRow, "source_identifier"),
        (records.MAX_STATUS, m.VulnerabilityRow, "status"),
        (records.MAX_CVSS_VERSION, m.CvssMetricRow, "version"),
        (records.MAX_VECTOR, m.CvssMetricRow, "vector"),
        (records.MAX_SEVERITY, m.CvssMetricRow, "base_severity"),
        (records.MAX_SOURCE, m.CvssMetricRow, "source"),
        (records.MAX_METRIC_TYPE, m.CvssMetricRow, "type"),
        (records.MAX_CWE, m.WeaknessRow, "cwe"),
        (records.MAX_SOURCE, m.ReferenceRow, "source"),
        (records.MAX_CPE_PART, m.CpeMatchRow, "vendor"),
        (records.MAX_CPE_PART, m.CpeMatchRow, "product"),
        *(
            (records.MAX_VERSION_BOUND, m.CpeMatchRow, f"version_{bound}")
            for bound in ("start_including", "start_excluding", "end_including", "end_excluding")
        ),
        (records.MAX_MATCH_CRITERIA_ID, m.CpeMatchRow, "match_criteria_id"),
        (cve5_source.MAX_NAME, m.Cve5RecordRow, "assigner"),
        (cve5_source.MAX_CONTAINER, m.CnaAffectedRow, "container"),
        *(
            (cve5_source.MAX_NAME, m.CnaAffectedRow, c)
            for c in ("vendor", "product", "vendor_key", "product_key")
        ),
        (cve5_source.MAX_PACKAGE, m.CnaAffectedRow, "package_name"),
        (cve5_source.MAX_PACKAGE, m.CnaAffectedRow, "package_key"),
        (cve5_source.MAX_DEFAULT_STATUS, m.CnaAffectedRow, "default_status"),
        (kev_source.MAX_NAME, m.KevEntryRow, "vendor_project"),
        (kev_source.MAX_NAME, m.KevEntryRow, "product"),
        (kev_source.MAX_RANSOMWARE, m.KevEntryRow, "known_ransomware"),
        (kev_source.MAX_CATALOG_VERSION, m.KevEntryRow, "catalog_version"),
        (epss_source.MAX_MODEL_VERSION, m.EpssScoreRow, "model_version"),
    ]
    for limit, table, column in limits:
        kind = table.__table__.c[column].type  # type: ignore[attr-defined]
        assert isinstance(kind, String) and (table.__tablename__, column, kind.length) == (
            table.__tablename__,
            column,
            limit,
        )


# --- NVD records ---


def hostile_variants(curl: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str]]:
    """Damaged copies of a genuine record (each under its own id), with what the problem must say."""
    long_vendor = "cpe:2.3:a:" + "v" * 250 + ":curl:*:*:*:*:*:*:*:*"
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "nul in a cpe": (
            _with_cpe(curl, {"criteria": "cpe:2.3:a:haxx:cu\x00rl:*:*:*:*:*:*:*:*"}),
            "configurations[0].nodes[0].cpeMatch[0]: criteria contains a NUL character",
        ),
        "nul in a description": (
            {**curl, "descriptions": [{"lang": "en", "value": "heap overflow\x00"}]},
            "descriptions[0]: value contains a NUL character",
        ),
        "nul in a reference": (
            {**curl, "references": [{"url": "https://curl.se/\x00", "source": "x"}]},
            "references[0]: url contains a NUL character",
        ),
        "long version bound": (
            _with_cpe(curl, {"versionEndExcluding": "8." * 60}),
            "versionEndExcluding is 120 characters long, more than the 100 the store keeps",
        ),
        "long vendor": (
            _with_cpe(curl, {"criteria": long_vendor}),
            "the criteria's vendor is 250 characters",
        ),
        "long vector": (
            {
                **curl,
                "metrics": {
                    "cvssMetricV31": [
                        {
                            "source": "nvd@nist.gov",
                            "type": "Primary",
                            "cvssData": {"version": "3.1", "vectorString": "AV:N/" * 70, "baseScore": 9.8},
                        }
                    ]
                },
            },
            "vectorString is 350 characters long, more than the 300",
        ),
        "long status": ({**curl, "vulnStatus": "Analyzed" * 6}, "vulnStatus is 48 characters long"),
    }
    return {
        name: ({**cve, "id": f"CVE-2099-{9000 + i}"}, message)
        for i, (name, (cve, message)) in enumerate(sorted(cases.items()))
    }


def test_parse_cve_names_the_field_the_store_cannot_keep(curl: dict[str, Any]) -> None:
    for cve, message in hostile_variants(curl).values():
        with pytest.raises(RecordError, match=r"the store|NUL") as info:
            parse_cve(cve, origin="page.json")
        assert message in str(info.value) and cve["id"] in str(info.value)
    with pytest.raises(RecordError, match="invalid CVE id"):
        parse_cve({**curl, "id": OVERLONG_ID})
    assert parse_cve(curl).id == "CVE-2023-38545"  # the genuine record is fine


def test_a_page_keeps_its_good_records_and_names_each_bad_one(curl: dict[str, Any], nvd_data: Path) -> None:
    hostile = hostile_variants(curl)
    good = [_load(p) for p in sorted((nvd_data / "recent").glob("CVE-*.json"))]
    page = {"vulnerabilities": [{"cve": c} for c in [*good, *(c for c, _ in hostile.values())]]}
    raw = json.dumps(page).encode()
    assert not nul_free(raw) and nul_free(json.dumps({"vulnerabilities": good}).encode())
    items = list(iter_document(json.loads(raw), origin="page.json", nul_free=nul_free(raw)))
    vulns = [i for i in items if isinstance(i, Vulnerability)]
    problems = [i for i in items if isinstance(i, RecordProblem)]
    assert [v.id for v in vulns] == [c["id"] for c in good]
    assert sorted((p.record_id, p.message) for p in problems) == sorted(
        (c["id"], p.message) for c, _ in hostile.values() for p in problems if p.record_id == c["id"]
    )
    for cve, message in hostile.values():
        (problem,) = [p for p in problems if p.record_id == cve["id"]]
        assert message in problem.message


def test_one_bad_file_among_genuine_ones_no_longer_fails_the_import(
    engine: Engine, tmp_path: Path, nvd_data: Path, curl: dict[str, Any]
) -> None:
    """The reported case: a folder of genuine per-CVE files where three are hostile (a NUL in a CPE, a NUL
    in a description, an over-long id). On PostgreSQL the batch holding them failed whole."""
    folder = tmp_path / "nvd"
    shutil.copytree(nvd_data / "recent", folder, ignore=shutil.ignore_patterns("INDEX.csv"))
    files = sorted(folder.glob("CVE-*.json"))
    hostile = {
        files[0]: {"descriptions": [{"lang": "en", "value": "a\x00b"}]},
        files[1]: {"id": OVERLONG_ID},
    }
    for path, change in hostile.items():
        path.write_text(json.dumps({**_load(path), **change}), encoding="utf-8")
    with_cpe = next(p for p in files[2:] if _load(p).get("configurations"))
    with_cpe.write_text(json.dumps(_with_cpe(_load(with_cpe), {"criteria": "cpe:2.3:a:x:\x00:*"})))
    report = import_source(engine, NvdFileSource(folder), origin=str(folder))
    bad = {files[0].name, files[1].name, with_cpe.name}
    assert report.read == len(files) - 3 and report.stats.new == len(files) - 3
    assert sorted(Path(p.origin).name for p in report.problems) == sorted(bad)
    assert any("invalid CVE id" in p.message for p in report.problems)
    assert sum("NUL character" in p.message for p in report.problems) == 2
    with engine.connect() as conn:
        stored = {v.id for v in load_vulnerabilities(conn)}
    assert stored == {p.stem for p in files if p.name not in bad}


# --- CVE JSON 5 ---


def test_cve5_records_the_store_cannot_keep_are_problems_and_the_rest_imports(
    engine: Engine, tmp_path: Path, cve5_data: Path
) -> None:
    folder = tmp_path / "cve5"
    shutil.copytree(cve5_data / "recent", folder)
    files = sorted(folder.glob("CVE-*.json"))
    damaged: dict[Path, str] = {}
    doc = _load(files[0])
    doc["containers"]["cna"]["affected"][0]["product"] = "glibc\x00"
    files[0].write_text(json.dumps(doc))
    damaged[files[0]] = "affected entry 0 ('cna'): product contains a NUL character"
    doc = _load(files[1])
    doc["containers"]["cna"]["affected"][0]["packageName"] = "p" * 301
    files[1].write_text(json.dumps(doc))
    damaged[files[1]] = "packageName is 301 characters long, more than the 300 the store keeps"
    doc = _load(files[2])
    doc["cveMetadata"]["assignerShortName"] = "a" * 201
    files[2].write_text(json.dumps(doc))
    damaged[files[2]] = "the assigner is 201 characters long"
    doc = _load(files[3])
    doc["cveMetadata"]["cveId"] = OVERLONG_ID
    files[3].write_text(json.dumps(doc))
    damaged[files[3]] = "invalid cveMetadata.cveId"
    with pytest.raises(RecordError, match="NUL character"):
        parse_record(_load(files[0]))
    report = import_cve5(engine, Cve5Source(folder))
    assert report.read == len(files) - 4
    by_file = {Path(p.origin).name: p.message for p in report.problems}
    assert sorted(by_file) == sorted(p.name for p in damaged)
    for path, message in damaged.items():
        assert message in by_file[path.name]
    with engine.connect() as conn:
        stored = {r.cve_id for r in load_cve5(conn, [p.stem for p in files] + [OVERLONG_ID])}
    assert stored == {p.stem for p in files[4:]}


# --- KEV and EPSS ---


def test_kev_entries_and_epss_headers_the_store_cannot_keep_are_problems() -> None:
    entry = {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j\x00", "dateAdded": ""}
    other = {"cveID": "CVE-2024-3094", "vendorProject": "Tukaani", "product": "xz"}
    catalog = kev_source.parse_catalog(
        {"catalogVersion": "9" * 41, "vulnerabilities": [entry, other, {"cveID": OVERLONG_ID}]}, origin="kev"
    )
    assert [e.cve_id for e in catalog.entries] == ["CVE-2024-3094"] and catalog.catalog_version is None
    messages = [p.message for p in catalog.problems]
    assert any("product contains a NUL character" in m for m in messages)
    assert any("invalid cveID" in m for m in messages)
    assert any("catalogVersion is 41 characters long" in m for m in messages)
    scores = epss_source.parse_csv(
        "#model_version:v\x00,score_date:2026-11-27\ncve,epss,percentile\n", origin="e"
    )
    assert scores.model_version is None and "model_version contains a NUL" in scores.problems[0].message
