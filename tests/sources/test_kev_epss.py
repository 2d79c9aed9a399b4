"""CISA KEV and FIRST EPSS: parsing the real formats, reading files and URLs, replacing the stored data."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from cvewatch.errors import InputError
from cvewatch.sources.epss import import_epss, parse_csv, read_scores
from cvewatch.sources.kev import import_kev, parse_catalog, read_catalog
from cvewatch.store.kev_epss import epss_score_date, kev_ids, load_epss, load_kev
from cvewatch.store.sync_runs import last_success, recent_runs

# --- KEV ---------------------------------------------------------------------------------------------------


def _kev_entry(
    cve: str, vendor: str, product: str, name: str, added: str, due: str, **extra: Any
) -> dict[str, Any]:
    entry = {
        "cveID": cve,
        "vendorProject": vendor,
        "product": product,
        "vulnerabilityName": name,
        "dateAdded": added,
        "shortDescription": extra.get("desc", f"{name}."),
        "requiredAction": "Apply mitigations per vendor instructions or discontinue use of the product if "
        "mitigations are unavailable.",
        "dueDate": due,
        "knownRansomwareCampaignUse": extra.get("ransomware", "Unknown"),
        "notes": extra.get("notes", f"https://nvd.nist.gov/vuln/detail/{cve}"),
        "cwes": extra.get("cwes", []),
    }
    return entry


def kev_catalog(
    *, version: str = "2026.11.27", drop: str | None = None, add: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A small catalogue in the feed's shape, of CVEs that are in CISA's catalogue and in the NVD samples."""
    entries = [
        _kev_entry(
            "CVE-2021-44228",
            "Apache",
            "Log4j2",
            "Apache Log4j2 Remote Code Execution Vulnerability",
            "2021-12-10",
            "2021-12-24",
            ransomware="Known",
            cwes=["CWE-20", "CWE-400", "CWE-502"],
            desc="Apache Log4j2 contains a vulnerability where JNDI features do not protect against "
            "attacker-controlled JNDI-related endpoints, allowing for remote code execution.",
        ),
        _kev_entry(
            "CVE-2022-0847",
            "Linux",
            "Kernel",
            "Linux Kernel Privilege Escalation Vulnerability",
            "2022-04-25",
            "2022-05-16",
            cwes=["CWE-665"],
        ),
        _kev_entry(
            "CVE-2023-4863",
            "Google",
            "Chromium WebP",
            "Google Chromium WebP Heap-Based Buffer Overflow Vulnerability",
            "2023-09-13",
            "2023-10-04",
            cwes=["CWE-787"],
        ),
    ]
    entries = [e for e in entries if e["cveID"] != drop]
    if add:
        entries.append(add)
    return {
        "title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": version,
        "dateReleased": f"{version.replace('.', '-')}T17:03:22.7216Z",
        "count": len(entries),
        "vulnerabilities": entries,
    }


def test_kev_ids_are_real_nvd_samples(nvd_data: Path) -> None:
    names = {p.stem for p in (nvd_data / "nvd-2.0-records").rglob("CVE-*.json")}
    names |= {p.stem.removeprefix("cvelistV5-") for p in (nvd_data / "cve5-records").rglob("*.json")}
    assert {e["cveID"] for e in kev_catalog()["vulnerabilities"]} <= names


def test_parse_catalog() -> None:
    cat = parse_catalog(kev_catalog(), origin="kev.json")
    assert cat.problems == ()
    assert cat.catalog_version == "2026.11.27"
    assert cat.date_released == datetime(2026, 11, 27, 17, 3, 22, 721600, tzinfo=UTC)
    assert cat.count == 3
    log4j = cat.entries[0]
    assert log4j.cve_id == "CVE-2021-44228"
    assert (log4j.vendor_project, log4j.product) == ("Apache", "Log4j2")
    assert log4j.name == "Apache Log4j2 Remote Code Execution Vulnerability"
    assert (log4j.date_added, log4j.due_date) == (date(2021, 12, 10), date(2021, 12, 24))
    assert log4j.known_ransomware == "Known"
    assert log4j.cwes == ("CWE-20", "CWE-400", "CWE-502")
    assert log4j.notes == "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"


