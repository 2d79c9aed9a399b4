"""Shared fixtures for the publishing tests: a genuine NVD record and hand-built verdicts."""

from __future__ import annotations

import json

import pytest

from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import CvssSummary, Evidence, Severity, Status, Verdict

from ..conftest import NVD, SHARED

NVD_RECORDS = NVD / "nvd-2.0-records" / "fkie"
CSAF_ROOT = SHARED / "schemas" / "csaf" / "csaf_2.0"

CVE = "CVE-2023-38545"
RELEASE = "3.0"
CVSS = CvssSummary("3.1", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "nvd@nist.gov")


def load_vulnerability(cve: str) -> Vulnerability:
    """The genuine NVD API 2.0 record, through the project's parser."""
    from cvewatch.sources.nvd_json import parse_cve

    path = NVD_RECORDS / f"{cve}.json"
    return parse_cve(json.loads(path.read_text(encoding="utf-8")), origin=str(path))


def verdict(
    package: str,
    version: str,
    status: Status,
    *evidence: tuple[str, str],
    fixed_in: str | None = None,
    cve: str = CVE,
    release: str = RELEASE,
    image: str | None = None,
) -> Verdict:
    return Verdict(
        cve=cve,
        package=package,
        release=release,
        image=image,
        version=version,
        status=status,
        fixed_in=fixed_in,
        severity=Severity.CRITICAL,
        cvss=CVSS,
        evidence=tuple(Evidence(k, d) for k, d in evidence),
    )


@pytest.fixture(scope="session")
def curl_cve() -> Vulnerability:
    return load_vulnerability(CVE)


@pytest.fixture(scope="session")
def mixed_verdicts() -> list[Verdict]:
    """Several source packages of one release, one of each status (the CVE is curl's; the others stand in for
    packages that bundle or wrap libcurl)."""
    return [
        verdict(
            "curl",
            "0:8.11.1-3.azl3",
            Status.FIXED,
            (
                "version-range",
                "curl 8.11.1 is newer than the last vulnerable upstream version (before 8.4.0).",
            ),
            ("changelog", "The curl 8.4.0-1 changelog entry names CVE-2023-38545."),
            fixed_in="0:8.4.0-1.azl3",
        ),
        verdict(
            "openssl",
            "1:3.3.2-1.azl3",
            Status.AFFECTED,
            ("cpe-match", "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:* matches the bundled libcurl 8.3.0."),
            ("version-range", "libcurl 8.3.0 is within [7.69.0, 8.4.0)."),
            fixed_in="1:3.3.5-5.azl3",
        ),
        verdict(
            "cmake",
            "0:3.30.3-6.azl3",
            Status.NOT_AFFECTED,
            ("nopatch", "SPECS/cmake/CVE-2023-38545.nopatch: cmake is built against the system curl."),
        ),
        verdict(
            "rust",
            "0:1.86.0-1.azl3",
            Status.UNDER_INVESTIGATION,
            ("cpe-match", "The vendored curl-sys crate may carry libcurl; its version is not known yet."),
        ),
        verdict("libgit2", "0:1.7.2-1.azl3", Status.AFFECTED),
    ]
