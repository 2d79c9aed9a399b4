"""Upstream version order for NVD ranges, one test per rule, on version strings from real NVD records."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cvewatch.versions.cpe import CPE
from cvewatch.versions.upstream import compare_upstream, in_range, upstream_key, with_update

NvdMatch = Callable[..., dict[str, Any]]


def _bounds(m: dict[str, Any]) -> dict[str, str | None]:
    return {
        "start_including": m.get("versionStartIncluding"),
        "start_excluding": m.get("versionStartExcluding"),
        "end_including": m.get("versionEndIncluding"),
        "end_excluding": m.get("versionEndExcluding"),
    }


def _ascending(*versions: str) -> None:
    for lo, hi in itertools.pairwise(versions):
        assert compare_upstream(lo, hi) == -1, (lo, hi)
        assert compare_upstream(hi, lo) == 1, (hi, lo)
    assert sorted(reversed(versions), key=upstream_key) == list(versions)


# rule 3: dotted numerics of any length -------------------------------------------------------------


def test_cve_2022_0847_kernel_ranges_and_four_part_versions(nvd_match: NvdMatch) -> None:
    # Dirty Pipe: linux_kernel 5.15 <= v < 5.15.25; Azure Linux 3.0 ships kernel 6.6.134.1 (4 parts)
    m = nvd_match(
        "CVE-2022-0847", "cpe:2.3:o:linux:linux_kernel:*:*:*:*:*:*:*:*", versionStartIncluding="5.15"
    )
    assert m["versionEndExcluding"] == "5.15.25"
    assert in_range("5.15.24", **_bounds(m))
    assert in_range("5.15.24.1", **_bounds(m))
    assert not in_range("5.15.25", **_bounds(m))
    assert not in_range("5.15.135.1", **_bounds(m))
    assert not in_range("5.16", **_bounds(m))
    assert not in_range("5.9", **_bounds(m))  # numeric, not text: 5.9 < 5.15
    _ascending("5.9", "5.15", "5.15.25", "5.15.135", "5.15.135.1", "5.15.135.2", "6.6.134.1")


def test_cve_2022_0847_ovirt_four_part_exact_version(nvd_match: NvdMatch) -> None:
    nvd_match("CVE-2022-0847", "cpe:2.3:a:ovirt:ovirt-engine:4.4.10.2:*:*:*:*:*:*:*")
    _ascending("4.4.9", "4.4.10", "4.4.10.1", "4.4.10.2", "4.4.10.10", "4.4.11")


def test_cve_2023_26604_systemd_range(nvd_match: NvdMatch) -> None:
    m = nvd_match("CVE-2023-26604", "cpe:2.3:a:systemd_project:systemd:*:*:*:*:*:*:*:*")
    assert m["versionEndExcluding"] == "246.7"
    assert in_range("246.6", **_bounds(m))
    assert in_range("246", **_bounds(m))
    assert not in_range("255", **_bounds(m))  # Azure Linux 3.0 systemd


def test_trailing_zero_components_do_not_count() -> None:
    assert compare_upstream("1.0", "1.0.0") == 0
    assert compare_upstream("3.0.0", "3") == 0
    assert compare_upstream("1.0rc1", "1.0.0rc1") == 0
    assert compare_upstream("0.9", "0.10") == -1
    assert compare_upstream("1.01", "1.1") == 0  # leading zeros ignored
    big = "1." + "9" * 5000  # longer than int()'s digit limit
    assert compare_upstream(big, big + "1") == -1


def test_cve_2019_6327_dates_in_ranges(nvd_cve: Callable[[str], list[dict[str, Any]]]) -> None:
    # HP firmware ranges written as dates (YYYYMMDD)
    dated = [m for m in nvd_cve("CVE-2019-6327") if "20190419" in m.values() or "20190426" in m.values()]
    assert dated, "CVE-2019-6327 has date-valued bounds"
    _ascending("20181231", "20190419", "20190426", "20200101")
    assert in_range("20190420", start_including="20190419", end_excluding="20190426")


# rule 4: pre-releases ------------------------------------------------------------------------------


def test_cve_2019_18276_bash_alpha_beta_rc(nvd_match: NvdMatch) -> None:
    for update in ("beta1", "beta2", "rc1"):
        nvd_match("CVE-2019-18276", f"cpe:2.3:a:gnu:bash:5.0:{update}:*:*:*:*:*:*")
    _ascending(
        with_update("5.0", "alpha"),
        with_update("5.0", "beta1"),
        with_update("5.0", "beta2"),
        with_update("5.0", "rc1"),
        "5.0",
        with_update("5.0", "patch1"),
    )


def test_runc_rc_suffix_with_hyphen() -> None:
    # runc's own tags (1.0.0-rc93 was the last rc before 1.0.0; field guide, "version syntax")
    _ascending("1.0.0-rc9", "1.0.0-rc10", "1.0.0-rc92", "1.0.0-rc93", "1.0.0", "1.0.1", "1.1.0-rc.1", "1.1.0")
    assert in_range("1.0.0-rc93", end_excluding="1.0.0")
    assert not in_range("1.0.0", end_excluding="1.0.0")


def test_cve_2016_1897_ffmpeg_dev_is_oldest(nvd_match: NvdMatch) -> None:
    nvd_match("CVE-2016-1897", "cpe:2.3:a:ffmpeg:ffmpeg:2.8:dev:*:*:*:*:*:*")
    _ascending("2.7", "2.8dev", "2.8alpha", "2.8beta", "2.8pre1", "2.8rc1", "2.8")


def test_cve_2010_3373_paxtest_pre(nvd_match: NvdMatch) -> None:
    nvd_match("CVE-2010-3373", "cpe:2.3:a:grsecurity:paxtest:0.9.7:pre4-2:*:*:*:*:*:*")
    v = with_update("0.9.7", "pre4-2")
    _ascending("0.9.6", "0.9.7pre4", v, "0.9.7pre5", "0.9.7")


def test_cve_2024_6387_freebsd_rc4_p1(nvd_match: NvdMatch) -> None:
    # release candidate 4, patch 1: after rc4, before the release and its own patch levels
    nvd_match("CVE-2024-6387", "cpe:2.3:o:freebsd:freebsd:14.0:rc4-p1:*:*:*:*:*:*")
    nvd_match("CVE-2024-6387", "cpe:2.3:o:freebsd:freebsd:14.0:beta5:*:*:*:*:*:*")
    _ascending("14.0beta5", "14.0rc4", with_update("14.0", "rc4-p1"), "14.0", "14.0p1", "14.0p7", "14.1")


# rule 5: patch levels (post-releases) --------------------------------------------------------------


def test_cve_2024_6387_openssh_p1_update(nvd_match: NvdMatch) -> None:
    # regreSSHion: 8.5:p1 named exactly, 8.6 <= v < 9.8 as a range
    nvd_match("CVE-2024-6387", "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*")
    rng = nvd_match("CVE-2024-6387", "cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*", versionStartIncluding="8.6")
    assert with_update("8.5", "p1") == "8.5p1"
    _ascending("8.5", "8.5p1", "8.5p2", "8.6", "8.6p1", "9.8", "9.8p1")
    assert in_range("9.6p1", **_bounds(rng))
    assert in_range("8.6p1", **_bounds(rng))
    assert not in_range("8.5p1", **_bounds(rng))
    assert not in_range("9.8p1", **_bounds(rng))


def test_cve_2019_18276_bash_patch_levels(nvd_match: NvdMatch) -> None:
    for n in (1, 2, 10, 11):
        nvd_match("CVE-2019-18276", f"cpe:2.3:a:gnu:bash:5.0:patch{n}:*:*:*:*:*:*")
    _ascending("5.0", *(with_update("5.0", f"patch{n}") for n in (1, 2, 3, 9, 10, 11)), "5.0.1", "5.1")
    assert compare_upstream(with_update("5.0", "patch3"), "5.0p3") == 0


def test_cve_2026_35535_sudo_p_levels(nvd_match: NvdMatch) -> None:
    rng = nvd_match("CVE-2026-35535", "cpe:2.3:a:sudo_project:sudo:*:*:*:*:*:*:*:*")
    assert rng["versionEndExcluding"] == "1.9.17"
    for update in ("-", "p1", "p2"):
        nvd_match("CVE-2026-35535", f"cpe:2.3:a:sudo_project:sudo:1.9.17:{update}:*:*:*:*:*:*")
    assert with_update("1.9.17", "-") == "1.9.17"
    _ascending("1.9.16p2", "1.9.17", with_update("1.9.17", "p1"), with_update("1.9.17", "p2"), "1.9.18")
    assert in_range("1.9.16p2", **_bounds(rng))
    assert not in_range("1.9.17p1", **_bounds(rng))


def test_sudo_underscore_p_and_gentoo_revision() -> None:
    # sudo 1.8.6_p7 (field guide, "the CPE update field"): "_p7" is patch level 7, same as "p7"
    assert compare_upstream("1.8.6_p7", "1.8.6p7") == 0
    _ascending("1.8.6", "1.8.6_p3", "1.8.6_p7", "1.8.6_p10", "1.8.7")
    # gentoo-style revision
    _ascending("2.4.1", "2.4.1-r1", "2.4.1-r2", "2.4.2")


def test_cve_2018_7170_ntp_patch_level_candidates(nvd_match: NvdMatch) -> None:
    rng = nvd_match("CVE-2018-7170", "cpe:2.3:a:ntp:ntp:*:*:*:*:*:*:*:*")
    assert rng["versionEndIncluding"] == "4.2.8"
    for update in ("p1-beta1", "p1-rc1", "p1", "p2-rc1", "p6"):
        nvd_match("CVE-2018-7170", f"cpe:2.3:a:ntp:ntp:4.2.8:{update}:*:*:*:*:*:*")
    seq = [with_update("4.2.8", u) for u in ("p1-beta1", "p1-rc1", "p1", "p2-rc1", "p2", "p9", "p10")]
    _ascending("4.2.7p99", "4.2.8", *seq, "4.2.9")
    # the range and the exact names do not overlap: 4.2.8p1 is after end_including 4.2.8
    assert in_range("4.2.8", **_bounds(rng))
    assert not any(in_range(v, **_bounds(rng)) for v in seq)


# rule 6: letter suffixes ---------------------------------------------------------------------------


def test_cve_2023_0286_openssl_letter_suffixes(nvd_match: NvdMatch) -> None:
    m111 = nvd_match(
        "CVE-2023-0286", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", versionStartIncluding="1.1.1"
    )
    m102 = nvd_match(
        "CVE-2023-0286", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*", versionStartIncluding="1.0.2"
    )
    assert m111["versionEndExcluding"] == "1.1.1t"
    assert m102["versionEndExcluding"] == "1.0.2zg"
    _ascending("1.1.1", "1.1.1a", "1.1.1k", "1.1.1s", "1.1.1t", "1.1.1u", "1.1.1w", "3.0.0")
    _ascending("1.0.2", "1.0.2a", "1.0.2y", "1.0.2z", "1.0.2za", "1.0.2zf", "1.0.2zg", "1.0.2zh", "1.1.0")
    assert in_range("1.1.1s", **_bounds(m111))
    assert not in_range("1.1.1t", **_bounds(m111))
    assert in_range("1.0.2z", **_bounds(m102))
    assert in_range("1.0.2zf", **_bounds(m102))
    assert not in_range("1.0.2zg", **_bounds(m102))
    assert not in_range("1.1.1t", **_bounds(m102))
    assert not in_range("3.3.5", **_bounds(m111))  # Azure Linux 3.0 openssl


def test_cve_2016_2183_openssl_single_letters(nvd_match: NvdMatch) -> None:
    for v in ("1.0.1a", "1.0.1h"):
        nvd_match("CVE-2016-2183", f"cpe:2.3:a:openssl:openssl:{v}:*:*:*:*:*:*:*")
    _ascending("1.0.1", "1.0.1a", "1.0.1b", "1.0.1h", "1.0.1o", "1.0.1p", "1.0.1u", "1.0.2")


def test_cve_2019_18217_proftpd_letter_update(nvd_match: NvdMatch) -> None:
    nvd_match("CVE-2019-18217", "cpe:2.3:a:proftpd:proftpd:1.3.6:a:*:*:*:*:*:*")
    _ascending("1.3.6rc3", "1.3.6", with_update("1.3.6", "a"), "1.3.6b", "1.3.7")


def test_cve_2022_20921_escaped_range_value(nvd_match: NvdMatch) -> None:
    m = nvd_match("CVE-2022-20921", "cpe:2.3:a:cisco:aci_multi-site_orchestrator:*:*:*:*:*:*:*:*")
    assert m["versionEndExcluding"] == "3.1\\(1n\\)"
    assert in_range("3.1(1m)", **_bounds(m))
    assert in_range("3.0(2k)", **_bounds(m))
    assert not in_range("3.1(1n)", **_bounds(m))
    assert not in_range("3.2(1a)", **_bounds(m))


def test_ignored_release_words() -> None:
    assert compare_upstream("2.0-final", "2.0") == 0
    assert compare_upstream("2.0.GA", "2.0") == 0


# rules 1 and 8: normalisation, junk ----------------------------------------------------------------


def test_leading_v_and_case() -> None:
    assert compare_upstream("v1.2.3", "1.2.3") == 0
    assert compare_upstream("V1.2.3", "1.2.3") == 0
    assert compare_upstream("1.0RC1", "1.0rc1") == 0
    assert compare_upstream("1.1.1T", "1.1.1t") == 0
    assert compare_upstream(" 1.2 ", "1.2") == 0
    assert compare_upstream("vim", "vin") == -1  # "v" kept when no digit follows


def test_junk_is_ordered_and_never_raises() -> None:
    assert compare_upstream("", "") == 0
    assert compare_upstream("...", "---") != 0
    assert compare_upstream("!!!", "1") == -1
    assert compare_upstream("1.0", "\u0661.\uff10") in (-1, 1)


def test_with_update_rules() -> None:
    assert with_update("8.5", "p1") == "8.5p1"
    assert with_update("8.5", "*") == "8.5"
    assert with_update("8.5", "-") == "8.5"
    assert with_update("8.5", "") == "8.5"
    assert with_update("-", "sp1") == "-"  # cpe:2.3:o:microsoft:windows_7:-:sp1 (CVE-2015-0008)
    assert with_update("1.0", "2") == "1.0.2"
    assert compare_upstream(with_update("1.0", "rc2"), "1.0") == -1
    assert compare_upstream(with_update("5.0", "patch3"), "5.0") == 1


def test_with_update_from_parsed_cpe(all_criteria: list[tuple[str, str]]) -> None:
    # every version:update pair of the sample data combines into something ordered after its bare version,
    # except pre-release updates, which come before it
    seen = 0
    for _cve, criteria in all_criteria:
        cpe = CPE.parse(criteria)
        if cpe.is_any("update") or cpe.is_na("update") or cpe.is_any("version") or cpe.is_na("version"):
            continue
        combined = with_update(cpe.version, cpe.update)
        expected = -1 if cpe.update.startswith(("alpha", "beta", "rc", "pre", "dev")) else 1
        if cpe.update in ("ga", "final", "release"):
            expected = 0
        assert compare_upstream(combined, cpe.version) == expected, (criteria, combined)
        seen += 1
    assert seen > 300


def test_in_range_no_bounds_and_each_side() -> None:
    assert in_range("1.0")
    assert in_range("1.0", start_including="1.0")
    assert not in_range("1.0", start_excluding="1.0")
    assert in_range("1.0", end_including="1.0")
    assert not in_range("1.0", end_excluding="1.0")
    assert in_range("1.0.0", end_including="1.0")


# properties ----------------------------------------------------------------------------------------

version_like = st.text(alphabet="0123456789.-_+~vprcabetalphzPRC ", max_size=16)


@settings(max_examples=1000)
@given(st.one_of(st.text(), version_like), st.one_of(st.text(), version_like))
def test_compare_upstream_total_and_antisymmetric(a: str, b: str) -> None:
    ab = compare_upstream(a, b)
    assert ab in (-1, 0, 1)
    assert compare_upstream(b, a) == -ab
    assert compare_upstream(a, a) == 0
    assert (ab < 0) == (upstream_key(a) < upstream_key(b))


@settings(max_examples=500)
@given(version_like, version_like, version_like)
def test_compare_upstream_transitive(a: str, b: str, c: str) -> None:
    x, y, z = sorted([a, b, c], key=upstream_key)
    assert compare_upstream(x, y) <= 0
    assert compare_upstream(y, z) <= 0
    assert compare_upstream(x, z) <= 0


@pytest.mark.parametrize("text", ["", " ", "\\", "*", "-", "\x00", "😀", "1" * 10_000, "v", "p1", "rc"])
def test_compare_upstream_odd_inputs(text: str) -> None:
    assert compare_upstream(text, "1.0") in (-1, 0, 1)
    assert in_range(text, start_including="0", end_excluding="2") in (True, False)