def test_bad_kev_entries_are_problems() -> None:
    doc = kev_catalog()
    doc["vulnerabilities"].append({**doc["vulnerabilities"][1], "dueDate": "16/05/2022"})  # also a repeat
    doc["vulnerabilities"].append({"cveID": "CVE-22-1"})
    cat = parse_catalog(doc, origin="kev.json")
    assert [e.cve_id for e in cat.entries] == ["CVE-2021-44228", "CVE-2022-0847", "CVE-2023-4863"]
    messages = [p.message for p in cat.problems]
    assert any("dueDate is not a date" in m for m in messages)
    assert any("invalid cveID 'CVE-22-1'" in m for m in messages)
    assert any("count says 3 but 5 are listed" in m for m in messages)
    with pytest.raises(InputError, match="not a KEV catalogue"):
        parse_catalog({"catalogVersion": "x"}, origin="kev.json")


def test_read_catalog_file_gz_and_url(tmp_path: Path) -> None:
    doc = kev_catalog()
    gz = tmp_path / "known_exploited_vulnerabilities.json.gz"
    gz.write_bytes(gzip.compress(json.dumps(doc).encode()))
    assert len(read_catalog(gz).entries) == 3

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("known_exploited_vulnerabilities.json")
        return httpx.Response(200, json=doc)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        cat = read_catalog(
            "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
            client=client,
        )
    assert cat.catalog_version == "2026.11.27"
    truncated = tmp_path / "kev.json"
    truncated.write_text(json.dumps(doc)[:500], encoding="utf-8")
    with pytest.raises(InputError, match="invalid JSON"):
        read_catalog(truncated)


def test_kev_replaced_as_a_catalogue(engine: Engine, tmp_path: Path) -> None:
    first = tmp_path / "kev-1.json"
    first.write_text(json.dumps(kev_catalog()), encoding="utf-8")
    r = import_kev(engine, first)
    assert (r.entries, r.added, r.removed, r.catalog_version) == (3, 3, 0, "2026.11.27")
    with engine.connect() as conn:
        assert kev_ids(conn) == {"CVE-2021-44228", "CVE-2022-0847", "CVE-2023-4863"}
        (log4j,) = load_kev(conn, ["CVE-2021-44228"])
        assert log4j.due_date == date(2021, 12, 24) and log4j.known_ransomware == "Known"
        assert last_success(conn, "kev") is not None

    # the next catalogue drops one CVE and adds another: the stored catalogue is the new one
    xz = _kev_entry(
        "CVE-2024-3094", "Tukaani", "xz", "XZ Utils Embedded Malicious Code", "2026-11-28", "2026-12-19"
    )
    second = tmp_path / "kev-2.json"
    second.write_text(json.dumps(kev_catalog(version="2026.11.28", drop="CVE-2022-0847", add=xz)))
    r = import_kev(engine, second)
    assert (r.entries, r.added, r.removed) == (3, 1, 1)
    with engine.connect() as conn:
        stored = load_kev(conn)
        assert [k.cve_id for k in stored] == ["CVE-2021-44228", "CVE-2023-4863", "CVE-2024-3094"]
        assert {k.catalog_version for k in stored} == {"2026.11.28"}

    # an empty catalogue never wipes the stored one; the run is recorded as failed
    empty = tmp_path / "kev-empty.json"
    empty.write_text(json.dumps({**kev_catalog(), "vulnerabilities": [], "count": 0}), encoding="utf-8")
    with pytest.raises(InputError, match="lists no vulnerability"):
        import_kev(engine, empty)
    with engine.connect() as conn:
        assert len(kev_ids(conn)) == 3
        assert recent_runs(conn, 1)[0].status == "failed"


# --- EPSS --------------------------------------------------------------------------------------------------

