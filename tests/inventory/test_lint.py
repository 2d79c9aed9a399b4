"""Spec lint: every rule on a real spec folder of the 3.0 tree where one shows it, else on a small folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cvewatch.inventory.lint import RULES, Finding, Severity, lint_folder, lint_tree, malformed_cve_ids

from ..conftest import SPECS

TODAY = date(2026, 4, 28)  # the tree's release date
needs_data = pytest.mark.skipif(not SPECS.is_dir(), reason="shared data not present")


def real(folder: str, rule: str) -> list[Finding]:
    findings, _problems, specs = lint_folder(SPECS / folder, root=SPECS, today=TODAY)
    assert specs >= 1
    return [f for f in findings if f.rule == rule]


def messages(findings: list[Finding]) -> list[str]:
    return [str(f) for f in findings]


SPEC = """\
Summary:        A small test package
Name:           demo
Version:        1.2.3
Release:        4%{?dist}
License:        MIT
URL:            https://example.org/demo
Source0:        https://example.org/%{name}-%{version}.tar.gz
{patches}

%description
A test package.

%prep
%autosetup -p1

%files
%license COPYING

%changelog
{changelog}
"""
CHANGELOG = """\
* Tue Apr 28 2026 Jane Doe <jane@example.org> - 1.2.3-4
- Patch CVE-2026-1111

