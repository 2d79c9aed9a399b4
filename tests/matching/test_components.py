"""Matching what packages carry inside: Go toolchain and vendored-module CVEs, bundled libraries,
protocol CVEs, the merge into one verdict per pair, rebuild planning, and the runner on both stores."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cvewatch.inventory.components import parse_component_text, spec_components
from cvewatch.inventory.specfile import parse_spec
from cvewatch.matching.components import (
    ComponentFacts,
    ComponentMapping,
    component_verdicts,
    effective_components,
    merge,
)
from cvewatch.matching.mapping import PackageMapping
from cvewatch.matching.rebuild import plan_rebuilds
from cvewatch.matching.rules import decide
from cvewatch.matching.scan import scan
from cvewatch.model.components import KIND_GENERIC, ORIGIN_GO_VERSION_M, ORIGIN_SBOM, Component
from cvewatch.model.cve5 import Cve5Record
from cvewatch.model.packages import SourcePackage, TriageFile
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Status, Verdict
from cvewatch.services.inventory import load_specs_into
from cvewatch.services.scan import run_scan
from cvewatch.sources.cve5 import parse_record
from cvewatch.sources.nvd_json import parse_cve
from cvewatch.store.components import replace_build_components
from cvewatch.store.cve5 import upsert_cve5
from cvewatch.store.vulnerabilities import upsert_all

from ..conftest import NVD, SHARED_DATA, SPECS

CVE5 = SHARED_DATA / "cve5" / "recent"
DATA = Path(__file__).with_name("data")
CMAP = ComponentMapping.load()
MAPPING = PackageMapping.load()

GO_VERSION_M = """\
/usr/bin/dockerd: go1.22.5
\tpath\tgithub.com/docker/docker/cmd/dockerd
\tmod\tgithub.com/docker/docker\t(devel)\t
\tdep\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xoGe9ZWaSXX3Ka/1btVsVk=
\tdep\tgolang.org/x/crypto\tv0.31.0\th1:ihbySMvVjLAeSH1IbfcRTkD/iNscyz8rGzjF/E5hV6U=
\tbuild\tCGO_ENABLED=1
"""


def nvd(cve: str) -> Vulnerability:
    return parse_cve(json.loads((NVD / "recent" / f"{cve}.json").read_text()), origin=cve)


def cve5(cve: str) -> Cve5Record:
    return parse_record(json.loads((CVE5 / f"{cve}.json").read_text()), origin=cve)


def backlog(cve: str) -> tuple[Vulnerability, Cve5Record]:
    """An NVD record without configurations ("Awaiting Analysis") and its CVE JSON 5 record."""
    v = nvd(cve)
    assert not v.configurations
    return v, cve5(cve)


@pytest.fixture(scope="module")
def golangs() -> list[SourcePackage]:
    return [p for f in sorted((SPECS / "golang").glob("*.spec")) if (p := parse_spec(f).package) is not None]


def spec(name: str) -> SourcePackage:
    p = parse_spec(SPECS / name / f"{name}.spec").package
    assert p is not None
    return p


def comps_of(
    pkg: SourcePackage, golangs: list[SourcePackage], extra: list[Component] | None = None
) -> list[Component]:
    return effective_components(pkg, spec_components(pkg, golangs) + (extra or []), CMAP)


def verdicts(
    vuln: Vulnerability, pkg: SourcePackage, comps: list[Component], cna: Cve5Record | None = None
) -> list[Verdict]:
    return component_verdicts(vuln, pkg, comps, CMAP, release="azl3", dist=".azl3", cna=cna)


def kinds(v: Verdict) -> list[str]:
    return [e.kind for e in v.evidence]


def text(v: Verdict) -> str:
    return "\n".join(f"{e.kind}: {e.detail}" for e in v.evidence)


# --- the Go standard library through the toolchain -----------------------------------------------------


def test_go_stdlib_cve_applies_to_a_package_built_with_an_affected_golang(
    golangs: list[SourcePackage],
) -> None:
    vuln = nvd("CVE-2026-32288")  # archive/tar; golang:go < 1.25.9 and [1.26.0, 1.26.2)
    kube = spec("kubernetes")  # BuildRequires: golang < 1.25 -> golang 1.24.13
    (v,) = verdicts(vuln, kube, comps_of(kube, golangs))
    assert v.status is Status.AFFECTED and v.fixed_in is None
    assert kinds(v)[:2] == ["component", "toolchain"]
    assert (
        "toolchain golang 1.24.13 in kubernetes (source: toolchain rule: BuildRequires: golang < 1.25"
        in text(v)
    )
    assert "statically linked; rebuild with golang >= 1.25.9 or >= 1.26.2" in text(v)
    assert "version 1.24.13 is within the vulnerable range (-inf, 1.25.9) of golang:go" in text(v)

    cert = spec("cert-manager")  # BuildRequires: golang -> 1.26.2: past the range, fixed by the rebuild
    (f,) = verdicts(vuln, cert, comps_of(cert, golangs))
    assert f.status is Status.FIXED and f.fixed_in == str(cert.evr)
    assert "statically linked; built with golang 1.26.2, past the vulnerable range" in text(f)


def test_a_cve_patch_of_the_package_decides_first(golangs: list[SourcePackage]) -> None:
    vuln = nvd("CVE-2026-32288")
    moby = spec("moby-engine")  # Patch17: CVE-2026-32288.patch
    (v,) = verdicts(vuln, moby, comps_of(moby, golangs))
    assert v.status is Status.FIXED and kinds(v)[0] == "patch" and "component" in kinds(v)
    direct = decide(vuln, moby, MAPPING.names_for("moby-engine"), release="azl3", dist=".azl3")
    merged = merge(direct, [v])
    assert merged is not None and merged.status is Status.FIXED
    assert len([e for e in merged.evidence if e.kind == "patch"]) == 1  # the same evidence only once


def test_go_cna_stdlib_record_when_nvd_has_no_configuration(golangs: list[SourcePackage]) -> None:
    vuln, record = backlog(
        "CVE-2025-58183"
    )  # Go CNA: "Go standard library" archive/tar < 1.24.8, [1.25.0, 1.25.2)
    nvidia = spec("nvidia-container-toolkit")  # golang < 1.24.0 -> 1.23.12
    (v,) = verdicts(vuln, nvidia, comps_of(nvidia, golangs), record)
    assert v.status is Status.AFFECTED
    assert "nvd-backlog" in kinds(v) and "cna-match" in kinds(v)
    assert "rebuild with golang >= 1.24.8" in text(v)
    kube = spec("kubernetes")  # 1.24.13: past 1.24.8
    (k,) = verdicts(vuln, kube, comps_of(kube, golangs), record)
    assert k.status is Status.FIXED


# --- vendored Go modules ------------------------------------------------------------------------------


def test_vendored_module_without_build_data_is_under_investigation(golangs: list[SourcePackage]) -> None:
    vuln, record = backlog("CVE-2024-45338")  # golang.org/x/net/html < 0.33.0 (Go CNA packageName)
    moby = spec("moby-engine")
    (v,) = verdicts(vuln, moby, comps_of(moby, golangs), record)
    assert v.status is Status.UNDER_INVESTIGATION
    assert "vendored golang.org/x/net version unknown" in text(v)
    assert "packageName 'golang.org/x/net/html' is in module golang.org/x/net" in text(v)
    assert "source: assumed vendored" in text(v)

    kube = spec("kubernetes")  # Patch1: CVE-2024-45338.patch fixes its vendored x/net
    (k,) = verdicts(vuln, kube, comps_of(kube, golangs), record)
    assert k.status is Status.FIXED and kinds(k)[0] == "patch"


def test_build_records_give_the_vendored_version(golangs: list[SourcePackage]) -> None:
    moby = spec("moby-engine")
    gom = list(parse_component_text(GO_VERSION_M.encode(), path="dockerd.txt").components)
    comps = comps_of(moby, golangs, gom)
    assert not any(c.origin == "assumed" for c in comps)  # the record says which modules there are
    assert not any(c.kind == "toolchain" for c in comps)  # and which Go built the binaries
    vuln, record = backlog("CVE-2024-45338")
    (v,) = verdicts(vuln, moby, comps, record)
    assert v.status is Status.AFFECTED and "Go module golang.org/x/net 0.17.0" in text(v)
    assert "(source: go version -m: linked in /usr/bin/dockerd)" in text(v)

    fixed = [dataclasses.replace(c, version="0.33.0") if c.name == "golang.org/x/net" else c for c in comps]
    (n,) = verdicts(vuln, moby, fixed, record)
    assert n.status is Status.NOT_AFFECTED

    stdlib = nvd("CVE-2026-32288")  # built with go 1.22.5 per the record: affected, rebuild needed
    (s,) = verdicts(stdlib, dataclasses.replace(moby, patches=(), changelog=()), comps)
    assert s.status is Status.AFFECTED and "Go standard library stdlib 1.22.5" in text(s)


def test_nvd_names_x_net_html_go_html(golangs: list[SourcePackage]) -> None:
    vuln = nvd("CVE-2025-47911")  # cpe:2.3:a:go:html:*:...:go:*:* < 0.45.0
    moby = spec("moby-engine")
    sbom = Component(
        "golang", "golang.org/x/net", "0.44.0", "pkg:golang/golang.org/x/net@v0.44.0", ORIGIN_SBOM
    )
    (v,) = verdicts(vuln, moby, comps_of(moby, golangs, [sbom]))
    assert v.status is Status.AFFECTED and "component mapping golang.org/x/net -> go:html" in text(v)


# --- bundled C libraries ----------------------------------------------------------------------------


def test_bundled_zlib_is_judged_with_its_own_version(golangs: list[SourcePackage]) -> None:
    vuln = nvd("CVE-2026-27171")  # zlib:zlib [1.2.12, 1.3.2)
    pkg = spec("zipper")
    zlib = Component(
        KIND_GENERIC, "zlib", "1.2.13", "pkg:generic/zlib@1.2.13", ORIGIN_SBOM, "SBOM zipper.spdx.json"
    )
    (v,) = verdicts(vuln, pkg, comps_of(pkg, golangs, [zlib]))
    assert v.status is Status.AFFECTED
    assert "component zlib 1.2.13 in zipper (source: SBOM" in text(v)
    new = dataclasses.replace(zlib, version="1.3.2")
    (n,) = verdicts(vuln, pkg, comps_of(pkg, golangs, [new]))
    assert n.status is Status.NOT_AFFECTED
    nopatch = dataclasses.replace(
        pkg, triage=(TriageFile("CVE-2026-27171", "zipper does not use crc32_combine"),)
    )
    (t,) = verdicts(vuln, nopatch, comps_of(pkg, golangs, [zlib]))
    assert t.status is Status.NOT_AFFECTED and kinds(t)[0] == "nopatch"


# --- protocols ----------------------------------------------------------------------------------------


def rapid_reset() -> Vulnerability:
    return parse_cve(json.loads((DATA / "CVE-2023-44487.fkie.json").read_text()), origin="fkie")


def test_protocol_cve_reaches_the_curated_implementations(golangs: list[SourcePackage]) -> None:
    vuln = rapid_reset()  # its only criterion: cpe:2.3:a:ietf:http:2.0
    httpd = spec("httpd")  # nothing in its spec names the CVE
    (v,) = verdicts(vuln, httpd, [])
    assert v.status is Status.UNDER_INVESTIGATION and kinds(v)[0] == "protocol"
    assert "names the protocol HTTP/2, which httpd implements: mod_http2" in text(v)
    assert "curated protocol list" in text(v)
    # nghttp2's %changelog: "Update version to 1.57.0 to include patches for CVE-2023-44487"
    (n,) = verdicts(vuln, spec("nghttp2"), [])
    assert n.status is Status.FIXED and kinds(n)[:2] == ["changelog", "protocol"]
    assert verdicts(vuln, spec("zlib"), []) == []
    # a product-specific verdict wins over the protocol link, which stays in the evidence
    direct = dataclasses.replace(v, status=Status.NOT_AFFECTED, evidence=v.evidence[-1:])
    merged = merge(direct, [v])
    assert merged is not None and merged.status is Status.NOT_AFFECTED and "protocol" in kinds(merged)
    moby_cc = parse_spec(SPECS / "moby-containerd-cc" / "moby-containerd-cc.spec").package
    assert moby_cc is not None  # not in the list, but its own CVE-2023-44487.patch links it directly


def test_every_package_of_the_protocol_list_is_in_the_tree() -> None:
    for proto in CMAP.protocols:
        for package in proto.packages:
            pkg = parse_spec(SPECS / package / f"{package}.spec").package
            assert pkg is not None and pkg.name == package


# --- merge ------------------------------------------------------------------------------------------


def test_merge_worst_status_wins_and_keeps_all_evidence(golangs: list[SourcePackage]) -> None:
    vuln = nvd("CVE-2026-32288")
    kube = spec("kubernetes")
    (comp,) = verdicts(vuln, kube, comps_of(kube, golangs))
    from cvewatch.model.verdicts import Evidence

    direct = dataclasses.replace(comp, status=Status.NOT_AFFECTED, evidence=(Evidence("nopatch", "x"),))
    m = merge(direct, [comp])
    assert m is not None and m.status is Status.AFFECTED
    assert m.evidence[: len(comp.evidence)] == comp.evidence and m.evidence[-1] == Evidence("nopatch", "x")
    assert merge(None, []) is None
    assert merge(direct, []) == direct


# --- scan, rebuild plan, runner -------------------------------------------------------------------------


def test_scan_gives_one_verdict_per_pair(golangs: list[SourcePackage]) -> None:
    specs = [spec("kubernetes"), spec("moby-engine"), spec("zipper"), *golangs[-1:]]
    facts = ComponentFacts(
        {p.name: tuple(spec_components(p, golangs)) for p in specs},
        {"golang": tuple(g.evr for g in golangs)},
        CMAP,
    )
    ids = ["CVE-2026-32288", "CVE-2025-58183", "CVE-2024-45338", "CVE-2025-47911"]
    vulns = {i: nvd(i) for i in ids}
    cna = {i: cve5(i) for i in ids if not vulns[i].configurations}
    out = scan(vulns, specs, MAPPING, release="azl3", dist=".azl3", cna=cna, components=facts)
    pairs = [(v.cve, v.package) for v in out]
    assert len(pairs) == len(set(pairs))
    by = {(v.cve, v.package): v for v in out}
    assert by[("CVE-2026-32288", "kubernetes")].status is Status.AFFECTED
    assert by[("CVE-2026-32288", "moby-engine")].status is Status.FIXED  # its patch
    assert by[("CVE-2026-32288", "golang")].status is Status.NOT_AFFECTED  # the direct match: 1.26.2
    assert by[("CVE-2024-45338", "moby-engine")].status is Status.UNDER_INVESTIGATION
    assert by[("CVE-2024-45338", "kubernetes")].status is Status.FIXED
    without = scan(vulns, specs, MAPPING, release="azl3", dist=".azl3", cna=cna)
    assert ("CVE-2024-45338", "moby-engine") not in {(v.cve, v.package) for v in without}

    plan = {i.package: i for i in plan_rebuilds(vulns, cna, specs, facts, dist=".azl3")}
    kube = plan["kubernetes"]  # golang < 1.25: no golang of the tree fixes CVE-2026-32288
    assert kube.built_with == "1.24.13" and kube.still_open == ("CVE-2026-32288",)
    assert kube.blocked is not None and "golang < 1.25" in kube.blocked and kube.rebuild_with is None
    assert "moby-engine" in plan and plan["moby-engine"].toolchain is None  # its x/net version is unknown
    (mod,) = [m for m in plan["moby-engine"].modules if m.module == "golang.org/x/net"]
    assert mod.current is None and mod.needed == "0.45.0" and "CVE-2024-45338" in mod.cves


def test_rebuild_with_the_release_golang_closes_a_stdlib_cve(golangs: list[SourcePackage]) -> None:
    cert = spec("cert-manager")  # BuildRequires: golang; its binaries were built with go 1.22.5 (record)
    record = Component("golang-stdlib", "stdlib", "1.22.5", "pkg:golang/stdlib@go1.22.5", ORIGIN_GO_VERSION_M)
    facts = ComponentFacts(
        {"cert-manager": (*spec_components(cert, golangs), record)},
        {"golang": tuple(g.evr for g in golangs)},
        CMAP,
    )
    vulns = {"CVE-2026-32288": nvd("CVE-2026-32288")}
    (item,) = plan_rebuilds(vulns, {}, [cert, *golangs], facts, dist=".azl3")
    assert item.built_with == "1.22.5" and item.rebuild_with == "0:1.26.2-1.azl3"
    assert item.closes == ("CVE-2026-32288",) and item.blocked is None


def _store(engine: Engine, tmp: Path) -> Path:
    root = tmp / "SPECS"
    for n in ("golang", "moby-engine", "kubernetes", "zipper", "nghttp2", "cert-manager"):
        shutil.copytree(SPECS / n, root / n)
    ids = ["CVE-2026-32288", "CVE-2025-58183", "CVE-2024-45338", "CVE-2025-47911", "CVE-2026-27171"]
    with engine.begin() as conn:
        upsert_all(conn, [nvd(i) for i in ids] + [rapid_reset()])
        upsert_cve5(conn, [cve5(i) for i in ids if (CVE5 / f"{i}.json").is_file()])
    load_specs_into(engine, root, release="azl3")
    return root


def key(vs: list[Verdict]) -> list[tuple[object, ...]]:
    return sorted((v.cve, v.package, v.status, v.fixed_in, v.evidence) for v in vs)


def test_runner_scans_components_and_an_sbom_rescan_is_incremental(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    first = run_scan(engine, release="azl3")
    assert first.mode == "full"
    by = {(v.cve, v.package): v for v in first.verdicts}
    assert by[("CVE-2026-32288", "kubernetes")].status is Status.AFFECTED
    assert by[("CVE-2024-45338", "moby-engine")].status is Status.UNDER_INVESTIGATION
    assert (
        by[("CVE-2023-44487", "nghttp2")].status is Status.FIXED
    )  # its changelog; the protocol list linked it
    assert ("CVE-2026-27171", "zipper") not in by  # zipper bundles minizip, not zlib

    sbom = [
        Component(KIND_GENERIC, "zlib", "1.2.13", "pkg:generic/zlib@1.2.13", ORIGIN_SBOM, "zipper.spdx.json"),
        Component("golang", "golang.org/x/net", "0.44.0", "pkg:golang/golang.org/x/net@v0.44.0", ORIGIN_SBOM),
    ]
    with engine.begin() as conn:
        replace_build_components(conn, "azl3", "zipper", sbom[:1], origin=ORIGIN_SBOM)
        replace_build_components(conn, "azl3", "moby-engine", sbom[1:], origin=ORIGIN_SBOM)
    second = run_scan(engine, release="azl3")
    assert second.mode == "incremental" and second.packages_evaluated == 2
    by = {(v.cve, v.package): v for v in second.verdicts}
    assert by[("CVE-2026-27171", "zipper")].status is Status.AFFECTED
    assert by[("CVE-2024-45338", "moby-engine")].status is Status.NOT_AFFECTED  # 0.44.0 >= 0.33.0
    assert by[("CVE-2025-47911", "moby-engine")].status is Status.AFFECTED  # 0.44.0 < 0.45.0
    full = run_scan(engine, release="azl3", full=True)
    assert key(full.verdicts) == key(second.verdicts)
