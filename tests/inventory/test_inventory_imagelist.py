"""AKS node-image build notes and rpm -qa lists."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from cvewatch.errors import InputError
from cvewatch.inventory.imagelist import (
    FORMAT_AKS_NOTE,
    ImageListResult,
    parse_image_list,
    parse_nevra,
    parse_package_list,
)
from cvewatch.inventory.tree import binary_to_source, load_spec_tree
from cvewatch.model.packages import InstalledPackage

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "azurelinux"
NOTES = DATA / "aks-node-images" / "AKSAzureLinuxV3-gen2"
needs_data = pytest.mark.skipif(not NOTES.is_dir(), reason="shared data not present")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("curl-8.11.1-3.azl3.x86_64", InstalledPackage("curl", 0, "8.11.1", "3.azl3", "x86_64")),
        ("name-1:2.3-4.azl3.x86_64", InstalledPackage("name", 1, "2.3", "4.azl3", "x86_64")),
        (
            "libstdc++-devel-13.2.0-7.azl3.aarch64",
            InstalledPackage("libstdc++-devel", 0, "13.2.0", "7.azl3", "aarch64"),
        ),
        ("tzdata-2024a-1.azl3.noarch", InstalledPackage("tzdata", 0, "2024a", "1.azl3", "noarch")),
        ("glibc-2.38-8.azl3.i686", InstalledPackage("glibc", 0, "2.38", "8.azl3", "i686")),
        ("gpg-pubkey-3135ce90-5e6fda74", InstalledPackage("gpg-pubkey", 0, "3135ce90", "5e6fda74", None)),
        ("curl-8.11.1-3.azl3", InstalledPackage("curl", 0, "8.11.1", "3.azl3", None)),
        (
            "blobfuse2-2.5.0~preview.1-1.x86_64",
            InstalledPackage("blobfuse2", 0, "2.5.0~preview.1", "1", "x86_64"),
        ),
    ],
)
def test_parse_nevra(text: str, expected: InstalledPackage) -> None:
    assert parse_nevra(text) == expected
    assert parse_nevra(expected.nevra) == expected


@pytest.mark.parametrize(
    "text", ["", "curl", "curl-8.1", "-1-2.x86_64", "a b-1-2", "x-a:1-2.x86_64", "x-1-2-.x86_64"]
)
def test_parse_nevra_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_nevra(text)


def test_plain_list_with_bad_line() -> None:
    text = "curl-8.11.1-3.azl3.x86_64\n\n# comment\nnot a nevra\nopenssl-1:3.3.0-1.azl3.x86_64\nbroken\n"
    r = parse_image_list(text, path="list.txt")
    assert [p.name for p in r.packages] == ["curl", "openssl"]
    assert r.packages[1].epoch == 1
    assert [(p.path, p.line) for p in r.problems] == [("list.txt", 4), ("list.txt", 6)]
    assert r.kernel is None and r.os_release == ()


NOTE = """\
Starting build
=== Installed Packages Begin
filesystem-1.1-21.azl3.x86_64
glibc-2.38-8.azl3.x86_64
=== Installed Packages End
=== os-release Begin
NAME="Microsoft Azure Linux"
VERSION_ID="3.0"
=== os-release End
Using kernel:
Linux version 6.6.57.1-6.azl3 (root@CBL-Mariner) (gcc (GCC) 13.2.0) #1 SMP
"""


def test_note_shape() -> None:
    r = parse_image_list(NOTE, path="n.txt")
    assert r.problems == ()
    assert [p.name for p in r.packages] == ["filesystem", "glibc"]
    assert r.kernel == "6.6.57.1-6.azl3"
    assert dict(r.os_release) == {"NAME": "Microsoft Azure Linux", "VERSION_ID": "3.0"}


def test_truncated_note_names_file_and_line() -> None:
    text = "header\n=== Installed Packages Begin\ncurl-8.11.1-3.azl3.x86_64\nglibc-2.3"
    r = parse_image_list(text, path="trunc.txt")
    assert [p.name for p in r.packages] == ["curl"]
    assert [(p.path, p.line) for p in r.problems] == [("trunc.txt", 4), ("trunc.txt", 2)]
    assert "truncated" in r.problems[1].message and "no end marker" in str(r.problems[1])


def test_bad_nevra_in_note() -> None:
    text = NOTE.replace("glibc-2.38-8.azl3.x86_64", "glibc 2.38")
    r = parse_image_list(text, path="n.txt")
    assert [(p.path, p.line) for p in r.problems] == [("n.txt", 4)]


def test_empty_inputs() -> None:
    assert parse_image_list("", path="e").problems[0].message.startswith("no packages")
    r = parse_image_list("=== Installed Packages Begin\n=== Installed Packages End\n", path="e")
    assert r.packages == () and r.problems


@pytest.fixture(scope="module")
def notes() -> list[ImageListResult]:
    files = sorted(NOTES.glob("*.txt"))
    start = time.perf_counter()
    results = [parse_package_list(f) for f in files]
    print(f"\n{len(files)} node-image notes parsed in {time.perf_counter() - start:.2f} s")
    return results


@needs_data
def test_all_real_notes_parse_cleanly(notes: list[ImageListResult]) -> None:
    assert len(notes) == 67
    for r in notes:
        assert r.problems == ()
        assert len(r.packages) > 300
        assert r.kernel is not None and r.kernel.endswith(".azl3")
        assert r.format == FORMAT_AKS_NOTE
        assert dict(r.os_release)["ID"] == "azurelinux"
        assert any(p.name == "kernel" for p in r.packages)


@needs_data
def test_notes_binaries_map_to_source(notes: list[ImageListResult]) -> None:
    mapping = binary_to_source(load_spec_tree(DATA / "SPECS-3.0").packages)
    every = [p for r in notes for p in r.packages]
    unmapped = Counter(p.name for p in every if p.name not in mapping)
    share_all = 1 - sum(unmapped.values()) / len(every)
    # Only the distribution's own builds carry its dist tag; gpg-pubkey and third-party RPMs from other
    # Microsoft repositories (blobfuse2, aznfs, acr-mirror, overlaybd) cannot come from any spec of the tree.
    ours = [p for p in every if ".azl3" in p.release]
    unmapped_ours = Counter(p.name for p in ours if p.name not in mapping)
    share = 1 - sum(unmapped_ours.values()) / len(ours)
    print(f"\nmapped: {share_all:.2%} of {len(every)} installed RPMs; {share:.2%} of {len(ours)} with .azl3")
    print("  unmapped (all):", unmapped.most_common())
    print("  unmapped (.azl3):", unmapped_ours.most_common())
    assert share >= 0.99
    assert share_all >= 0.98
