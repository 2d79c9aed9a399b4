"""CNA data (CVE JSON 5) decides when NVD has no configuration: real records, real specs."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import Engine

from cvewatch.inventory.specfile import parse_spec
from cvewatch.matching.cna import describes_another_distribution, judge_entry, package_aliases
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.outcome import Decision
from cvewatch.matching.rules import decide
from cvewatch.model.cve5 import AffectedEntry, AffectedVersion, Cve5Record
from cvewatch.model.verdicts import Severity, Status
from cvewatch.services.scan import run_scan
from cvewatch.sources.cve5 import parse_record
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.sources.nvd_json import parse_cve
from cvewatch.store.cve5 import upsert_cve5
from cvewatch.store.inventory import replace_release_packages
from cvewatch.store.vulnerabilities import upsert_all

from ..conftest import NVD, SHARED_DATA, SPECS

CVE5 = SHARED_DATA / "cve5" / "recent"
MAPPING = PackageMapping.load()


def cve5(cve: str) -> Cve5Record:
    return parse_record(json.loads((CVE5 / f"{cve}.json").read_text()), origin=cve)


def nvd(cve: str):  # type: ignore[no-untyped-def]
    return parse_cve(json.loads((NVD / "recent" / f"{cve}.json").read_text()), origin=cve)


def spec(name: str):  # type: ignore[no-untyped-def]
    p = parse_spec(SPECS / name / f"{name}.spec").package
    assert p is not None
    return p


def decide_with_cna(cve: str, package: str, **changes: object):  # type: ignore[no-untyped-def]
    s = dataclasses.replace(spec(package), **changes)  # type: ignore[arg-type]
    names = MAPPING.names_for(s.name)
    return decide(
        nvd(cve),
        s,
        names,
        release="azl3",
        dist=".azl3",
        cna=cve5(cve),
        aliases=package_aliases(s, names, MAPPING.cna_products(s.name)),
    )


def test_received_cve_without_nvd_configuration_is_judged_from_the_cna_range() -> None:
    # CVE-2025-24528: NVD "Received", no configuration; MIT's CNA entry: Kerberos 5 from 1.7, lessThan 1.22.
    # Without the distribution's patch, krb5 1.21.3 is affected - and the evidence says the CNA said so.
    assert not nvd("CVE-2025-24528").configurations
    v = decide_with_cna("CVE-2025-24528", "krb5", patches=(), changelog=())
    assert v is not None and v.status is Status.AFFECTED
    kinds = [e.kind for e in v.evidence]
    assert "nvd-backlog" in kinds and "cna-match" in kinds
    assert "1.21.3" in next(e.detail for e in v.evidence if e.kind == "version-affected")


def test_the_distribution_patch_still_wins_over_cna_data() -> None:
    v = decide_with_cna("CVE-2025-24528", "krb5")
    assert v is not None and v.status is Status.FIXED
    assert v.evidence[0].kind == "patch"


def test_cna_severity_is_used_when_nvd_has_none() -> None:
    # CVE-2025-14104 (util-linux, Awaiting Analysis): with NVD's record stripped of its metrics, the CNA's
    # CVSS 3.1 assessment (6.1) gives the severity
    s = dataclasses.replace(spec("util-linux"), patches=(), changelog=())
    names = MAPPING.names_for(s.name)
    bare = dataclasses.replace(nvd("CVE-2025-14104"), metrics=())
    v = decide(
        bare,
        s,
        names,
        release="azl3",
        dist=".azl3",
        cna=cve5("CVE-2025-14104"),
        aliases=package_aliases(s, names, MAPPING.cna_products(s.name)),
    )
    assert v is not None and v.status is Status.AFFECTED
    assert v.cvss is not None and (v.cvss.score, v.cvss.source) == (6.1, "cna")
    assert v.severity is Severity.MEDIUM


def test_other_distributions_entries_are_skipped() -> None:
    # CVE-2023-7008: Red Hat's entries give RHEL rpm EVRs for systemd; they say nothing about ours
    record = cve5("CVE-2023-7008")
    red_hat = [e for e in record.affected if (e.vendor or "").lower() == "red hat"]
    assert red_hat and all(describes_another_distribution(e) for e in red_hat)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("6.6.74", Decision.VULNERABLE),
        ("6.6.75", Decision.NOT_VULNERABLE),
        ("6.12.1", Decision.NOT_VULNERABLE),
        ("5.10.1", Decision.NOT_VULNERABLE),
        ("6.1.0", Decision.VULNERABLE),
    ],
)
def test_kernel_style_entries_with_wildcards_and_git_ranges(version: str, expected: Decision) -> None:
    # the shape of the Linux kernel CNA's records: git commit ranges, then semver ranges per stable branch
    entry = AffectedEntry(
        container="cna",
        vendor="Linux",
        product="Linux",
        package_name=None,
        collection_url=None,
        default_status="affected",
        versions=(
            AffectedVersion("1da177e4c3f4", "affected", less_than="9f2f5a1b2c3d", version_type="git"),
            AffectedVersion("6.1", "affected", version_type="semver"),
            AffectedVersion("0", "unaffected", less_than="6.1", version_type="semver"),
            AffectedVersion("6.6.75", "unaffected", less_than_or_equal="6.6.*", version_type="semver"),
            AffectedVersion(
                "6.12", "unaffected", less_than_or_equal="*", version_type="original_commit_for_fix"
            ),
        ),
    )
    assert judge_entry(entry, version)[0] is expected


def test_free_text_ranges_from_github_advisories() -> None:
    # CVE-2024-40635 (containerd): versions "< 1.6.38" and ">= 1.7.0-beta.0, < 1.7.27", no versionType
    entry = next(e for e in cve5("CVE-2024-40635").affected if e.container == "cna")
    assert judge_entry(entry, "1.6.37")[0] is Decision.VULNERABLE
    assert judge_entry(entry, "1.7.26")[0] is Decision.VULNERABLE
    assert judge_entry(entry, "1.7.27")[0] is not Decision.VULNERABLE
    assert judge_entry(entry, "2.0.5")[0] is not Decision.VULNERABLE


def test_a_cve_only_in_cve_json_5_gets_a_verdict_through_the_store(engine: Engine) -> None:
    # NVD does not have the record at all; the CVE JSON 5 record alone links it to util-linux
    util = dataclasses.replace(spec("util-linux"), patches=(), changelog=())
    with engine.begin() as conn:
        upsert_cve5(conn, [cve5("CVE-2025-14104")])
        upsert_all(
            conn,
            [
                i.vulnerability
                for i in NvdFileSource(NVD / "nvd-2.0-records" / "fkie").records()
                if i.vulnerability is not None
            ],
        )
        replace_release_packages(conn, "azl3", [util, spec("curl")], dist=".azl3")
    result = run_scan(engine, release="azl3")
    v = next(v for v in result.verdicts if v.cve == "CVE-2025-14104")
    assert v.package == "util-linux" and v.status is Status.AFFECTED
    assert any(e.kind == "nvd-backlog" and "Not in NVD" in e.detail for e in v.evidence)
