"""CSAF 2.0 VEX rendering, checked with the OASIS JSON schema and the PyPI ``csaf`` validator (offline)."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

from cvewatch.model.records import CvssMetric, Reference, Vulnerability
from cvewatch.model.verdicts import Status, Verdict
from cvewatch.publishing.csaf import (
    csaf_filename,
    cwe_names,
    document_path,
    dumps_csaf,
    rpm_purl,
    tracking_id,
)
from cvewatch.publishing.csaf_vex import CsafVexOptions, CsafVexPublisher, render_vex
from cvewatch.publishing.interface import DEMO_PUBLISHER, PublishedDocument, Publisher, write_documents
from cvewatch.versions.rpm import EVR

from .conftest import CSAF_ROOT, CVE, RELEASE, load_vulnerability, verdict

CSAF_CLI = Path(sys.executable).parent / "csaf"
SCHEMA_PATH = CSAF_ROOT / "json_schema" / "csaf_json_schema.json"
CVSS_SCHEMAS = CSAF_ROOT / "referenced_schema" / "first"
PRODUCT = "Azure Linux 3.0"
CURL_FIXED = "azl3-curl-0:8.11.1-3.azl3"
OPENSSL = "azl3-openssl-1:3.3.2-1.azl3"
CMAKE = "azl3-cmake-0:3.30.3-6.azl3"
RUST = "azl3-rust-0:1.86.0-1.azl3"
LIBGIT2 = "azl3-libgit2-0:1.7.2-1.azl3"


# --- helpers ------------------------------------------------------------------------------------------------


def options(**kw: Any) -> CsafVexOptions:
    """The tests' options: release 3.0 as ``azl3``, the demo publisher; ``kw`` overrides."""
    base: dict[str, Any] = {
        "release": RELEASE,
        "product_name": PRODUCT,
        "generator_version": "0.1.0",
        "release_code": "azl3",
        "publisher": DEMO_PUBLISHER,
    }
    return CsafVexOptions(**(base | kw))


def publisher() -> CsafVexPublisher:
    return CsafVexPublisher(options())


def render(vuln: Vulnerability, verdicts: Sequence[Verdict], **kw: Any) -> dict[str, Any]:
    return render_vex(vuln, verdicts, options(**kw))


@cache
def schema_validator() -> Draft202012Validator:
    """The OASIS CSAF 2.0 schema with the FIRST CVSS schemas served from the local copies (no network)."""
    registry: Registry = Registry()
    for name, spec in (("cvss-v2.0", DRAFT4), ("cvss-v3.0", DRAFT4), ("cvss-v3.1", DRAFT7)):
        contents = json.loads((CVSS_SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
        resource = Resource.from_contents(contents, default_specification=spec)
        registry = registry.with_resource(f"https://www.first.org/cvss/{name}.json", resource)
        if "$id" in contents:
            registry = registry.with_resource(contents["$id"], resource)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in schema_validator().iter_errors(document)
    ]


def run_validator(path: Path, preset: str = "mandatory") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CSAF_CLI), "validate", "--spec-version", "v20", "--no-network", "--preset", preset, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_valid(tmp_path: Path, document: dict[str, Any], *, preset: str = "mandatory") -> Path:
    """Schema-valid, and the csaf validator passes it with exit 0 and no error/warning line."""
    assert schema_errors(document) == []
    target = tmp_path / document_path(
        document["document"]["tracking"]["id"],
        datetime.fromisoformat(
            document["document"]["tracking"]["initial_release_date"].replace("Z", "+00:00")
        ),
    )
    write_documents([PublishedDocument(str(target.relative_to(tmp_path)), dumps_csaf(document))], tmp_path)
    result = run_validator(target, preset)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Overall: PASS" in output, output
    assert not re.search(r"\[(ERROR|FAIL|WARN)\]", output), output
    return target


def product_ids(document: dict[str, Any]) -> list[str]:
    versions = document["product_tree"]["branches"][0]["branches"][0]["branches"]
    return [b["product"]["product_id"] for b in versions]


