"""Component inventory: spec tags, toolchain linkage, build SBOMs, `go version -m`, and the store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cvewatch.errors import InputError
from cvewatch.inventory.components import (
    bundled_components,
    components_from_buildinfo,
    parse_build_sbom,
    parse_component_text,
    toolchain_components,
)
from cvewatch.inventory.gobuildinfo import parse_go_version_m
from cvewatch.inventory.snapshot import dump_snapshot, load_snapshot
from cvewatch.inventory.specfile import parse_spec
from cvewatch.inventory.specreader import split_dependencies
from cvewatch.model.components import (
    KIND_BUNDLED,
    KIND_CARGO,
    KIND_GENERIC,
    KIND_GOLANG,
    KIND_GOLANG_STDLIB,
    KIND_TOOLCHAIN,
    ORIGIN_GO_VERSION_M,
    ORIGIN_SBOM,
)
from cvewatch.model.packages import SourcePackage
from cvewatch.services.inventory import load_specs_into
from cvewatch.store.components import load_components, replace_build_components
from cvewatch.store.inventory import T_SRC, load_release_packages

from ..conftest import SPECS

GO_VERSION_M = """\
/usr/bin/dockerd: go1.22.5
\tpath\tgithub.com/docker/docker/cmd/dockerd
\tmod\tgithub.com/docker/docker\t(devel)\t
\tdep\tgithub.com/containerd/containerd\tv1.7.18\th1:jqjZTQNfXGoEaZdW1WwPU0RqSn1Bm2Ay/KfPRuTYcnk=
\tdep\tgolang.org/x/crypto\tv0.21.0\th1:X31++rzVUdKhX5sWmSOFZxx8UW/ldWx55cbf08iNAMA=
\tdep\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xoGe9ZWaSXX3Ka/1btVsVk=
\t=>\tgolang.org/x/net\tv0.23.0\th1:7EYJ93RZ9vYSZAIb2x3lnuvqO5zneoD6IvWjuhfxjTs=
\tdep\tgoogle.golang.org/protobuf\tv1.33.0\th1:uNO2rsAINq/JlFpSdYEKIZ0uKD/R9cpdv0T+yoGwGmI=
\tdep\tgithub.com/moby/buildkit\tv0.12.5\t
\t=>\t./vendor/buildkit\t(devel)\t
\tbuild\t-buildmode=pie
\tbuild\t-compiler=gc
\tbuild\t-ldflags="-X github.com/docker/docker/dockerversion.Version=25.0.3"
\tbuild\tCGO_ENABLED=1
\tbuild\tGOARCH=amd64
\tbuild\tGOOS=linux
/usr/libexec/docker/docker-proxy: go1.22.5 X:boringcrypto
\tpath\tgithub.com/docker/docker/cmd/docker-proxy
\tmod\tgithub.com/docker/docker\t(devel)\t
\tdep\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xoGe9ZWaSXX3Ka/1btVsVk=
\tbuild\tCGO_ENABLED=0
"""


def syft_spdx() -> dict[str, object]:
    """A build SBOM as `syft scan dir:. -o spdx-json` writes it for a Go source tree (SPDX 2.3)."""

    def pkg(sid: str, name: str, version: str, purl: str) -> dict[str, object]:
        return {
            "name": name,
            "SPDXID": sid,
            "versionInfo": version,
            "supplier": "NOASSERTION",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "sourceInfo": "acquired package info from go module information: /go.mod",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}
            ],
        }

    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "moby-engine-25.0.3",
        "documentNamespace": "https://anchore.com/syft/dir/moby-engine-25.0.3-0c3e1d2a",
        "creationInfo": {
            "licenseListVersion": "3.23",
            "creators": ["Tool: syft-1.4.1"],
            "created": "2024-05-20T10:00:00Z",
        },
        "packages": [
            pkg("SPDXRef-DocumentRoot-Directory-.", ".", "", "pkg:generic/moby-engine@25.0.3"),
            pkg(
                "SPDXRef-Package-go-module-golang.org-x-net-1",
                "golang.org/x/net",
                "v0.33.0",
                "pkg:golang/golang.org/x/net@v0.33.0",
            ),
            pkg("SPDXRef-Package-go-module-stdlib-2", "stdlib", "go1.22.5", "pkg:golang/stdlib@1.22.5"),
            pkg("SPDXRef-Package-generic-zlib-3", "zlib", "1.2.13", "pkg:generic/zlib@1.2.13"),
            pkg(
                "SPDXRef-Package-rpm-glibc-4",
                "glibc",
                "2.38-7.azl3",
                "pkg:rpm/azurelinux/glibc@2.38-7.azl3?arch=x86_64",
            ),
            pkg("SPDXRef-Package-cargo-4", "hyper", "0.14.26", "pkg:cargo/hyper@0.14.26"),
        ],
        "relationships": [
            {
                "spdxElementId": "SPDXRef-DOCUMENT",
                "relatedSpdxElement": "SPDXRef-DocumentRoot-Directory-.",
                "relationshipType": "DESCRIBES",
            }
        ],
    }


def gomod_cyclonedx() -> dict[str, object]:
    """A build SBOM as `cyclonedx-gomod mod -json -std` writes it (CycloneDX 1.5)."""
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:0e7d1b52-6f5c-4c39-9a55-1f0b3c9e4b6a",
        "version": 1,
        "metadata": {
            "component": {
                "bom-ref": "pkg:golang/github.com/kubernetes/kubernetes@v1.30.10?type=module",
                "type": "application",
                "name": "github.com/kubernetes/kubernetes",
                "version": "v1.30.10",
                "purl": "pkg:golang/github.com/kubernetes/kubernetes@v1.30.10?type=module",
            }
        },
        "components": [
            {
                "bom-ref": "pkg:golang/golang.org/x/net@v0.23.0?type=module",
                "type": "library",
                "name": "golang.org/x/net",
                "version": "v0.23.0",
                "scope": "required",
                "hashes": [
                    {
                        "alg": "SHA-256",
                        "content": "1e5d5dbd3c62e8a5b2ab3d0cb1b52c2b1ea49d1bd5e7d46b2ed1d4c7bd2e4c5a",
                    }
                ],
                "purl": "pkg:golang/golang.org/x/net@v0.23.0?type=module",
            },
            {
                "bom-ref": "pkg:golang/std@go1.22.5?type=module",
                "type": "library",
                "name": "std",
                "version": "go1.22.5",
                "purl": "pkg:golang/std@go1.22.5?type=module",
            },
        ],
    }


# --- spec facts ---------------------------------------------------------------------------------------


def test_split_dependencies() -> None:
    assert split_dependencies("cargo < 1.85.0, rust < 1.85.0") == ("cargo < 1.85.0", "rust < 1.85.0")
    assert split_dependencies("bundled(crate(aho-corasick)) = v0.7.18") == (
        "bundled(crate(aho-corasick)) = v0.7.18",
    )
    assert split_dependencies("perl(FindBin) perl(IPC::Cmd) golang >= 1.22") == (
        "perl(FindBin)",
        "perl(IPC::Cmd)",
        "golang >= 1.22",
    )
    assert split_dependencies("(python3-foo or python3-bar)") == ("(python3-foo or python3-bar)",)


def test_real_specs_give_provides_and_buildrequires() -> None:
    moby = parse_spec(SPECS / "moby-engine" / "moby-engine.spec").package
    assert moby is not None and "golang" in moby.build_requires
    shim = parse_spec(SPECS / "shim-unsigned-x64" / "shim-unsigned-x64.spec").package
    assert shim is not None and "bundled(openssl) = 1.0.2j" in shim.provides  # %{openssl_vre} expanded
    zipper = parse_spec(SPECS / "zipper" / "zipper.spec").package
    assert zipper is not None
    (minizip,) = bundled_components(zipper)
    assert (minizip.kind, minizip.name, minizip.version, minizip.purl) == (
        KIND_BUNDLED,
        "minizip",
        "1.2.8",
        "pkg:generic/minizip@1.2.8",
    )
    assert "Provides: bundled(minizip) = 1.2.8 in zipper.spec" in minizip.detail
    netavark = parse_spec(SPECS / "netavark" / "netavark.spec").package
    assert netavark is not None
    crates = {c.name: c for c in bundled_components(netavark)}
    assert crates["aho-corasick"].kind == KIND_CARGO and crates["aho-corasick"].version == "0.7.18"
    assert crates["aho-corasick"].purl == "pkg:cargo/aho-corasick@0.7.18"


def _golang_specs() -> list[SourcePackage]:
    out = []
    for f in sorted((SPECS / "golang").glob("*.spec")):
        pkg = parse_spec(f).package
        assert pkg is not None
        out.append(pkg)
    return out


def test_toolchain_version_is_the_release_golang_the_buildrequires_allow() -> None:
    golangs = _golang_specs()
    assert sorted(g.version for g in golangs) == ["1.23.12", "1.24.13", "1.25.9", "1.26.2"]
    kube = parse_spec(SPECS / "kubernetes" / "kubernetes.spec").package
    moby = parse_spec(SPECS / "moby-engine" / "moby-engine.spec").package
    vitess = parse_spec(SPECS / "vitess" / "vitess.spec").package
    netavark = parse_spec(SPECS / "netavark" / "netavark.spec").package
    rusts = [p for f in sorted((SPECS / "rust").glob("*.spec")) if (p := parse_spec(f).package) is not None]
    assert kube is not None and moby is not None and vitess is not None and netavark is not None
    (k,) = toolchain_components(kube, golangs)
    assert (k.kind, k.name, k.version) == (
        KIND_TOOLCHAIN,
        "golang",
        "1.24.13",
    )  # BuildRequires: golang < 1.25
    assert "golang < 1.25" in k.detail and k.purl == "pkg:rpm/azurelinux/golang@1.24.13-1.azl3"
    (m,) = toolchain_components(moby, golangs)
    assert m.version == "1.26.2"
    (v,) = toolchain_components(vitess, golangs)  # golang < 1.23: no golang of the tree satisfies it
    assert v.version is None and "no golang of the release satisfies it" in v.detail
    (r,) = toolchain_components(netavark, rusts)
    assert (r.name, r.version) == ("rust", "1.75.0")
    golang = next(g for g in golangs if g.version == "1.26.2")
    assert toolchain_components(golang, golangs) == []  # the toolchain does not link itself


# --- build records ---------------------------------------------------------------------------------


def test_go_version_m() -> None:
    infos = parse_go_version_m(GO_VERSION_M, path="dockerd.txt")
    assert [i.binary for i in infos] == ["/usr/bin/dockerd", "/usr/libexec/docker/docker-proxy"]
    d = infos[0]
    assert d.go_version == "1.22.5" and d.path == "github.com/docker/docker/cmd/dockerd"
    assert d.main is not None and d.main.version == "(devel)"
    net = next(x for x in d.deps if x.module.path == "golang.org/x/net")
    assert net.module.version == "v0.17.0" and net.effective.version == "v0.23.0"
    assert ("-ldflags", '"-X github.com/docker/docker/dockerversion.Version=25.0.3"') in d.settings
    assert infos[1].experiments == "X:boringcrypto"
    comps = {(c.kind, c.name, c.version) for c in components_from_buildinfo(infos)}
    assert (KIND_GOLANG_STDLIB, "stdlib", "1.22.5") in comps
    assert (KIND_GOLANG, "golang.org/x/net", "0.23.0") in comps  # replacement applied
    assert (KIND_GOLANG, "golang.org/x/net", "0.17.0") in comps  # docker-proxy has no replacement
    assert (KIND_GOLANG, "github.com/moby/buildkit", None) in comps  # replaced by a local folder
    with pytest.raises(InputError, match=r"dockerd\.txt:3"):
        parse_go_version_m("/x: go1.22.5\n\tpath\tx\n\tbogus\ty\n", path="dockerd.txt")


def test_sbom_spdx_and_cyclonedx() -> None:
    spdx = parse_build_sbom(syft_spdx(), path="moby.spdx.json")
    got = {(c.kind, c.name, c.version) for c in spdx.components}
    assert got == {
        (KIND_GOLANG, "golang.org/x/net", "0.33.0"),
        (KIND_GOLANG_STDLIB, "stdlib", "1.22.5"),
        (KIND_GENERIC, "zlib", "1.2.13"),
        (KIND_CARGO, "hyper", "0.14.26"),
    }  # the described root and the rpm are not components
    assert spdx.format == "spdx-json" and not spdx.problems
    cdx = parse_component_text(json.dumps(gomod_cyclonedx()).encode(), path="kube.cdx.json")
    assert cdx.format == "cyclonedx-json"
    assert {(c.kind, c.name, c.version) for c in cdx.components} == {
        (KIND_GOLANG, "golang.org/x/net", "0.23.0"),
        (KIND_GOLANG_STDLIB, "stdlib", "1.22.5"),
    }
    text = parse_component_text(GO_VERSION_M.encode(), path="dockerd.txt")
    assert text.format == "go-version-m"
    with pytest.raises(InputError, match="neither"):
        parse_component_text(b"hello world\n", path="x.txt")
    with pytest.raises(InputError, match="neither SPDX"):
        parse_component_text(b'{"a": 1}', path="x.json")


def test_snapshot_keeps_buildrequires_and_provides() -> None:
    zipper = parse_spec(SPECS / "zipper" / "zipper.spec").package
    assert zipper is not None
    _, _, (back,) = load_snapshot(dump_snapshot("azl3", ".azl3", [zipper], "test"), "test")
    assert back.provides == zipper.provides and back.build_requires == zipper.build_requires
    doc = json.loads(dump_snapshot("azl3", ".azl3", [zipper], "test"))
    for p in doc["packages"]:
        del p["provides"], p["build_requires"]  # an older snapshot: the keys are optional
    _, _, (old,) = load_snapshot(json.dumps({**doc}).encode(), "test")
    assert old.provides == () and old.build_requires == ()


# --- the store -------------------------------------------------------------------------------------


def _tree(tmp: Path, names: list[str]) -> Path:
    root = tmp / "SPECS"
    for n in names:
        shutil.copytree(SPECS / n, root / n)
    return root


def test_store_round_trip_and_sbom_components_survive_a_spec_reload(engine: Engine, tmp_path: Path) -> None:
    root = _tree(tmp_path, ["golang", "moby-engine", "kubernetes", "zipper"])
    load_specs_into(engine, root, release="azl3")
    with engine.connect() as conn:
        comps = load_components(conn, "azl3")
        specs = {p.name: p for p in load_release_packages(conn, "azl3")}
    assert {(c.kind, c.name, c.version, c.origin) for c in comps["kubernetes"]} == {
        (KIND_TOOLCHAIN, "golang", "1.24.13", "buildrequires")
    }
    assert {(c.name, c.version) for c in comps["moby-engine"]} == {("golang", "1.26.2")}
    assert {(c.kind, c.name, c.version, c.origin) for c in comps["zipper"]} == {
        (KIND_BUNDLED, "minizip", "1.2.8", "bundled-tag")
    }
    assert "golang" in specs["moby-engine"].build_requires
    assert specs["zipper"].provides == parse_spec(SPECS / "zipper" / "zipper.spec").package.provides  # type: ignore[union-attr]

    result = parse_component_text(GO_VERSION_M.encode(), path="dockerd.txt")
    with engine.begin() as conn:
        before = conn.execute(select(T_SRC.c.changed_at).where(T_SRC.c.name == "moby-engine")).scalar()
        n, changed = replace_build_components(
            conn, "azl3", "moby-engine", result.components, origin=ORIGIN_GO_VERSION_M
        )
        after = conn.execute(select(T_SRC.c.changed_at).where(T_SRC.c.name == "moby-engine")).scalar()
    assert (
        n == len(result.components)
        and changed
        and after is not None
        and before is not None
        and after > before
    )
    with engine.begin() as conn:
        assert (
            replace_build_components(
                conn, "azl3", "moby-engine", result.components, origin=ORIGIN_GO_VERSION_M
            )[1]
            is False
        )

    # the spec changes (a new patch): the package row is replaced; its go-version-m components stay
    spec = root / "moby-engine" / "moby-engine.spec"
    spec.write_text(spec.read_text().replace("Release: 17%{?dist}", "Release: 18%{?dist}"))
    report = load_specs_into(engine, root, release="azl3")
    assert report.changed == 1
    with engine.connect() as conn:
        moby = load_components(conn, "azl3", packages=["moby-engine"])["moby-engine"]
    origins = {c.origin for c in moby}
    assert origins == {"buildrequires", ORIGIN_GO_VERSION_M}
    assert any(c.name == "golang.org/x/net" and c.version == "0.23.0" for c in moby)
    with engine.begin() as conn:
        replace_build_components(
            conn,
            "azl3",
            "kubernetes",
            parse_build_sbom(gomod_cyclonedx(), path="k").components,
            origin=ORIGIN_SBOM,
        )
    with engine.connect() as conn:
        kube = load_components(conn, "azl3", packages=["kubernetes"])["kubernetes"]
    assert {c.origin for c in kube} == {"buildrequires", ORIGIN_SBOM}
