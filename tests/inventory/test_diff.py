"""Two node images compared: added, removed, upgraded, downgraded, on real AKS notes and small cases."""

from __future__ import annotations

import pytest

from cvewatch.inventory.diff import diff_packages, evr_label
from cvewatch.inventory.imagelist import parse_nevra, parse_package_list
from cvewatch.model.packages import InstalledPackage

from ..conftest import IMAGES

OLD = IMAGES / "202501.05.0.txt"
NEW = IMAGES / "202608.20.0.txt"
needs_data = pytest.mark.skipif(not NEW.is_file(), reason="shared data not present")


def pk(nevra: str) -> InstalledPackage:
    return parse_nevra(nevra)


@needs_data
def test_real_notes_january_2025_to_august_2026() -> None:
    old = parse_package_list(OLD).packages
    new = parse_package_list(NEW).packages
    d = diff_packages(old, new)
    ups = {c.name: (evr_label(c.old), evr_label(c.new)) for c in d.upgraded}
    # read from the two notes: curl-8.8.0-3 -> curl-8.11.1-11; kernel 6.6.57.1-5 and -6 -> 6.6.150.1-1
    assert ups["curl"] == ("8.8.0-3.azl3", "8.11.1-11.azl3")
    assert ups["curl-libs"] == ("8.8.0-3.azl3", "8.11.1-11.azl3")
    assert ups["openssl"] == ("3.3.2-1.azl3", "3.3.7-4.azl3")
    assert ups["kernel"] == ("6.6.57.1-6.azl3", "6.6.150.1-1.azl3")  # the newest old kernel is paired
    removed = {p.nevra for p in d.removed}
    assert "kernel-6.6.57.1-5.azl3.x86_64" in removed  # the second, older kernel goes away
    assert "kernel-devel-6.6.57.1-6.azl3.x86_64" in removed
    assert "containerd2-2.2.4-6.azl3.x86_64" in {p.nevra for p in d.added}
    assert d.downgraded == () and d.changed == ()
    # every package is accounted for exactly once on each side
    assert d.unchanged + len(d.removed) + len(d.upgraded) + len(d.downgraded) == len(set(old))
    assert d.unchanged + len(d.added) + len(d.upgraded) + len(d.downgraded) == len(set(new))
    names = [c.name for c in d.upgraded]
    assert names == sorted(names)

    back = diff_packages(new, old)
    assert [(c.name, evr_label(c.new)) for c in back.downgraded] == [
        (c.name, evr_label(c.old)) for c in d.upgraded
    ]
    assert {p.nevra for p in back.added} == removed


def test_rpm_order_not_string_order() -> None:
    d = diff_packages(
        [pk("b-1.9-1.x86_64"), pk("a-2.0-1.x86_64"), pk("kernel-6.6.9-1.x86_64")],
        [
            pk("b-1.10-1.x86_64"),
            pk("a-2.0~rc1-1.x86_64"),
            pk("kernel-6.6.10-1.x86_64"),
            pk("kernel-6.6.9-1.x86_64"),
            pk("kernel-6.6.11-1.x86_64"),
        ],
    )
    assert [(c.name, evr_label(c.old), evr_label(c.new)) for c in d.upgraded] == [("b", "1.9-1", "1.10-1")]
    assert [(c.name, evr_label(c.new)) for c in d.downgraded] == [("a", "2.0~rc1-1")]
    # kernel 6.6.9 stays installed; the two new kernels are added, in rpmvercmp order (10 before 11)
    assert [p.nevra for p in d.added] == ["kernel-6.6.10-1.x86_64", "kernel-6.6.11-1.x86_64"]
    assert d.unchanged == 1


def test_epoch_wins_over_version() -> None:
    d = diff_packages([pk("tar-2:1.35-1.azl3.x86_64")], [pk("tar-1.36-1.azl3.x86_64")])
    assert [evr_label(c.new) for c in d.downgraded] == ["1.36-1.azl3"]


def test_arch_change_and_multilib() -> None:
    d = diff_packages(
        [pk("python3-foo-1.0-1.noarch"), pk("glibc-2.38-1.x86_64"), pk("glibc-2.38-1.i686")],
        [pk("python3-foo-1.0-1.x86_64"), pk("glibc-2.38-2.x86_64"), pk("glibc-2.38-2.i686")],
    )
    assert [(c.name, c.old.arch, c.new.arch) for c in d.changed] == [("python3-foo", "noarch", "x86_64")]
    assert [(c.name, c.old.arch, c.new.arch) for c in d.upgraded] == [
        ("glibc", "i686", "i686"),
        ("glibc", "x86_64", "x86_64"),
    ]
    assert d.added == () and d.removed == ()


def test_same_list_is_empty_and_duplicates_count_once() -> None:
    pkgs = [pk("curl-8.11.1-3.azl3.x86_64"), pk("curl-8.11.1-3.azl3.x86_64")]
    d = diff_packages(pkgs, pkgs[:1])
    assert d.unchanged == 1
    assert d.to_dict() == {
        "added": [],
        "removed": [],
        "upgraded": [],
        "downgraded": [],
        "changed": [],
        "unchanged": 1,
    }
