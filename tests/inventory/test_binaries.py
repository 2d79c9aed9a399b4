"""The one binary -> source rule (inventory/binaries.py) on the whole real 3.0 tree, the 67 real AKS node
images and the demo image: which source a binary comes from, and at which source EVR."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cvewatch.inventory.binaries import BinaryIndex, parse_source_rpm
from cvewatch.inventory.diff import diff_packages
from cvewatch.inventory.imagelist import ImageListResult, parse_image_list, parse_package_list
from cvewatch.inventory.specfile import parse_spec_text
from cvewatch.inventory.tree import binary_to_source, load_spec_tree
from cvewatch.matching.scan import group_by_source
from cvewatch.model.packages import InstalledPackage, SourcePackage
from cvewatch.model.verdicts import Status
from cvewatch.store.inventory import (
    load_image_packages,
    load_release_packages,
    replace_image,
    replace_release_packages,
)
from cvewatch.versions.rpm import EVR

from ..conftest import IMAGES, SPECS

DATA = Path(__file__).resolve().parent / "data"
needs_data = pytest.mark.skipif(not SPECS.is_dir() or not IMAGES.is_dir(), reason="shared data not present")


@pytest.fixture(scope="module")
def tree() -> list[SourcePackage]:
    return list(load_spec_tree(SPECS, dist=".azl3").packages)


@pytest.fixture(scope="module")
def images() -> dict[str, ImageListResult]:
    return {f.name: parse_image_list(f.read_text("utf-8"), path=f.name) for f in sorted(IMAGES.glob("*.txt"))}


@needs_data
def test_perl_modules_are_built_with_their_own_version(tree: list[SourcePackage]) -> None:
    perl = next(p for p in tree if p.name == "perl")
    assert "perl-Text-Tabs+Wrap" in perl.own_version and "perl-Test-Harness" in perl.own_version
    # perl-interpreter repeats perl's Version and Epoch; perl-libs and perl-devel set none
    for carrier in ("perl", "perl-libs", "perl-devel", "perl-interpreter"):
        assert carrier in perl.subpackages and carrier not in perl.own_version
    assert "perl-utils" in perl.own_version  # Epoch: 0 where perl has 4
    assert {p.name for p in tree if p.own_version} >= {"perl", "ding-libs", "ruby", "openssh"}
    curl = next(p for p in tree if p.name == "curl")
    assert curl.own_version == ()


def test_own_version_of_a_spec() -> None:
    text = (
        "Name: tool\nEpoch: 2\nVersion: 1.0\nRelease: 3%{?dist}\n%global modver 0.5\n"
        "%package -n tool-mod\nVersion: %{modver}\nSummary: m\n%package same\nVersion: 1.0\nEpoch: 2\n"
        "%package libs\nSummary: l\n%files\n%files -n tool-mod\n%files same\n%files libs\n"
    )
    spec = parse_spec_text(text, path="tool.spec").package
    assert spec is not None
    assert spec.subpackages == ("tool", "tool-mod", "tool-same", "tool-libs")
    assert spec.own_version == ("tool-mod",)


@needs_data
def test_one_binary_to_source_rule_on_the_whole_real_tree(tree: list[SourcePackage]) -> None:
    mapping = binary_to_source(tree)
    index = BinaryIndex(tree)
    assert mapping == index.mapping()
    builders: dict[str, set[str]] = defaultdict(set)
    for spec in tree:
        for b in spec.subpackages:
            builders[b].add(spec.name)
    assert set(mapping) == set(builders) | {s.name for s in tree}
    # every binary the tree builds, installed from a build the tree does not know: the scan of an image
    # (group_by_source is BinaryIndex.group) groups it under the source binary_to_source names
    for binary, source in mapping.items():
        grouped = index.group([InstalledPackage(binary, 0, "1", "0.other")])
        assert list(grouped.installed) == [source], binary
        assert grouped.unmapped == ()
    # a binary two specs build goes by the build it came from (its release), in the scan and in the map
    shared = {b for b, names in builders.items() if len(names) > 1}
    assert shared == {"libxpmem", "libxpmem-devel", "perl-Test-Harness"}
    for spec in (s for s in tree if s.name in ("xpmem", "xpmem-lib")):
        installed = [
            InstalledPackage(b, 0, spec.version, spec.release) for b in ("libxpmem", "libxpmem-devel")
        ]
        assert group_by_source(installed, tree).installed == {spec.name: spec.evr}
        assert index.source_of(installed[0]) is spec
    assert mapping["libxpmem"] == "xpmem"  # no release to go by: the first by name


@needs_data
def test_one_rule_on_the_67_real_node_images(
    tree: list[SourcePackage], images: dict[str, ImageListResult]
) -> None:
    assert len(images) == 67
    mapping = binary_to_source(tree)
    specs = {s.name: s for s in tree}
    perl = specs["perl"]
    for name, image in images.items():
        grouped = group_by_source(image.packages, tree)
        assert set(grouped.installed) == {mapping[p.name] for p in image.packages if p.name in mapping}, name
        assert grouped.unmapped == tuple(sorted({p.name for p in image.packages if p.name not in mapping}))
        for source, evr in grouped.installed.items():
            spec = specs[source]
            mine = [p for p in image.packages if mapping.get(p.name) == source]
            carriers = [p for p in mine if p.name not in spec.own_version and p.release == evr.release]
            # the source EVR is a build's: a carrier's version (else the spec's), the spec's epoch (build
            # notes print none), and never the own Version of a subpackage such as perl-Text-Tabs+Wrap
            assert evr.release in {p.release for p in mine}, (name, source)
            assert evr.version in ({p.version for p in carriers} or {spec.version}), (name, source, evr)
            assert evr.epoch == spec.epoch, (name, source)
        libs = next(p for p in image.packages if p.name == "perl-libs")
        assert grouped.installed["perl"] == EVR(perl.epoch, libs.version, libs.release), name
        assert str(grouped.installed["perl"]).startswith("4:5.38.2-"), name


@needs_data
def test_a_build_with_only_subpackages_of_their_own_version(tree: list[SourcePackage]) -> None:
    index = BinaryIndex(tree)
    wrap = InstalledPackage("perl-Text-Tabs+Wrap", 0, "2021.0814", "514.azl3", "noarch")
    # no carrier of perl's 514 build is installed: the spec's version, at the build's release
    assert index.group([wrap]).installed == {"perl": EVR(4, "5.38.2", "514.azl3")}
    # the SOURCERPM, where the input has it, names the build
    with_src = InstalledPackage(
        "perl-Text-Tabs+Wrap", 0, "2021.0814", "514.azl3", "noarch", "perl-5.38.1-514.azl3.src.rpm"
    )
    assert index.group([with_src]).installed == {"perl": EVR(4, "5.38.1", "514.azl3")}
    # an epoch the input gives wins over the spec's
    libs = InstalledPackage("perl-libs", 5, "5.38.2", "514.azl3", "x86_64")
    assert index.group([wrap, libs]).installed == {"perl": EVR(5, "5.38.2", "514.azl3")}


def test_parse_source_rpm() -> None:
    assert parse_source_rpm("perl-5.38.2-514.azl3.src.rpm") is not None
    src = parse_source_rpm("python-urllib3-2.0.7-6.azl3.src.rpm")
    assert src is not None and (src.name, src.version, src.release) == ("python-urllib3", "2.0.7", "6.azl3")
    for bad in ("", "perl.src.rpm", "perl-5.38.2.src.rpm", "a b-1-2.src.rpm", "perl-4:5.38.2-1.src.rpm"):
        assert parse_source_rpm(bad) is None, bad


def test_sourcerpm_is_where_a_package_came_from_not_which_it_is() -> None:
    plain = InstalledPackage("curl", 0, "8.11.1", "11.azl3", "x86_64")
    sbom = InstalledPackage("curl", 0, "8.11.1", "11.azl3", "x86_64", "curl-8.11.1-11.azl3.src.rpm")
    assert plain == sbom and hash(plain) == hash(sbom)
    spdx = parse_package_list(DATA / "spdx-2.3-small.json")
    assert diff_packages(
        spdx.packages, [dataclasses.replace(p, source_rpm=None) for p in spdx.packages]
    ).unchanged == len(spdx.packages)


def test_sourcerpm_from_every_input_that_has_it() -> None:
    spdx = parse_package_list(DATA / "spdx-2.3-small.json")
    assert {p.name: p.source_rpm for p in spdx.packages}["curl"] == "curl-8.11.1-11.azl3.src.rpm"
    cdx = parse_package_list(DATA / "cyclonedx-1.6-small.json")
    assert {p.name: p.source_rpm for p in cdx.packages}["curl"] == "curl-8.11.1-11.azl3.src.rpm"
    qf = parse_image_list(
        '{"name":"perl-libs","epoch":"4","version":"5.38.2","release":"514.azl3","arch":"x86_64",'
        '"sourcerpm":"perl-5.38.2-514.azl3.src.rpm"}\n'
        '{"name":"zlib","epoch":"(none)","version":"1.3.1","release":"1.azl3","arch":"x86_64",'
        '"sourcerpm":"(none)"}\n',
        path="qf.jsonl",
    )
    assert [p.source_rpm for p in qf.packages] == ["perl-5.38.2-514.azl3.src.rpm", None]


def test_own_version_and_sourcerpm_are_stored(engine: Engine) -> None:
    perl = SourcePackage(
        "perl",
        4,
        "5.38.2",
        "509.azl3",
        subpackages=("perl", "perl-Text-Tabs+Wrap", "perl-libs"),
        own_version=("perl-Text-Tabs+Wrap",),
    )
    wrap = InstalledPackage(
        "perl-Text-Tabs+Wrap", 0, "2021.0814", "514.azl3", "noarch", "perl-5.38.2-514.azl3.src.rpm"
    )
    with engine.begin() as conn:
        replace_release_packages(conn, "azl3", [perl], dist=".azl3")
        replace_image(conn, "img", "azl3", [wrap])
    with engine.connect() as conn:
        assert load_release_packages(conn, "azl3") == [perl]
        assert load_image_packages(conn, "img") == [wrap]
        assert [p.source_rpm for p in load_image_packages(conn, "img")] == ["perl-5.38.2-514.azl3.src.rpm"]
    with engine.begin() as conn:  # a spec whose subpackage stops having its own version has changed
        again = SourcePackage("perl", 4, "5.38.2", "509.azl3", subpackages=perl.subpackages)
        assert replace_release_packages(conn, "azl3", [again], dist=".azl3") == (0, 1, 0)


def test_perl_on_the_real_demo_image(db_url: str, tmp_path: Path) -> None:
    """The demo's node image installs perl-libs 5.38.2-514 and perl-Text-Tabs+Wrap 2021.0814-514; perl's
    fix for CVE-2025-40909 is 4:5.38.2-509: fixed, not affected at the subpackage's version."""
    from cvewatch.demo.run import run_demo

    result = run_demo(tmp_path / "demo", db_url=db_url, say=lambda _: None)
    perl = [v for v in result.image_verdicts if (v.cve, v.package) == ("CVE-2025-40909", "perl")]
    assert len(perl) == 1
    assert perl[0].version == "4:5.38.2-514.azl3"
    assert perl[0].fixed_in == "4:5.38.2-509.azl3"
    assert perl[0].status is Status.FIXED
    assert all(not v.version.startswith("0:2021.0814") for v in result.image_verdicts)