EPSS_CSV = """#model_version:v2025.03.14,score_date:2026-11-27T12:55:00Z
cve,epss,percentile
CVE-2021-44228,0.94358,0.99961
CVE-2022-0847,0.85234,0.99352
CVE-2023-4863,0.56101,0.97735
CVE-2024-3094,0.84211,0.99290
CVE-2024-6387,0.37463,0.97041
CVE-2023-38545,0.25337,0.96004
"""


def test_parse_epss_csv() -> None:
    data = parse_csv(EPSS_CSV, origin="epss.csv")
    assert data.problems == ()
    assert data.model_version == "v2025.03.14"
    assert data.score_date == date(2026, 11, 27)
    assert len(data.scores) == 6
    assert data.scores[0].cve_id == "CVE-2021-44228"
    assert (data.scores[0].score, data.scores[0].percentile) == (0.94358, 0.99961)


def test_bad_epss_lines_are_problems_with_line_numbers() -> None:
    text = EPSS_CSV + "CVE-2025-0001,1.7,0.5\nnot-a-cve,0.1,0.2\nCVE-2025-0002,0.1\nCVE-2021-44228,0.1,0.1\n"
    data = parse_csv(text, origin="epss.csv")
    assert len(data.scores) == 6  # the repeated CVE keeps its first line
    assert [p.origin for p in data.problems] == ["epss.csv:9", "epss.csv:10", "epss.csv:11"]
    assert "not between 0 and 1" in data.problems[0].message
    with pytest.raises(InputError, match="cve,epss,percentile"):
        parse_csv("#model_version:v1\nid,score\n", origin="epss.csv")


def test_read_epss_gz_and_url(tmp_path: Path) -> None:
    gz = tmp_path / "epss_scores-2026-11-27.csv.gz"
    gz.write_bytes(gzip.compress(EPSS_CSV.encode()))
    assert len(read_scores(gz).scores) == 6
    plain = tmp_path / "epss.csv"
    plain.write_text(EPSS_CSV, encoding="utf-8")
    assert read_scores(plain).score_date == date(2026, 11, 27)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gz.read_bytes())

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        data = read_scores("https://epss.empiricalsecurity.com/epss_scores-current.csv.gz", client=client)
    assert data.model_version == "v2025.03.14"


def test_epss_replaced_per_day(engine: Engine, tmp_path: Path) -> None:
    day1 = tmp_path / "day1.csv"
    day1.write_text(EPSS_CSV, encoding="utf-8")
    r = import_epss(engine, day1)
    assert (r.scores, r.replaced, r.stale) == (6, 0, False)
    with engine.connect() as conn:
        assert epss_score_date(conn) == date(2026, 11, 27)
        got = load_epss(conn, ["CVE-2021-44228", "CVE-1999-0001"])
        assert list(got) == ["CVE-2021-44228"]
        assert got["CVE-2021-44228"].score == pytest.approx(0.94358)
        assert got["CVE-2021-44228"].model_version == "v2025.03.14"

    # the next day replaces the whole day (a CVE missing from it is gone)
    day2 = tmp_path / "day2.csv.gz"
    text2 = EPSS_CSV.replace("2026-11-27", "2026-11-28").replace("0.94358", "0.94400")
    text2 = "\n".join(line for line in text2.splitlines() if not line.startswith("CVE-2023-38545")) + "\n"
    day2.write_bytes(gzip.compress(text2.encode()))
    r = import_epss(engine, day2)
    assert (r.scores, r.replaced, r.stale) == (5, 6, False)
    with engine.connect() as conn:
        assert epss_score_date(conn) == date(2026, 11, 28)
        got = load_epss(conn, ["CVE-2021-44228", "CVE-2023-38545"])
        assert list(got) == ["CVE-2021-44228"] and got["CVE-2021-44228"].score == pytest.approx(0.944)

    # an older day is skipped unless asked for
    r = import_epss(engine, day1)
    assert r.stale and r.replaced == 0
    with engine.connect() as conn:
        assert epss_score_date(conn) == date(2026, 11, 28)
    r = import_epss(engine, day1, allow_older=True)
    assert not r.stale
    with engine.connect() as conn:
        assert epss_score_date(conn) == date(2026, 11, 27)
        assert last_success(conn, "epss") is not None
