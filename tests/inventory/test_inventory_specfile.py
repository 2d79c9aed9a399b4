"""One spec -> SourcePackage, on real specs of the Azure Linux 3.0 tree and on hand-written edge cases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cvewatch.inventory.changelog import parse_changelog, parse_header
from cvewatch.inventory.specfile import SpecResult, parse_spec, parse_spec_text, patch_header_cves

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "azurelinux" / "SPECS-3.0"
needs_data = pytest.mark.skipif(not SPECS.is_dir(), reason="shared data not present")


def spec(folder: str, name: str | None = None) -> SpecResult:
    return parse_spec(SPECS / folder / f"{name or folder}.spec")


# -- real specs ------------------------------------------------------------------------------------


@needs_data
def test_curl_header_patches_changelog() -> None:
    r = spec("curl")
    p = r.package
    assert p is not None
    assert (p.name, p.epoch, p.version, p.release) == ("curl", 0, "8.11.1", "6.azl3")
    assert p.url == "https://curl.haxx.se"
    assert p.source0 == "https://curl.haxx.se/download/curl-8.11.1.tar.gz"  # %{name}-%{version} expanded
    assert p.subpackages == ("curl", "curl-devel", "curl-libs")
    assert [x.number for x in p.patches] == list(range(8))
    assert p.patches[0].filename == "CVE-2025-0665.patch" and p.patches[0].cves == ("CVE-2025-0665",)
    assert all(x.present for x in p.patches)
    top = p.changelog[0]
    assert top.date == date(2026, 3, 12) and top.evr == "8.11.1-6"
    assert top.cves == ("CVE-2026-3784", "CVE-2026-3783", "CVE-2026-1965")
    assert "Security Servicing" in top.author
    assert r.problems == ()


@needs_data
def test_openssh_global_version_nopatch_with_justification() -> None:
    p = spec("openssh").package
    assert p is not None
    assert (p.version, p.release) == ("9.8p1", "6.azl3")  # Version: %{openssh_ver} from %global
    # "%package -n pam_ssh_agent_auth" has its own Version/Release: they must not leak into the main one
    assert "pam_ssh_agent_auth" in p.subpackages
    assert {"openssh-clients", "openssh-server"} <= set(p.subpackages)
    triage = {t.cve: t.justification for t in p.triage}
    assert triage["CVE-2007-2768"] == ""  # empty nopatch file
    assert "patches both CVE-2025-26465 and CVE-2025-26466" in triage["CVE-2025-26466"]
    assert [x.number for x in p.patches if x.filename == "CVE-2025-26465.patch"] == [400]


@needs_data
def test_glibc_patch_header_names_more_cves() -> None:
    p = spec("glibc").package
    assert p is not None
    by_name = {x.filename: x for x in p.patches}
    assert by_name["CVE-2023-5156.patch"].cves == ("CVE-2023-5156", "CVE-2023-4806")
    assert {"glibc", "glibc-devel", "glibc-i18n"} <= set(p.subpackages)
    assert len(p.triage) == 4


@needs_data
def test_kernel_conditionals_subpackages_and_many_nopatch() -> None:
    p = spec("kernel").package
    assert p is not None
    assert p.name == "kernel" and p.release.endswith(".azl3")
    assert {"kernel", "kernel-devel", "kernel-tools", "python3-perf", "bpftool"} <= set(p.subpackages)
    assert len(p.triage) == 116
    assert any("rpc.ugidd" in t.justification for t in p.triage)


@needs_data
def test_systemd_bcond_and_many_subpackages() -> None:
    r = spec("systemd")
    p = r.package
    assert p is not None
    assert (p.version, p.release) == ("255", "27.azl3")
    assert {"systemd-libs", "systemd-udev", "systemd-resolved"} <= set(p.subpackages)
    # %include of a source file is reported, not followed
    assert any("%include" in x.message for x in r.problems)


@needs_data
def test_golang_several_specs_in_one_folder() -> None:
    p = spec("golang").package
    assert p is not None and p.name == "golang" and p.subpackages == ("golang",)
    older = spec("golang", "golang-1.23").package
    assert older is not None and older.version.startswith("1.23")


@needs_data
def test_moby_engine_vendored_cve_patches() -> None:
    p = spec("moby-engine").package
    assert p is not None
    assert (p.name, p.version) == ("moby-engine", "25.0.3")
    assert sum(1 for x in p.patches if x.cves) >= 5


@needs_data
def test_perl_epoch_from_global_and_subpackage_versions_ignored() -> None:
    p = spec("perl").package
    assert p is not None
    assert (p.epoch, p.version) == (4, "5.38.2")  # Epoch: %{perl_epoch}; 184 subpackage Version: lines
    assert "perl-interpreter" in p.subpackages and len(p.subpackages) > 150
    assert p.changelog[0].evr is not None and p.changelog[0].evr.startswith("4:5.38.2-")


@needs_data
def test_mariadb_name_from_macro_and_epoch() -> None:
    p = spec("mariadb").package
    assert p is not None
    assert (p.name, p.epoch) == ("mariadb", 3)
    assert p.patches[0].filename == "mariadb-logrotate.patch"


@needs_data
def test_binutils_parametric_macro_generates_packages() -> None:
    p = spec("binutils").package
    assert p is not None
    # "%do_package aarch64-linux-gnu %{build_aarch64}" expands to "%if 1 / %package -n binutils-%1 ..."
    assert "binutils-aarch64-linux-gnu" in p.subpackages


@needs_data
def test_python_wheel_name_uses_later_global() -> None:
    r = spec("python-wheel")
    p = r.package
    assert p is not None and p.name == "python-wheel"
    assert "python3-wheel" in p.subpackages
    assert any("defined after" in x.message for x in r.problems)


@needs_data
def test_shell_version_gives_no_package_and_a_problem() -> None:
    r = spec("re2")
    assert r.package is None
    assert any("cannot determine Version" in x.message for x in r.problems)


# -- hand-written edge cases -------------------------------------------------------------------------

MINIMAL = """\
%global upstream 2.1
%define extra_rel .1
Summary: x
Name: demo
Version: %{upstream}
Release: 3%{extra_rel}%{?dist}
Epoch: 2
URL: https://example.org
Source0: %{url}/%{name}-%{version}.tar.gz
Patch0: CVE-2024-0001.patch
Patch: https://example.org/fix.patch#/CVE-2024-0002-CVE-2024-0003.patch
Patch7: %{name}-local.patch
%if 0%{?with_check}
Patch8: check-only.patch
%endif

