"""Each decision rule on real NVD records and the real Azure Linux 3.0 specs."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from cvewatch.errors import InputError
from cvewatch.inventory.specfile import parse_spec
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.rules import decide
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Severity, Status, Verdict
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.sources.nvd_json import parse_cve
from cvewatch.versions.rpm import EVR

from ..conftest import NVD, SPECS

MAPPING = PackageMapping.load()


def record(cve: str) -> Vulnerability:
    for folder in ("recent", "nvd-2.0-records/fkie", "nvd-2.0-records/osv.dev"):
        path = NVD / folder / f"{cve}.json"
        if path.exists():
            return parse_cve(json.loads(path.read_text()), origin=str(path))
    for item in NvdFileSource(NVD / "api2.0-shape" / "converted-from-1.1-sample.json.gz").records():
        if item.vulnerability is not None and item.vulnerability.id == cve:
            return item.vulnerability
    raise LookupError(cve)


def spec(name: str) -> SourcePackage:
    result = parse_spec(SPECS / name / f"{name}.spec")
    assert result.package is not None, result.problems
    return result.package


def verdict(cve: str, package: str, **kw: object) -> Verdict:
    pkg = spec(package)
    v = decide(record(cve), pkg, MAPPING.names_for(pkg.name), release="azl3", dist=".azl3", **kw)  # type: ignore[arg-type]
    assert v is not None
    return v


def kinds(v: Verdict) -> list[str]:
    return [e.kind for e in v.evidence]


def test_curl_socks5_overflow_is_not_affected_and_the_evidence_says_why() -> None:
    # CVE-2023-38545: haxx:libcurl [7.69.0, 8.4.0); Azure Linux 3.0 ships curl 8.11.1, and its %changelog
    # says "8.3.0-2: added patches to fix CVE-2023-38545": fixed since 0:8.3.0-2.azl3, and past the range.
    v = verdict("CVE-2023-38545", "curl")
    assert v.status is Status.FIXED
    assert v.fixed_in == "0:8.3.0-2.azl3"
    assert v.version.startswith("0:8.11.1-")
    assert v.severity is Severity.CRITICAL and v.cvss is not None and v.cvss.score == 9.8
    detail = next(e.detail for e in v.evidence if e.kind == "version-not-affected")
    assert "8.11.1" in detail and "8.4.0" in detail and "past" in detail
    assert any(
        "haxx:libcurl" in e.detail and "curated" in e.detail for e in v.evidence if e.kind == "cpe-match"
    )
    assert "8.3.0-2" in next(e.detail for e in v.evidence if e.kind == "changelog")


def test_past_the_range_without_distribution_evidence_is_not_affected() -> None:
    curl = dataclasses.replace(spec("curl"), patches=(), changelog=())
    v = decide(record("CVE-2023-38545"), curl, MAPPING.names_for("curl"), release="azl3", dist=".azl3")
    assert v is not None and v.status is Status.NOT_AFFECTED and v.fixed_in is None


def test_the_same_cve_on_an_old_curl_is_affected() -> None:
    old = dataclasses.replace(spec("curl"), version="8.3.0", release="1.azl3", patches=(), changelog=())
    v = decide(record("CVE-2023-38545"), old, MAPPING.names_for("curl"), release="azl3", dist=".azl3")
    assert v is not None and v.status is Status.AFFECTED and v.fixed_in is None
    assert "version-affected" in kinds(v)


def test_a_cve_patch_file_makes_the_package_fixed_in_the_spec_evr() -> None:
    pkg = spec("curl")
    v = verdict("CVE-2026-1965", "curl")
    assert v.status is Status.FIXED
    assert v.fixed_in is not None and EVR.parse(v.fixed_in) <= pkg.evr
    assert v.fixed_in.endswith(".azl3")
    assert any("CVE-2026-1965.patch" in e.detail for e in v.evidence if e.kind == "patch")


def test_a_patch_fixes_even_when_nvd_has_not_analysed_the_cve() -> None:
    # CVE-2025-24528 (krb5) is "Received" with no configuration; the spec carries CVE-2025-24528.patch
    v = verdict("CVE-2025-24528", "krb5")
    assert v.status is Status.FIXED
    assert "cpe-match" not in kinds(v) and "patch" in kinds(v)


def test_a_nopatch_file_makes_the_package_not_affected_with_its_justification() -> None:
    # kernel/CVE-2021-3669.nopatch: "Fix already present in 6.6.X LTS kernel"; NVD names every version
    v = verdict("CVE-2021-3669", "kernel")
    assert v.status is Status.NOT_AFFECTED
    nopatch = next(e.detail for e in v.evidence if e.kind == "nopatch")
    assert "Fix already present in 6.6.X LTS kernel" in nopatch
    assert "version-unknown" in kinds(v)


def test_a_rangeless_criterion_is_under_investigation_not_affected() -> None:
    kernel = dataclasses.replace(spec("kernel"), triage=())
    v = decide(record("CVE-2021-3669"), kernel, MAPPING.names_for("kernel"), release="azl3", dist=".azl3")
    assert v is not None and v.status is Status.UNDER_INVESTIGATION
    assert "every version" in next(e.detail for e in v.evidence if e.kind == "version-unknown")


def test_an_image_older_than_the_fix_is_affected_and_says_where_the_fix_is() -> None:
    pkg = spec("curl")
    fix = verdict("CVE-2026-1965", "curl").fixed_in
    assert fix is not None
    older = EVR(0, "8.11.1", "1.azl3")
    assert older < EVR.parse(fix)
    v = verdict("CVE-2026-1965", "curl", image="img", installed=older)
    assert v.status is Status.AFFECTED and v.fixed_in == fix and v.version == "0:8.11.1-1.azl3"
    v2 = verdict("CVE-2026-1965", "curl", image="img", installed=pkg.evr)
    assert v2.status is Status.FIXED


def test_and_configurations_record_the_platform_as_a_condition() -> None:
    # CVE-2022-0847 (Dirty Pipe): linux_kernel ranges, some ANDed with a non-vulnerable platform
    v = verdict("CVE-2022-0847", "kernel")
    assert v.status is Status.NOT_AFFECTED  # 6.6 is past the fixed 5.16.11 / 5.15.25 / 5.10.102
    assert all("6.6" in e.detail for e in v.evidence if e.kind == "version-not-affected")


def test_an_unrelated_cve_gives_no_verdict() -> None:
    pkg = spec("zlib")
    assert (
        decide(record("CVE-2023-38545"), pkg, MAPPING.names_for("zlib"), release="azl3", dist=".azl3") is None
    )


def triage(status: Status, **kw: object) -> TriageRecord:
    return TriageRecord(
        cve="CVE-2026-1965",
        package="curl",
        status=status,
        author="alice",
        created_at=datetime(2026, 5, 1, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )


def test_a_triage_record_overrides_a_patch() -> None:
    t = triage(
        Status.NOT_AFFECTED, justification="vulnerable_code_not_in_execute_path", detail="no SMB in curl"
    )
    v = verdict("CVE-2026-1965", "curl", triage=t)
    assert v.status is Status.NOT_AFFECTED and v.fixed_in is None
    assert kinds(v)[:2] == ["triage", "justification"]
    assert "alice" in v.evidence[0].detail and "no SMB" in v.evidence[0].detail
    assert "patch" not in kinds(v)


def test_a_fixed_triage_on_an_older_image_is_affected() -> None:
    t = triage(Status.FIXED, fixed_in="0:8.11.1-5.azl3")
    v = verdict("CVE-2026-1965", "curl", image="img", installed=EVR(0, "8.11.1", "4.azl3"), triage=t)
    assert v.status is Status.AFFECTED and v.fixed_in == "0:8.11.1-5.azl3"


def test_triage_records_are_validated() -> None:
    with pytest.raises(InputError, match="justification"):
        triage(Status.NOT_AFFECTED)
    with pytest.raises(InputError, match="fixed-in"):
        triage(Status.FIXED)
    with pytest.raises(InputError, match="not an rpm EVR"):
        triage(Status.FIXED, fixed_in="8.11.1-5:x:y")
