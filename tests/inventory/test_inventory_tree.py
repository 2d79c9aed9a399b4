"""The whole Azure Linux 3.0 SPECS tree against the reference spec index and changelog table."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import pytest

from cvewatch.inventory.tree import TreeResult, binary_to_source, load_spec_tree
from cvewatch.model.packages import SourcePackage

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "azurelinux"
SPECS = DATA / "SPECS-3.0"
pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason="shared data not present")

_MACRO = re.compile(r"%\{[^{}]*\}|%\([^()]*\)|%[A-Za-z_][A-Za-z0-9_]*")


@pytest.fixture(scope="module")
def tree() -> TreeResult:
    start = time.perf_counter()
    result = load_spec_tree(SPECS)
    elapsed = time.perf_counter() - start
    print(f"\nspec tree: {len(result.packages)} packages, {len(result.problems)} problems in {elapsed:.2f} s")
    return result


def _agrees(raw: str, ours: str) -> tuple[bool, bool]:
    """(agrees, literal): the reference columns are raw spec text. ``%{?dist}`` is expanded to ``.azl3``
    and compared exactly; a value with other macros (``%{azl}.0.0``, ``kf-%{framework}``) is compared as
    a template: the literal parts must match and each macro must have expanded to something macro-free."""
    raw = raw.replace("%{?dist}", ".azl3")
    if "%" not in raw:
        return raw == ours, True
    pattern = ".*?".join(re.escape(part) for part in _MACRO.split(raw))
    return re.fullmatch(pattern, ours) is not None and "%" not in ours, False


def test_tree_agrees_with_reference_index(tree: TreeResult) -> None:
    by_spec = {Path(p.spec_path or "").relative_to(SPECS).as_posix(): p for p in tree.packages}
    rows = list(csv.DictReader((DATA / "spec-index-azl3.csv").open(encoding="utf-8")))
    assert len(rows) == 1540
    agree = literal = 0
    disagreements: list[str] = []
    for row in rows:
        key = row["spec"].removeprefix("SPECS/")
        pkg = by_spec.get(key)
        if pkg is None:
            disagreements.append(
                f"{key}: no package (reference {row['name']} {row['version']} {row['release']})"
            )
            continue
        checks = {
            "name": _agrees(row["name"], pkg.name),
            "epoch": _agrees(row["epoch"] or "0", str(pkg.epoch)),
            "version": _agrees(row["version"], pkg.version),
            "release": _agrees(row["release"], pkg.release),
        }
        bad = [
            f"{f}: reference {row[f]!r} ours {getattr(pkg, f)!r}" for f, (ok, _) in checks.items() if not ok
        ]
        if bad:
            disagreements.append(f"{key}: " + "; ".join(bad))
        else:
            agree += 1
            literal += all(lit for _, lit in checks.values())
    share = agree / len(rows)
    print(
        f"\nName/Epoch/Version/Release agreement: {agree}/{len(rows)} = {share:.2%} ({literal} literal rows)"
    )
    for line in disagreements:
        print("  disagree:", line)
    assert share >= 0.995


def test_tree_changelog_cves_match_reference(tree: TreeResult) -> None:
    ours = {
        (Path(p.spec_path or "").relative_to(SPECS).as_posix(), cve)
        for p in tree.packages
        for e in p.changelog
        for cve in e.cves
    }
    ref = set()
    for row in csv.DictReader((DATA / "changelog-cves-azl3.csv").open(encoding="utf-8")):
        for cve in re.findall(r"CVE-\d{4}-\d{4,}", row["cves"]):
            ref.add((row["spec"].removeprefix("SPECS/"), cve))
    found = len(ref & ours) / len(ref)
    print(f"\nchangelog (spec, CVE) pairs of the reference found: {len(ref & ours)}/{len(ref)} = {found:.2%}")
    print("  missing:", sorted(ref - ours)[:20])
    assert found >= 0.99


def test_tree_structure(tree: TreeResult) -> None:
    assert len(tree.packages) >= 1530
    folders = [Path(p.spec_path or "").parent.name for p in tree.packages]
    assert folders == sorted(folders)
    n_cve_patches = sum(1 for p in tree.packages for x in p.patches if x.filename.startswith("CVE-"))
    n_nopatch = sum(len(p.triage) for p in tree.packages if Path(p.spec_path or "").parent.name != "kernel")
    assert n_cve_patches >= 1000
    assert n_nopatch >= 100
    for p in tree.packages:
        assert p.subpackages, p.name
        assert "%" not in p.name + p.version + p.release, p.spec_path


def test_kernel_module_release_uses_tree_kernel(tree: TreeResult) -> None:
    kernel = next(p for p in tree.packages if p.name == "kernel")
    iser = next(p for p in tree.packages if p.name == "iser")
    kernel_release = kernel.release.removesuffix(".azl3")
    assert iser.release == f"2_{kernel.version}.{kernel_release}.azl3"


def test_binary_to_source(tree: TreeResult) -> None:
    mapping = binary_to_source(tree.packages)
    assert mapping["curl-libs"] == "curl"
    assert mapping["python3-perf"] == "kernel"
    assert mapping["kernel"] == "kernel"
    assert mapping["perl-Test-Harness"] == "perl-Test-Harness"  # also a perl subpackage: own name wins
    assert mapping["binutils-aarch64-linux-gnu"] == "binutils"


def test_binary_to_source_conflict_rule() -> None:
    a = SourcePackage("big", 0, "1", "1", subpackages=("big", "shared-thing"))
    b = SourcePackage("shared-thing", 0, "1", "1", subpackages=("shared-thing",))
    c = SourcePackage("late", 0, "1", "1", subpackages=("big-extra",))
    d = SourcePackage("later", 0, "1", "1", subpackages=("big-extra",))
    assert binary_to_source([a, b, c, d]) == {
        "big": "big",
        "shared-thing": "shared-thing",
        "big-extra": "late",
        # a source name no spec builds as a binary maps to itself (an older build of it had one)
        "late": "late",
        "later": "later",
    }


def test_missing_root_is_a_problem(tmp_path: Path) -> None:
    r = load_spec_tree(tmp_path / "nope")
    assert r.packages == () and len(r.problems) == 1


def test_small_tree(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "a.spec").write_text("Name: a\nVersion: 1\nRelease: 1%{?dist}\n%files\n")
    (tmp_path / "a" / "CVE-2020-0001.nopatch").write_text("  fixed upstream\n")
    (tmp_path / "b" / "b.spec").write_text("Name: b\n")  # no Version/Release
    r = load_spec_tree(tmp_path)
    assert [p.name for p in r.packages] == ["a"]
    assert r.packages[0].triage[0].justification == "fixed upstream"
    assert r.packages[0].release == "1.azl3"
    assert any(x.path.endswith("b.spec") and "cannot determine" in x.message for x in r.problems)


@pytest.mark.slow
def test_tree_timing() -> None:
    start = time.perf_counter()
    load_spec_tree(SPECS)
    elapsed = time.perf_counter() - start
    print(f"\nwhole tree parsed in {elapsed:.2f} s")
    assert elapsed < 20  # target 5 s; generous bound for loaded CI machines