* Mon Jan 05 2026 Jane Doe <jane@example.org> - 1.2.3-3
- Initial package
"""


def make(
    tmp_path: Path, patches: str, changelog: str = CHANGELOG, files: dict[str, str] | None = None
) -> Path:
    folder = tmp_path / "SPECS" / "demo"
    folder.mkdir(parents=True)
    (folder / "demo.spec").write_text(SPEC.replace("{patches}", patches).replace("{changelog}", changelog))
    for name, text in (files or {}).items():
        (folder / name).write_text(text)
    return folder


def lint_tmp(folder: Path, rule: str) -> list[Finding]:
    findings, _problems, specs = lint_folder(folder, root=folder.parent, today=TODAY)
    assert specs == 1
    return [f for f in findings if f.rule == rule]


PATCH_1111 = "From: Jane\nSubject: [PATCH] fix overflow\n\nCVE: CVE-2026-1111\n---\ndiff --git a/x b/x\n"


# -- each rule on real data --------------------------------------------------------------------------------


@needs_data
def test_missing_patch_file_radvd_comma_typo() -> None:
    # radvd.spec: "Patch3: radvd-nodaemon_manpage,patch" (a comma for the dot); the folder has no such file
    found = real("radvd", "missing-patch-file")
    assert [(f.path, f.line, f.severity) for f in found] == [("radvd/radvd.spec", 16, Severity.ERROR)]
    assert "radvd-nodaemon_manpage,patch" in found[0].message


@needs_data
def test_missing_patch_file_not_raised_for_patches_kept_in_sources_subfolder() -> None:
    assert real("rt-tests", "missing-patch-file") == []


@needs_data
def test_cve_patch_mismatch_cert_manager() -> None:
    found = real("cert-manager", "cve-patch-mismatch")
    assert messages(found) == [
        "cert-manager/CVE-2025-32386.patch: warning [cve-patch-mismatch] named for CVE-2025-32386, "
        "but its header names CVE-2025-32387"
    ]


@needs_data
def test_unused_patch_file_audit() -> None:
    found = real("audit", "unused-patch-file")
    assert "audit/refuse-manual-stop.patch" in [f.path for f in found]
    # patches applied under an %if are not "unused": curl's and kernel's are all named
    assert real("curl", "unused-patch-file") == []


@needs_data
def test_patch_without_cve_ref_abseil() -> None:
    found = real("abseil-cpp", "patch-without-cve-ref")
    assert [f.path for f in found] == ["abseil-cpp/CVE-2025-0838.patch"]
    assert "abseil-cpp/CVE-2025-0838.patch" in found[0].path


@needs_data
def test_missing_cve_reference_sudo() -> None:
    found = real("sudo", "missing-cve-reference")
    assert [(f.line, f.severity) for f in found] == [(11, Severity.WARNING), (12, Severity.WARNING)]
    assert "CVE-2025-32462" in found[0].message and "CVE-2025-32463" in found[1].message


@needs_data
def test_invalid_cve_format_real_spellings() -> None:
    assert [f.message for f in real("nvidia-container-toolkit", "invalid-cve-format")] == [
        "'CVE‑2024-0134': '‑' (U+2011) instead of '-'"
    ]
    assert [f.message for f in real("haproxy", "invalid-cve-format")] == [
        "'CVE_2018_20102': '_' (U+005F) instead of '-'",
        "'CVE_2018_20103': '_' (U+005F) instead of '-'",
    ]
    assert [f.message for f in real("libtiff", "invalid-cve-format")] == [
        "'CVE-2016-953': sequence number of 3 digits"
    ]
    acpica = real("acpica-tools", "invalid-cve-format")
    assert "acpica-tools/cve-2017-13693.patch" in [f.path for f in acpica]  # a lower-case file name
    assert real("curl", "invalid-cve-format") == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("fixes CVE-2024-12345 and CVE-2023-4863", []),
        ("CVE-2024-123", ["CVE-2024-123"]),
        ("cve-2024-1234", ["cve-2024-1234"]),
        ("CVE–2024–1234", ["CVE–2024–1234"]),
        ("CVE-24-1234", ["CVE-24-1234"]),
        ("CVE2024-1234", ["CVE2024-1234"]),
        ("in CVE-2019 several ids", []),
        ("CVE-1998-0001", ["CVE-1998-0001"]),
        ("libtar-CVE-2013-4420.patch", []),
    ],
)
def test_malformed_cve_ids(text: str, bad: list[str]) -> None:
    assert [token for token, _ in malformed_cve_ids(text)] == bad


def test_future_dated_cve(tmp_path: Path) -> None:
    # no spec of the tree cites a CVE from after its entry's date: a hand-written one
    changelog = CHANGELOG.replace("- Initial package", "- Initial package, fixes CVE-2027-0001")
    folder = make(
        tmp_path,
        "Patch0: CVE-2026-1111.patch\nPatch1: CVE-2027-5555.patch",
        changelog.replace("CVE-2026-1111", "CVE-2026-1111 CVE-2027-5555"),
        {"CVE-2026-1111.patch": PATCH_1111, "CVE-2027-5555.patch": "CVE-2027-5555\n---\n"},
    )
    found = lint_tmp(folder, "future-dated-cve")
    got = sorted((f.path, f.line, f.message.split()[0]) for f in found)
    assert got == [
        ("demo/CVE-2027-5555.patch", None, "CVE-2027-5555"),
        ("demo/demo.spec", 9, "CVE-2027-5555"),  # the Patch1 line, after today
        ("demo/demo.spec", 21, "CVE-2027-5555"),  # cited on 2026-04-28
        ("demo/demo.spec", 24, "CVE-2027-0001"),  # cited on 2026-01-05
    ]


@needs_data
def test_duplicate_cve_patch_real_and_same_file_twice(tmp_path: Path) -> None:
    fuse = real("fuse", "duplicate-cve-patch")
    assert [(f.severity, f.message.split(" is ")[0]) for f in fuse] == [(Severity.INFO, "CVE-2018-10906")]
    folder = make(
        tmp_path,
        "Patch0: CVE-2026-1111.patch\nPatch1: CVE-2026-1111.patch",
        files={"CVE-2026-1111.patch": PATCH_1111},
    )
    found = lint_tmp(folder, "duplicate-cve-patch")
    assert [(f.line, f.severity) for f in found] == [(9, Severity.ERROR)]
    assert "applied twice" in found[0].message


@needs_data
def test_missing_changelog_entry_linux_firmware_typo() -> None:
    # Version 20230804, Release 2; the newest entry says "- 0230804-2"
    found = real("linux-firmware", "missing-changelog-entry")
    assert [f.severity for f in found] == [Severity.ERROR]
    assert found[0].message.endswith("the newest entry is 0230804-2")
    # out-of-tree kernel modules: Release N_<kernel> matches an entry for N
    assert real("mlnx-ofa_kernel", "missing-changelog-entry") == []
    assert real("curl", "missing-changelog-entry") == []


@needs_data
def test_invalid_changelog_format_cni_plugins() -> None:
    # "* Thu Jan 23 2024 … - 1.4.0-2" sits above "* Mon Feb 12 2024 … - 1.4.0-1" (2025 was meant; Jan 23
    # 2025 is a Thursday): a wrong weekday, then dates out of order
    found = real("cni-plugins", "invalid-changelog-format")
    by_line = {(f.line, f.severity): f.message for f in found}
    assert by_line[(57, Severity.WARNING)] == "2024-01-23 is a Tue, not a Thu"
    assert by_line[(60, Severity.ERROR)].startswith("dated 2024-02-12, after the entry above it (2024-01-23")


@needs_data
def test_invalid_changelog_format_star_line_and_clean_spec() -> None:
    found = real("checkpolicy", "invalid-changelog-format")
    assert any(
        f.line == 338 and f.severity is Severity.ERROR and "Fixes for new role_transition" in f.message
        for f in found
    )
    assert [f for f in real("curl", "invalid-changelog-format") if f.severity is not Severity.INFO] == []


def test_invalid_changelog_format_newest_header(tmp_path: Path) -> None:
    folder = make(
        tmp_path, "", CHANGELOG.replace("<jane@example.org> - 1.2.3-4", "<jane@example.org> 1.2.3-4")
    )
    found = lint_tmp(folder, "invalid-changelog-format")
    assert [(f.line, f.severity) for f in found] == [(20, Severity.WARNING)]


@needs_data
def test_missing_cve_in_changelog_glibc() -> None:
    # CVE-2024-33601.patch also fixes CVE-2024-33602 (its header says so); no changelog entry names 33602
    found = real("glibc", "missing-cve-in-changelog")
    assert any("CVE-2024-33601.patch declares CVE-2024-33602" in f.message for f in found)


def test_missing_cve_in_changelog_generic_patch_name(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        "Patch0: CVE-2026-1111.patch\nPatch1: fix-overflow.patch",
        files={"CVE-2026-1111.patch": PATCH_1111, "fix-overflow.patch": PATCH_1111.replace("1111", "2222")},
    )
    found = lint_tmp(folder, "missing-cve-in-changelog")
    assert [(f.line, f.message) for f in found] == [
        (9, "Patch1 fix-overflow.patch declares CVE-2026-2222 in its header; no %changelog entry names it")
    ]
    assert lint_tmp(folder, "missing-cve-reference") == []


@needs_data
def test_empty_nopatch_justification_ed() -> None:
    found = real("ed", "empty-nopatch-justification")
    assert [(f.path, f.severity) for f in found] == [("ed/CVE-2015-2987.nopatch", Severity.INFO)]


def test_clean_folder_has_no_findings(tmp_path: Path) -> None:
    folder = make(
        tmp_path,
        "Patch0: CVE-2026-1111.patch",
        files={"CVE-2026-1111.patch": PATCH_1111, "CVE-2025-0001.nopatch": "Fixed upstream in 1.2.0\n"},
    )
    findings, _problems, specs = lint_folder(folder, root=folder.parent, today=TODAY)
    assert findings == [] and specs == 1


@needs_data
@pytest.mark.slow
def test_the_whole_tree() -> None:
    result = lint_tree(SPECS, today=TODAY)
    assert result.specs == 1540
    rules = {f.rule for f in result.findings}
    assert rules <= set(RULES)
    # every rule but two fires somewhere on the real tree (the tree holds no symlink, FIFO or huge file)
    assert rules == set(RULES) - {"future-dated-cve", "skipped-file"}
    unreadable = sorted(f.path for f in result.findings if f.rule == "unreadable-spec")
    assert unreadable == [
        "perl-Test-Output/perl-Test-Output.spec",
        "python-junit_xml/python-junit_xml.spec",
        "re2/re2.spec",
    ]
    assert result.has_errors
    assert all(not f.path.startswith("/") for f in result.findings)