# --- the validators themselves ------------------------------------------------------------------------------


def test_schema_harness_accepts_official_vex_examples_and_rejects_breakage() -> None:
    for path in sorted((CSAF_ROOT / "examples" / "csaf" / "csaf_vex").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert schema_errors(doc) == [], path.name
    broken = json.loads(
        (CSAF_ROOT / "examples" / "csaf" / "csaf_vex" / "2022-evd-uc-01-a-001.json").read_text()
    )
    broken["vulnerabilities"][0]["scores"] = [{"products": ["CSAFPID-0001"], "cvss_v3": {"version": "3.1"}}]
    assert schema_errors(broken)


def test_validator_harness_detects_a_missing_action_statement(
    tmp_path: Path, curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    doc = render(curl_cve, mixed_verdicts)
    del doc["vulnerabilities"][0]["remediations"]  # 6.1.27.10: known_affected needs an action statement
    path = tmp_path / "broken.json"
    path.write_bytes(dumps_csaf(doc))
    result = run_validator(path)
    assert result.returncode != 0
    assert "6.1.27" in result.stdout + result.stderr


# --- realistic documents, validated -------------------------------------------------------------------------


def test_mixed_release_document_is_valid_even_under_the_full_preset(
    tmp_path: Path, curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    doc = render(curl_cve, mixed_verdicts)
    assert_valid(tmp_path / "mandatory", doc)
    # mandatory + recommended + informative tests (the network ones are skipped): nothing to report
    assert_valid(tmp_path / "full", doc, preset="full")


def test_mixed_release_document_content(curl_cve: Vulnerability, mixed_verdicts: list[Verdict]) -> None:
    doc = render(curl_cve, mixed_verdicts)
    d = doc["document"]
    assert d["category"] == "csaf_vex" and d["csaf_version"] == "2.0" and d["lang"] == "en"
    assert d["title"] == "Azure Linux 3.0: VEX statement for CVE-2023-38545"
    assert d["publisher"] == {
        "category": "vendor",
        "contact_details": DEMO_PUBLISHER.contact_details,
        "issuing_authority": DEMO_PUBLISHER.issuing_authority,
        "name": "cvewatch demo distribution",
        "namespace": "https://cvewatch.example/",
    }
    assert {n["category"] for n in d["notes"]} == {"summary", "legal_disclaimer"}
    assert (
        "5 source package versions assessed (2 affected, 1 fixed, 1 not affected, 1 under investigation)"
        in (d["notes"][0]["text"])
    )
    t = d["tracking"]
    assert t["id"] == "CVEWATCH-AZL3-CVE-2023-38545"
    # dates come from the record (UTC): published 2023-10-18T04:15:11.077, lastModified 2024-01-21T02:23:03
    assert t["initial_release_date"] == "2023-10-18T04:15:11.077Z"
    assert t["current_release_date"] == "2024-01-21T02:23:03.223Z"
    assert t["revision_history"] == [
        {"date": "2023-10-18T04:15:11.077Z", "number": "1", "summary": "Initial version."}
    ]
    assert t["status"] == "final" and t["version"] == "1"
    assert t["generator"] == {"engine": {"name": "cvewatch", "version": "0.1.0"}}
    assert d["references"][0] == {
        "category": "self",
        "summary": "Canonical URL of this document",
        "url": "https://cvewatch.example/csaf/vex/2023/cvewatch-azl3-cve-2023-38545.json",
    }

    tree = doc["product_tree"]["branches"][0]
    assert (tree["category"], tree["name"]) == ("vendor", "cvewatch demo distribution")
    assert [(b["category"], b["name"]) for b in tree["branches"]] == [("product_name", PRODUCT)]
    assert product_ids(doc) == [CMAKE, CURL_FIXED, LIBGIT2, OPENSSL, RUST]  # sorted, unique
    versions = {b["product"]["product_id"]: b for b in tree["branches"][0]["branches"]}
    assert {b["category"] for b in versions.values()} == {"product_version"}
    assert versions[CURL_FIXED]["name"] == "curl-0:8.11.1-3.azl3"
    assert versions[CURL_FIXED]["product"]["product_identification_helper"] == {
        "purl": "pkg:rpm/azurelinux/curl@8.11.1-3.azl3?distro=azurelinux-3.0"
    }
    assert versions[OPENSSL]["product"]["product_identification_helper"]["purl"] == (
        "pkg:rpm/azurelinux/openssl@3.3.2-1.azl3?distro=azurelinux-3.0&epoch=1"
    )

    (v,) = doc["vulnerabilities"]
    assert v["cve"] == CVE
    assert v["notes"][0]["category"] == "description"
    assert v["notes"][0]["text"].startswith("This flaw makes curl overflow a heap based buffer")
    assert v["cwe"] == {"id": "CWE-787", "name": "Out-of-bounds Write"}
    assert v["product_status"] == {
        "fixed": [CURL_FIXED],
        "known_affected": [LIBGIT2, OPENSSL],
        "known_not_affected": [CMAKE],
        "under_investigation": [RUST],
    }
    assert v["flags"] == [{"label": "vulnerable_code_not_present", "product_ids": [CMAKE]}]
    threats = {tuple(t["product_ids"]): t for t in v["threats"]}
    assert {t["category"] for t in v["threats"]} == {"impact"}
    assert (
        threats[(CMAKE,)]["details"]
        == "SPECS/cmake/CVE-2023-38545.nopatch: cmake is built against the system curl."
    )
    assert (LIBGIT2,) not in threats  # no evidence, no statement
    rem = {tuple(r["product_ids"]): (r["category"], r["details"]) for r in v["remediations"]}
    assert rem == {
        (CURL_FIXED,): (
            "vendor_fix",
            "curl 0:8.11.1-3.azl3 in Azure Linux 3.0 contains the fix, first shipped in 0:8.4.0-1.azl3.",
        ),
        (LIBGIT2,): ("none_available", "No fixed libgit2 package is available for Azure Linux 3.0 yet."),
        (OPENSSL,): ("vendor_fix", "Update openssl to 1:3.3.5-5.azl3 or later (Azure Linux 3.0)."),
        (RUST,): (
            "none_available",
            "Whether rust 0:1.86.0-1.azl3 is affected is under investigation; no fix is available yet.",
        ),
    }
    (score,) = v["scores"]
    assert score["products"] == [LIBGIT2, OPENSSL, RUST]  # never the fixed or not-affected products
    assert score["cvss_v3"]["vectorString"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert (score["cvss_v3"]["baseScore"], score["cvss_v3"]["baseSeverity"]) == (9.8, "CRITICAL")
    assert "cvss_v2" not in score
    refs = v["references"]
    assert refs[0]["url"] == "https://nvd.nist.gov/vuln/detail/CVE-2023-38545"
    assert {r["category"] for r in refs} == {"external"}
    assert [r["url"] for r in refs[1:]] == [r.url for r in curl_cve.references]
    assert refs[1]["summary"] == "Patch, Third Party Advisory"


def test_fixed_curl_with_patch_evidence(tmp_path: Path, curl_cve: Vulnerability) -> None:
    v = verdict(
        "curl",
        "0:8.2.1-4.azl3",
        Status.FIXED,
        ("patch", "SPECS/curl/CVE-2023-38545.patch is applied (Patch5)."),
        fixed_in="0:8.2.1-4.azl3",
    )
    doc = render(curl_cve, [v])
    assert_valid(tmp_path, doc, preset="full")
    vuln = doc["vulnerabilities"][0]
    pid = "azl3-curl-0:8.2.1-4.azl3"
    assert vuln["product_status"] == {"fixed": [pid]}
    assert vuln["remediations"] == [
        {
            "category": "vendor_fix",
            "details": "curl 0:8.2.1-4.azl3 in Azure Linux 3.0 contains the fix.",
            "product_ids": [pid],
        }
    ]
    assert vuln["threats"][0]["details"] == "SPECS/curl/CVE-2023-38545.patch is applied (Patch5)."
    assert "scores" not in vuln and "flags" not in vuln  # 6.2.19: no CVSS for fixed products


def test_affected_openssl_with_fixed_in(tmp_path: Path) -> None:
    vuln = load_vulnerability("CVE-2023-0286")
    v = verdict(
        "openssl",
        "1:3.0.7-1.azl3",
        Status.AFFECTED,
        ("cpe-match", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:* names openssl."),
        ("version-affected", "3.0.7 is within [3.0.0, 3.0.8)."),
        fixed_in="1:3.0.8-1.azl3",
        cve="CVE-2023-0286",
    )
    doc = render(vuln, [v])
    assert_valid(tmp_path, doc)
    out = doc["vulnerabilities"][0]
    pid = "azl3-openssl-1:3.0.7-1.azl3"
    assert out["cve"] == "CVE-2023-0286"
    assert out["product_status"] == {"known_affected": [pid]}
    assert out["remediations"] == [
        {
            "category": "vendor_fix",
            "details": "Update openssl to 1:3.0.8-1.azl3 or later (Azure Linux 3.0).",
            "product_ids": [pid],
        }
    ]
    assert out["threats"][0]["details"] == (
        "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:* names openssl. 3.0.7 is within [3.0.0, 3.0.8)."
    )
    assert out["scores"][0]["products"] == [pid]


TRIAGED = "triage by alice on 2026-11-02: not_affected"


@pytest.mark.parametrize(
    ("evidence", "label"),
    [
        (
            [("nopatch", "SPECS/bash/CVE-2019-18276.nopatch: azl3 bash does not install setuid.")],
            "vulnerable_code_not_present",
        ),
        ([("version-not-affected", "bash 5.2.15 is outside (, 5.0].")], "vulnerable_code_not_present"),
        # a triage record's label wins over what the other evidence stands for, and is no sentence
        (
            [
                ("triage", f"{TRIAGED} (component_not_present)"),
                ("justification", "component_not_present"),
                ("version-not-affected", "bash 5.2.15 is outside (, 5.0]."),
            ],
            "component_not_present",
        ),
        (
            [
                ("triage", f"{TRIAGED} (inline_mitigations_already_exist)"),
                ("justification", "inline_mitigations_already_exist"),
            ],
            "inline_mitigations_already_exist",
        ),
    ],
)
def test_not_affected_gets_one_justification_flag_and_an_impact_statement(
    tmp_path: Path, evidence: list[tuple[str, str]], label: str
) -> None:
    vuln = load_vulnerability("CVE-2019-18276")
    v = verdict("bash", "0:5.2.15-3.azl3", Status.NOT_AFFECTED, *evidence, cve="CVE-2019-18276")
    doc = render(vuln, [v])
    assert_valid(tmp_path, doc)
    out = doc["vulnerabilities"][0]
    pid = "azl3-bash-0:5.2.15-3.azl3"
    assert out["product_status"] == {"known_not_affected": [pid]}
    assert out["flags"] == [{"label": label, "product_ids": [pid]}]
    sentences = [d if d.endswith(".") else d + "." for k, d in evidence if k != "justification"]
    assert out["threats"] == [{"category": "impact", "details": " ".join(sentences), "product_ids": [pid]}]
    assert "remediations" not in out and "scores" not in out


def test_not_affected_without_evidence_still_has_a_flag(tmp_path: Path, curl_cve: Vulnerability) -> None:
    doc = render(curl_cve, [verdict("curl", "8.11.1-3.azl3", Status.NOT_AFFECTED)])
    assert_valid(tmp_path, doc)
    out = doc["vulnerabilities"][0]
    assert out["flags"] == [
        {"label": "vulnerable_code_not_present", "product_ids": ["azl3-curl-0:8.11.1-3.azl3"]}
    ]
    assert "threats" not in out


def test_under_investigation(tmp_path: Path, curl_cve: Vulnerability) -> None:
    v = verdict("curl", "0:8.11.1-3.azl3", Status.UNDER_INVESTIGATION, ("cpe-match", "libcurl CPE matches."))
    doc = render(curl_cve, [v])
    assert_valid(tmp_path, doc, preset="full")
    out = doc["vulnerabilities"][0]
    assert out["product_status"] == {"under_investigation": ["azl3-curl-0:8.11.1-3.azl3"]}
    assert out["remediations"][0]["category"] == "none_available"
    assert out["scores"][0]["products"] == ["azl3-curl-0:8.11.1-3.azl3"]


def test_affected_without_fix(tmp_path: Path, curl_cve: Vulnerability) -> None:
    vs = [
        verdict("curl", "0:8.3.0-1.azl3", Status.AFFECTED),
        verdict(
            "curl-legacy", "0:7.76.1-1.azl3", Status.AFFECTED, ("version-affected", "7.76.1 is in range.")
        ),
    ]
    doc = render(curl_cve, vs)
    assert_valid(tmp_path, doc, preset="full")
    rem = {r["product_ids"][0]: r["category"] for r in doc["vulnerabilities"][0]["remediations"]}
    assert rem == {
        "azl3-curl-0:8.3.0-1.azl3": "none_available",
        "azl3-curl-legacy-0:7.76.1-1.azl3": "none_available",
    }


def test_cvss_scores_are_recomputed_from_the_vectors(tmp_path: Path, curl_cve: Vulnerability) -> None:
    """A v3.0 CNA metric, a v3.1 NVD metric with a wrong stated score, and a v2 metric: one score object per
    product (6.1.7), the NVD v3.1 vector preferred, scores agreeing with the vectors (6.1.9/6.1.10)."""
    metrics = (
        CvssMetric(
            "3.0", "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", 5.6, "MEDIUM", "cna@example", "Secondary"
        ),
        CvssMetric(
            "3.1", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 1.0, "LOW", "nvd@nist.gov", "Primary"
        ),
        CvssMetric("2.0", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 1.0, "LOW", "nvd@nist.gov", "Primary"),
        CvssMetric(
            "4.0",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
            None,
            "x",
            "Secondary",
        ),
    )
    vuln = dataclasses.replace(curl_cve, metrics=metrics)
    doc = render(vuln, [verdict("curl", "0:8.3.0-1.azl3", Status.AFFECTED, fixed_in="0:8.4.0-1.azl3")])
    assert_valid(tmp_path, doc)
    (score,) = doc["vulnerabilities"][0]["scores"]
    assert score["cvss_v3"]["vectorString"] == "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H"
    assert (score["cvss_v3"]["baseScore"], score["cvss_v3"]["baseSeverity"]) == (7.8, "HIGH")
    assert score["cvss_v2"]["vectorString"] == "AV:N/AC:L/Au:N/C:P/I:P/A:P"
    assert score["cvss_v2"]["baseScore"] == 7.5

    only_v4 = dataclasses.replace(curl_cve, metrics=metrics[3:])
    doc = render(only_v4, [verdict("curl", "0:8.3.0-1.azl3", Status.AFFECTED)])
    assert "scores" not in doc["vulnerabilities"][0]  # CSAF 2.0 has no CVSS v4 slot
    assert schema_errors(doc) == []


def test_cwe_only_with_a_known_name_and_references_capped(curl_cve: Vulnerability) -> None:
    refs = (
        Reference("not a url"),
        Reference("https://example.org/with space"),
        Reference("https://example.org/advisory/0", tags=("Vendor Advisory",)),  # a duplicate is dropped
        *(Reference(f"https://example.org/advisory/{i}") for i in range(30)),
    )
    v = [verdict("curl", "0:8.3.0-1.azl3", Status.AFFECTED)]
    doc = render(dataclasses.replace(curl_cve, weaknesses=("NVD-CWE-noinfo", "CWE-787"), references=refs), v)
    out = doc["vulnerabilities"][0]
    assert out["cwe"] == {"id": "CWE-787", "name": cwe_names()["CWE-787"]}
    assert len(out["references"]) == 20
    assert [r["url"] for r in out["references"][1:]] == [
        f"https://example.org/advisory/{i}" for i in range(19)
    ]
    assert out["references"][1]["summary"] == "Vendor Advisory"
    assert out["references"][2]["summary"] == "External reference"
    assert schema_errors(doc) == []
    for weaknesses in (("NVD-CWE-Other",), ("CWE-264",), ()):  # no name → no cwe (the schema needs one)
        doc = render(dataclasses.replace(curl_cve, weaknesses=weaknesses), v)
        assert "cwe" not in doc["vulnerabilities"][0]
        assert schema_errors(doc) == []


# --- merging, errors, publisher -----------------------------------------------------------------------------


def test_same_evr_from_several_verdicts_is_one_product_and_the_cautious_status_wins(
    curl_cve: Vulnerability,
) -> None:
    vs = [
        verdict("curl", "8.11.1-3.azl3", Status.NOT_AFFECTED, ("nopatch", "triaged."), image="node-a"),
        verdict(
            "curl", "0:8.11.1-3.azl3", Status.AFFECTED, ("version-affected", "in range."), image="node-b"
        ),
    ]
    doc = render(curl_cve, vs)
    assert product_ids(doc) == [CURL_FIXED]
    out = doc["vulnerabilities"][0]
    assert out["product_status"] == {"known_affected": [CURL_FIXED]}
    assert out["threats"][0]["details"] == "in range. triaged."
    assert schema_errors(doc) == []


def test_errors(curl_cve: Vulnerability) -> None:
    with pytest.raises(ValueError, match="no verdicts"):
        render(curl_cve, [])
    with pytest.raises(ValueError, match="CVE-2024-0001"):
        render(curl_cve, [verdict("curl", "8.0-1", Status.AFFECTED, cve="CVE-2024-0001")])
    with pytest.raises(ValueError, match="release"):
        render(curl_cve, [verdict("curl", "8.0-1", Status.AFFECTED, release="2.0")])
    with pytest.raises(ValueError, match="not an rpm EVR"):
        render(curl_cve, [verdict("curl", "8.0-1-2", Status.AFFECTED)])
    with pytest.raises(ValueError, match="fixed_in"):
        render(curl_cve, [verdict("curl", "8.0-1", Status.AFFECTED, fixed_in="a:b:c")])


def test_publisher_renders_one_document_per_cve_and_release(
    tmp_path: Path, curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    other = [
        verdict("curl", "8.0-1", Status.AFFECTED, release="2.0"),
        verdict("x", "1-1", Status.AFFECTED, cve="CVE-2024-0001"),
    ]
    docs = publisher().render(curl_cve, [*mixed_verdicts, *other])
    assert [d.path for d in docs] == ["2023/cvewatch-azl3-cve-2023-38545.json"]
    assert docs[0].content == dumps_csaf(render(curl_cve, mixed_verdicts))
    assert publisher().format_name == "csaf-vex"
    assert publisher().render(curl_cve, other) == []
    assert publisher().render(dataclasses.replace(curl_cve, status="Rejected"), mixed_verdicts) == []
    (written,) = write_documents(docs, tmp_path)
    assert written == tmp_path / "2023" / "cvewatch-azl3-cve-2023-38545.json"
    result = run_validator(written)
    assert result.returncode == 0, result.stdout + result.stderr


def test_publisher_options(curl_cve: Vulnerability, mixed_verdicts: list[Verdict]) -> None:
    pub = CsafVexPublisher(
        CsafVexOptions(
            release=RELEASE,
            product_name="Example Linux 3",
            generator_version="9.9",
            publisher=Publisher(name="Example", namespace="https://example.org"),
            purl_namespace="example",
            vendor_name="Example Corp",
            base_url="https://example.org/advisories/",
        )
    )
    doc = pub.render_document(curl_cve, mixed_verdicts)
    assert doc["document"]["tracking"]["id"] == "CVEWATCH-3-0-CVE-2023-38545"  # release "3.0" slugged
    assert doc["document"]["publisher"] == {
        "category": "vendor",
        "name": "Example",
        "namespace": "https://example.org",
    }
    assert (
        doc["document"]["references"][0]["url"]
        == "https://example.org/advisories/2023/cvewatch-3-0-cve-2023-38545.json"
    )
    assert doc["product_tree"]["branches"][0]["name"] == "Example Corp"
    assert "3-0-curl-0:8.11.1-3.azl3" in product_ids(doc)
    purls = [
        b["product"]["product_identification_helper"]["purl"]
        for b in doc["product_tree"]["branches"][0]["branches"][0]["branches"]
    ]
    assert "pkg:rpm/example/curl@8.11.1-3.azl3?distro=example-3.0" in purls
    assert schema_errors(doc) == []


# --- determinism and naming ---------------------------------------------------------------------------------


def test_rendering_is_deterministic(curl_cve: Vulnerability, mixed_verdicts: list[Verdict]) -> None:
    first = publisher().render(curl_cve, mixed_verdicts)
    second = publisher().render(curl_cve, list(reversed(mixed_verdicts)))
    assert first == second
    assert first[0].content == publisher().render(curl_cve, mixed_verdicts)[0].content
    content = first[0].content
    assert content.endswith(b"}\n")
    assert (
        content
        == orjson.dumps(orjson.loads(content), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"
    )


def test_dates_come_from_the_record_not_the_clock(curl_cve: Vulnerability) -> None:
    v = [verdict("curl", "8.3.0-1.azl3", Status.AFFECTED)]
    naive = dataclasses.replace(
        curl_cve, published=datetime(2023, 10, 18, 4, 15, 11, 77000), last_modified=datetime(2023, 1, 1)
    )
    t = render(naive, v)["document"]["tracking"]
    # naive means UTC; a last_modified before published does not make current_release_date older
    assert t["initial_release_date"] == t["current_release_date"] == "2023-10-18T04:15:11.077Z"
    assert "date" not in t["generator"]


def test_filename_rule_against_the_official_samples() -> None:
    samples = CSAF_ROOT / "test" / "filenames" / "data"
    for kind in ("valid", "invalid"):
        for path in sorted((samples / kind).glob("*.json")):
            doc_id = json.loads(path.read_text(encoding="utf-8"))["document"]["tracking"]["id"]
            assert (csaf_filename(doc_id) == path.name) is (kind == "valid"), path.name


def test_filename_and_path_helpers() -> None:
    assert tracking_id("CVE-2023-38545", "azl3") == "CVEWATCH-AZL3-CVE-2023-38545"
    assert csaf_filename("CVEWATCH-AZL3-CVE-2023-38545") == "cvewatch-azl3-cve-2023-38545.json"
    assert csaf_filename("Example Company - 2019-YH3234") == "example_company_-_2019-yh3234.json"
    assert csaf_filename("RHBA-2019:0024") == "rhba-2019_0024.json"
    assert csaf_filename("a+b..c") == "a+b_c.json"
    when = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    assert document_path("CVEWATCH-AZL3-CVE-2023-38545", when) == "2023/cvewatch-azl3-cve-2023-38545.json"


def test_rpm_purl() -> None:
    assert rpm_purl("curl", EVR(0, "8.11.1", "3.azl3"), namespace="azurelinux", distro="azurelinux-3.0") == (
        "pkg:rpm/azurelinux/curl@8.11.1-3.azl3?distro=azurelinux-3.0"
    )
    assert rpm_purl(
        "openssl", EVR(1, "3.3.2", "1.azl3"), namespace="azurelinux", distro="azurelinux-3.0"
    ) == ("pkg:rpm/azurelinux/openssl@3.3.2-1.azl3?distro=azurelinux-3.0&epoch=1")
    assert rpm_purl("gcc-c++", EVR(0, "13.2.0", ""), namespace="azurelinux", distro="azurelinux-3.0") == (
        "pkg:rpm/azurelinux/gcc-c%2B%2B@13.2.0?distro=azurelinux-3.0"
    )
