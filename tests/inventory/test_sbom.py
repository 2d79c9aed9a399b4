"""Package lists in every supported format: rpm -qa --qf JSON lines, SPDX 2.3 and CycloneDX 1.5/1.6 JSON.

Full-size SBOMs are built here from a real AKS node-image note, in the shapes syft and Trivy write;
small hand-written ones are in ``data/`` (see its README).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cvewatch.inventory.imagelist import (
    FORMAT_AKS_NOTE,
    FORMAT_CYCLONEDX_JSON,
    FORMAT_RPM_QA,
    FORMAT_RPM_QF_JSON,
    FORMAT_SPDX_JSON,
    parse_image_list,
    parse_package_list,
    parse_package_text,
)
from cvewatch.inventory.sbom import package_from_purl
from cvewatch.model.packages import InstalledPackage
from cvewatch.services.inventory import load_image_into

from ..conftest import IMAGES

DATA = Path(__file__).resolve().parent / "data"
NOTE = IMAGES / "202608.20.0.txt"
needs_data = pytest.mark.skipif(not NOTE.is_file(), reason="shared data not present")


def _real_packages() -> tuple[InstalledPackage, ...]:
    result = parse_package_list(NOTE)
    assert result.format == FORMAT_AKS_NOTE and not result.problems
    return result.packages


def _purl(p: InstalledPackage, *, epoch_in_version: bool = False) -> str:
    version = (
        f"{p.epoch}:{p.version}-{p.release}" if epoch_in_version and p.epoch else f"{p.version}-{p.release}"
    )
    quals = [f"arch={p.arch}"] if p.arch else []
    if p.epoch and not epoch_in_version:
        quals.append(f"epoch={p.epoch}")
    quals.append("distro=azurelinux-3.0")
    return f"pkg:rpm/azurelinux/{p.name}@{version}?{'&'.join(quals)}"


def syft_spdx(packages: tuple[InstalledPackage, ...]) -> dict[str, Any]:
    """An SPDX 2.3 document as ``syft -o spdx-json`` shapes it, plus a Go module and the OS."""
    items: list[dict[str, Any]] = []
    for k, p in enumerate(packages):
        evr = f"{p.epoch}:{p.version}-{p.release}" if p.epoch else f"{p.version}-{p.release}"
        items.append(
            {
                "name": p.name,
                "SPDXID": f"SPDXRef-Package-rpm-{p.name}-{k:016x}",
                "versionInfo": evr,
                "supplier": "Organization: Microsoft Corporation",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "sourceInfo": "acquired package info from RPM DB: /var/lib/rpm/rpmdb.sqlite",
                "licenseConcluded": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "externalRefs": [
                    {
                        "referenceCategory": "SECURITY",
                        "referenceType": "cpe23Type",
                        "referenceLocator": f"cpe:2.3:a:microsoft:{p.name}:{p.version}:*:*:*:*:*:*:*",
                    },
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": _purl(p),
                    },
                ],
            }
        )
    items.append(
        {
            "name": "golang.org/x/net",
            "SPDXID": "SPDXRef-Package-go-module-x-net",
            "versionInfo": "v0.33.0",
            "downloadLocation": "NOASSERTION",
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": "pkg:golang/golang.org/x/net@v0.33.0",
                }
            ],
        }
    )
    items.append({"name": "azurelinux", "SPDXID": "SPDXRef-OperatingSystem", "versionInfo": "3.0"})
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "aks-node-image",
        "documentNamespace": "https://anchore.com/syft/dir/aks-node-image-0000",
        "creationInfo": {"creators": ["Tool: syft-1.18.1"], "created": "2026-08-20T09:14:02Z"},
        "packages": items,
    }


def trivy_cyclonedx(packages: tuple[InstalledPackage, ...], spec: str = "1.6") -> dict[str, Any]:
    """A CycloneDX BOM as ``trivy --format cyclonedx`` shapes it: the OS component, then the RPMs
    (syft nests nothing; some tools nest components under the OS, so half of them are nested here)."""
    rpms = [
        {
            "bom-ref": _purl(p),
            "type": "library",
            "name": p.name,
            "version": f"{p.epoch}:{p.version}-{p.release}" if p.epoch else f"{p.version}-{p.release}",
            "purl": _purl(p, epoch_in_version=bool(k % 2)),
        }
        for k, p in enumerate(packages)
    ]
    half = len(rpms) // 2
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "version": 1,
        "metadata": {"component": {"bom-ref": "image", "type": "container", "name": "aks-node-image"}},
        "components": [
            {
                "bom-ref": "os",
                "type": "operating-system",
                "name": "azurelinux",
                "version": "3.0",
                "components": rpms[:half],
            },
            *rpms[half:],
            {
                "bom-ref": "pkg:pypi/requests@2.32.3",
                "type": "library",
                "name": "requests",
                "purl": "pkg:pypi/requests@2.32.3",
            },
        ],
    }


@needs_data
def test_spdx_built_from_a_real_note_gives_the_same_packages(tmp_path: Path) -> None:
    real = _real_packages()
    path = tmp_path / "image.spdx.json"
    path.write_text(json.dumps(syft_spdx(real), indent=1))
    result = parse_package_list(path)
    assert result.format == FORMAT_SPDX_JSON
    assert result.problems == ()
    assert result.packages == real  # gpg-pubkey included: an rpm purl without an arch qualifier
    assert result.skipped == 2  # the Go module and the OS
    curl = next(p for p in result.packages if p.name == "curl")
    assert curl == InstalledPackage("curl", 0, "8.11.1", "11.azl3", "x86_64")


@needs_data
@pytest.mark.parametrize("spec", ["1.5", "1.6"])
def test_cyclonedx_built_from_a_real_note_gives_the_same_packages(tmp_path: Path, spec: str) -> None:
    real = tuple(p for p in _real_packages() if p.arch is not None)
    # an epoch, both spellings: qualifier and "1:" in the version
    real = (InstalledPackage("ca-certificates", 1, "3.0.0", "15.azl3", "noarch"), *real)
    path = tmp_path / "image.cdx.json"
    path.write_text(json.dumps(trivy_cyclonedx(real, spec)))
    result = parse_package_list(path)
    assert result.format == FORMAT_CYCLONEDX_JSON
    assert result.problems == ()
    assert sorted(result.packages, key=lambda p: p.nevra) == sorted(real, key=lambda p: p.nevra)
    assert result.skipped == 2  # the OS component and the PyPI package
    assert dict(result.os_release) == {"ID": "azurelinux", "VERSION_ID": "3.0"}


@needs_data
def test_rpm_qf_json_lines_from_a_real_note(tmp_path: Path) -> None:
    real = _real_packages()
    lines = [
        json.dumps(
            {
                "name": p.name,
                "epoch": str(p.epoch) if p.epoch else "(none)",
                "version": p.version,
                "release": p.release,
                "arch": p.arch or "(none)",
            },
            separators=(",", ":"),
        )
        for p in real
    ]
    result = parse_image_list("\n".join(lines) + "\n", path="qf.jsonl")
    assert result.format == FORMAT_RPM_QF_JSON
    assert result.problems == ()
    assert result.packages == real
    gpg = next(p for p in result.packages if p.name == "gpg-pubkey")
    assert gpg.arch is None and gpg.epoch == 0


def test_hand_written_spdx() -> None:
    result = parse_package_list(DATA / "spdx-2.3-small.json")
    assert result.format == FORMAT_SPDX_JSON and result.problems == ()
    assert [p.nevra for p in result.packages] == [
        "curl-8.11.1-11.azl3.x86_64",
        "ca-certificates-1:3.0.0-15.azl3.noarch",
        "kernel-6.6.150.1-1.azl3.x86_64",
    ]
    assert result.skipped == 2


def test_hand_written_cyclonedx() -> None:
    result = parse_package_list(DATA / "cyclonedx-1.6-small.json")
    assert result.format == FORMAT_CYCLONEDX_JSON and result.problems == ()
    assert [p.nevra for p in result.packages] == [
        "curl-8.11.1-11.azl3.x86_64",
        "ca-certificates-1:3.0.0-15.azl3.noarch",
        "openssl-libs-3.3.7-4.azl3.x86_64",
    ]
    assert result.skipped == 2


def test_hand_written_qf_json_lines() -> None:
    result = parse_package_list(DATA / "rpm-qa-qf-small.jsonl")
    assert result.format == FORMAT_RPM_QF_JSON and result.problems == ()
    assert result.packages[1] == InstalledPackage("ca-certificates", 1, "3.0.0", "15.azl3", "noarch")
    assert result.packages[3] == InstalledPackage("gpg-pubkey", 0, "3135ce90", "5e6fda74", None)


@needs_data
def test_detection_of_the_two_text_formats() -> None:
    assert parse_package_list(NOTE).format == FORMAT_AKS_NOTE
    text = "\n".join(p.nevra for p in _real_packages())
    assert parse_package_text(text, path="qa.txt").format == FORMAT_RPM_QA


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        (
            "pkg:rpm/azurelinux/curl@8.11.1-3.azl3?arch=x86_64&epoch=1&distro=azurelinux-3.0",
            InstalledPackage("curl", 1, "8.11.1", "3.azl3", "x86_64"),
        ),
        ("pkg:rpm/azurelinux/curl@1:8.11.1-3.azl3", InstalledPackage("curl", 1, "8.11.1", "3.azl3", None)),
        (
            "pkg:rpm/fedora/libstdc%2B%2B@13.2.0-7.fc40",
            InstalledPackage("libstdc++", 0, "13.2.0", "7.fc40", None),
        ),
        ("pkg:deb/debian/curl@7.88.1-10", None),
    ],
)
def test_package_from_purl(purl: str, expected: InstalledPackage | None) -> None:
    assert package_from_purl(purl) == expected


def test_a_malformed_element_is_a_problem_naming_file_and_element() -> None:
    doc = json.loads((DATA / "spdx-2.3-small.json").read_text())
    doc["packages"][1]["externalRefs"][0]["referenceLocator"] = "pkg:rpm/azurelinux/ca-certificates@3.0.0"
    doc["packages"][2]["externalRefs"][0]["referenceLocator"] = "rpm:kernel"
    result = parse_package_text(json.dumps(doc), path="bad.spdx.json")
    assert [p.name for p in result.packages] == ["curl"]
    messages = [str(p) for p in result.problems]
    assert len(messages) == 2
    assert messages[0].startswith("bad.spdx.json: packages[1] (SPDXRef-Package-rpm-ca-certificates-")
    assert "no release" in messages[0]
    assert messages[1].startswith("bad.spdx.json: packages[2] (SPDXRef-Package-rpm-kernel-")
    assert "malformed purl" in messages[1]

    cdx = json.loads((DATA / "cyclonedx-1.6-small.json").read_text())
    cdx["components"][2]["purl"] = "pkg:rpm/azurelinux/ca-certificates@x:3.0.0-15.azl3"
    result = parse_package_text(json.dumps(cdx), path="bad.cdx.json")
    assert len(result.packages) == 2
    assert [str(p) for p in result.problems] == [
        "bad.cdx.json: components[2] (pkg:rpm/azurelinux/ca-certificates@3.0.0-15.azl3?arch=noarch&distro="
        "azurelinux-3.0&epoch=1): rpm purl with a non-numeric epoch 'x': "
        "'pkg:rpm/azurelinux/ca-certificates@x:3.0.0-15.azl3'"
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('{"spdxVersion": "SPDX-2.3", "packages": [', "not valid JSON"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}', "no rpm components"),
        ('{"spdxVersion": "SPDX-2.3", "packages": {}}', "'packages' is not a list"),
        ('{"kind": "something else"}', "neither SPDX"),
        (
            '{"name":"curl","epoch":"(none)","version":"8.11.1","release":"3.azl3","arch":"x86_64"}\n{"name":',
            "x.json:2: not a JSON object",
        ),
    ],
)
def test_broken_documents_give_problems(text: str, needle: str) -> None:
    result = parse_package_text(text, path="x.json")
    assert any(needle in str(p) for p in result.problems), result.problems


def test_load_image_into_reads_an_sbom(tmp_path: Path) -> None:
    from cvewatch.store.db import open_engine
    from cvewatch.store.inventory import ensure_release, load_image_packages

    engine = open_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        with engine.begin() as conn:
            ensure_release(conn, "azl3")
        report = load_image_into(engine, DATA / "cyclonedx-1.6-small.json", name="img", release="azl3")
        assert report.packages == 3 and report.problems == []
        with engine.connect() as conn:
            stored = load_image_packages(conn, "img")
        assert {p.nevra for p in stored} == {
            "curl-8.11.1-11.azl3.x86_64",
            "ca-certificates-1:3.0.0-15.azl3.noarch",
            "openssl-libs-3.3.7-4.azl3.x86_64",
        }
    finally:
        engine.dispose()