%description
text %{nosuch_in_description}

%package -n libdemo
Summary: lib
Version: 9.9
%package devel
Summary: dev
%package unbuilt
Summary: no files

%prep
%autosetup -p1 %{nosuch_in_script}

%files
%files -n libdemo
%files devel -f devel.list

%changelog
* Mon Feb 03 2025 A Person <a@example.org> - 2.1-3
- Fix CVE-2024-0001 and CVE-2024-0002
- also CVE-2024-0001 again
* Sun Jan 05 2025 B Person <b@example.org> 2.1-2
- Initial
"""


def test_minimal_spec() -> None:
    r = parse_spec_text(
        MINIMAL, path="demo.spec", sibling_files=["CVE-2024-0001.patch", "CVE-2023-9999.nopatch"]
    )
    p = r.package
    assert p is not None
    assert (p.name, p.epoch, p.version, p.release) == ("demo", 2, "2.1", "3.1.azl3")
    assert p.source0 == "https://example.org/demo-2.1.tar.gz"
    assert [(x.filename, x.number, x.cves, x.present) for x in p.patches] == [
        ("CVE-2024-0001.patch", 0, ("CVE-2024-0001",), True),
        ("CVE-2024-0002-CVE-2024-0003.patch", None, ("CVE-2024-0002", "CVE-2024-0003"), False),
        ("demo-local.patch", 7, (), False),
    ]
    # mimic rpm: only packages with %files are built; "unbuilt" has none
    assert p.subpackages == ("demo", "libdemo", "demo-devel")
    assert [t.cve for t in p.triage] == ["CVE-2023-9999"]
    assert [e.evr for e in p.changelog] == ["2.1-3", "2.1-2"]
    assert p.changelog[0].cves == ("CVE-2024-0001", "CVE-2024-0002")
    assert p.changelog[1].date == date(2025, 1, 5)
    # unknown macros in %description and scripts are not expanded, so not reported
    assert r.problems == ()


def test_arch_changes_conditionals() -> None:
    text = "Name: a\nVersion: 1\nRelease: 1\n%ifarch aarch64\nPatch1: arm.patch\n%endif\n%files\n"
    assert parse_spec_text(text, path="a.spec").package.patches == ()  # type: ignore[union-attr]
    arm = parse_spec_text(text, path="a.spec", arch="aarch64").package
    assert arm is not None and [x.filename for x in arm.patches] == ["arm.patch"]


def test_main_package_without_files_is_not_built() -> None:
    text = "Name: meta\nVersion: 1\nRelease: 1%{?dist}\n%package -n only\nSummary: s\n%files -n only\n"
    p = parse_spec_text(text, path="m.spec").package
    assert p is not None and p.subpackages == ("only",)


def test_patchlist_lines_are_patches_numbered_after_the_patch_tags() -> None:
    # rpm >= 4.15: one patch file per line of %patchlist, numbered after the last PatchN
    text = (
        "Name: p\nVersion: 1\nRelease: 1\nPatch3: first.patch\n%patchlist\n"
        "CVE-2024-3094.patch\n\n# a comment\n%{name}-fix.patch\n%prep\n"
    )
    p = parse_spec_text(text, path="p.spec", sibling_files=["CVE-2024-3094.patch"]).package
    assert p is not None
    assert [(x.filename, x.number, x.cves, x.present) for x in p.patches] == [
        ("first.patch", 3, (), False),
        ("CVE-2024-3094.patch", 4, ("CVE-2024-3094",), True),
        ("p-fix.patch", 5, (), False),
    ]


def test_no_files_at_all_includes_everything() -> None:
    text = "Name: m\nVersion: 1\nRelease: 1\n%package x\nSummary: s\n"
    p = parse_spec_text(text, path="m.spec").package
    assert p is not None and p.subpackages == ("m", "m-x")


def test_unknown_macro_in_release_is_a_problem_with_line() -> None:
    r = parse_spec_text("Name: a\nVersion: 1\nRelease: 1%{nosuch}\n", path="a.spec")
    assert r.package is None
    msgs = [(x.line, x.message) for x in r.problems]
    assert (3, "Release: unknown macro %{nosuch} left literal") in msgs
    assert any("cannot determine Release" in m for _, m in msgs)


def test_lua_in_version_is_reported() -> None:
    r = parse_spec_text('Name: a\nVersion: %{lua: print("1")}\nRelease: 1\n', path="a.spec")
    assert r.package is None
    assert any("lua" in x.message and x.line == 2 for x in r.problems)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage\n\x00\x01",
        "Name: a\n",
        "%if 1\nName: a\nVersion: 1\nRelease: 1\n",  # unterminated %if
        "%endif\n%else\nName: a\nVersion: 1\nRelease: 1\n",
        "%define loop %{loop}\nName: %{loop}\nVersion: 1\nRelease: 1\n",
        "Name: a\nVersion: 1\nRelease: 1\n%changelog\n* not a date\n- x\n",
        "Name: a\nVersion: 1\nRelease: 1\n%package\n%files -n\n%{",
    ],
)
def test_malformed_specs_never_raise(text: str) -> None:
    r = parse_spec_text(text, path="bad.spec")
    assert isinstance(r, SpecResult)
    if r.package is None:
        assert r.problems and all(x.path == "bad.spec" for x in r.problems)


def test_unterminated_if_is_reported() -> None:
    r = parse_spec_text("%if 1\nName: a\nVersion: 1\nRelease: 1\n", path="x.spec")
    assert r.package is not None
    assert any(x.message == "%if without %endif" and x.line == 1 for x in r.problems)


def test_recursive_macro_is_a_problem_not_a_crash() -> None:
    r = parse_spec_text("%define loop %{loop}\nName: %{loop}\nVersion: 1\nRelease: 1\n", path="x.spec")
    assert r.package is None
    assert any("recursion" in x.message and x.line == 2 for x in r.problems)


def test_changelog_header_variants() -> None:
    assert parse_header("* Tue July 30 2024 R M <r@m.com> - 2.72-2") == (
        date(2024, 7, 30),
        "R M <r@m.com>",
        "2.72-2",
    )
    assert parse_header("* Sat Jul 27 11:58:51 CEST 2019 I G <i@g.org>") == (
        date(2019, 7, 27),
        "I G <i@g.org>",
        None,
    )
    assert parse_header("* Tue 11 Mar 2025 K S <k@m.com> - 18.2.2-6")[2] == "18.2.2-6"  # type: ignore[index]
    assert parse_header("* Wed Jan  3 2007 D Z <d@r.com> - 0.70-9%{?dist}")[2] == "0.70-9"  # type: ignore[index]
    assert parse_header("* Fixes for new role_transition") is None
    bad = parse_changelog(enumerate(["stray", "* Mon Feb 30 2025 X <x@y> - 1-1", "- t"], 1), path="c")
    assert len(bad.entries) == 1 and bad.entries[0].date is None
    assert [p.line for p in bad.problems] == [1, 2]


def test_patch_header_cves_cheap() -> None:
    text = (
        "From abc\nSubject: fix\nCVE: CVE-2024-1111\n\nAlso CVE-2024-2222\n---\n"
        "diff --git a/x b/x\n+CVE-2000-0001\n"
    )
    assert patch_header_cves(text) == ("CVE-2024-1111", "CVE-2024-2222")
