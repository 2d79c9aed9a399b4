"""Only ASCII digits are numbers, wherever a version, an epoch or a number is read from input.

``"²".isdigit()`` is True and ``int("²")`` raises ValueError: ``zlib-²:1.3-1.azl3.x86_64``, an epoch ``"²"``
in JSON and ``epoch=²`` in a purl crashed the parsers with a traceback. ``int("٣")`` is 3: Arabic-Indic
digits were taken as an epoch. rpm reads neither as a number. A bad one is a problem of its line or
record, never a traceback, and the rest is read.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvewatch.errors import InputError
from cvewatch.inventory.changelog import cve_ids, parse_header
from cvewatch.inventory.components import upstream_version
from cvewatch.inventory.gobuildinfo import looks_like_go_version_m
from cvewatch.inventory.imagelist import parse_image_list, parse_nevra, parse_package_text
from cvewatch.inventory.lint import malformed_cve_ids
from cvewatch.inventory.sbom import package_from_purl
from cvewatch.inventory.snapshot import load_snapshot
from cvewatch.inventory.specfile import parse_spec_text
from cvewatch.versions.rpm import EVR, MAX_EPOCH, is_ascii_number, parse_epoch
from cvewatch.versions.upstream import with_update

NOT_ASCII = ["²", "٣", "١٢", "５", "1²", "߁"]  # superscript, Arabic-Indic, fullwidth, NKo


@pytest.mark.parametrize("epoch", NOT_ASCII)
def test_a_nevra_with_a_unicode_epoch_is_an_input_error(epoch: str) -> None:
    with pytest.raises(InputError, match="not a NEVRA"):
        parse_nevra(f"zlib-{epoch}:1.3-1.azl3.x86_64")


def test_an_image_list_reports_the_line_and_reads_the_rest() -> None:
    text = "zlib-²:1.3-1.azl3.x86_64\nzlib-devel-٣:1.3-1.azl3.x86_64\ncurl-1:8.11.1-11.azl3.x86_64\n"
    result = parse_image_list(text, path="list.txt")
    assert [(p.name, p.epoch) for p in result.packages] == [("curl", 1)]
    assert [(p.line, "epoch is not a number of ASCII digits" in p.message) for p in result.problems] == [
        (1, True),
        (2, True),
    ]


@pytest.mark.parametrize("epoch", [*NOT_ASCII, "1_0", "-1", "99999999999", True, 1.0])
def test_an_rpm_qf_json_line_with_a_bad_epoch_is_a_problem_of_its_line(epoch: object) -> None:
    lines = [
        json.dumps({"name": "zlib", "epoch": epoch, "version": "1.3", "release": "1.azl3", "arch": "x86_64"}),
        json.dumps(
            {"name": "curl", "epoch": "1", "version": "8.11.1", "release": "11.azl3", "arch": "x86_64"}
        ),
    ]
    result = parse_package_text("\n".join(lines), path="qf.jsonl")
    assert [(p.name, p.epoch) for p in result.packages] == [("curl", 1)]
    assert [p.line for p in result.problems] == [1]


@pytest.mark.parametrize("epoch", NOT_ASCII)
def test_a_purl_with_a_unicode_epoch_is_an_input_error(epoch: str) -> None:
    for purl in (
        f"pkg:rpm/azurelinux/zlib@1.3-1.azl3?arch=x86_64&epoch={epoch}",
        f"pkg:rpm/azurelinux/zlib@{epoch}:1.3-1.azl3?arch=x86_64",
    ):
        with pytest.raises(InputError, match="epoch"):
            package_from_purl(purl)


def test_an_sbom_element_with_a_unicode_epoch_is_a_problem_of_its_element() -> None:
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "library", "name": "zlib", "purl": "pkg:rpm/azurelinux/zlib@1.3-1.azl3?epoch=%C2%B2"},
            {"type": "library", "name": "curl", "purl": "pkg:rpm/azurelinux/curl@8.11.1-11.azl3?epoch=1"},
        ],
    }
    result = parse_package_text(json.dumps(doc), path="x.cdx.json")
    assert [(p.name, p.epoch) for p in result.packages] == [("curl", 1)]
    assert len(result.problems) == 1 and result.problems[0].message.startswith("components[0]")


def test_evr_epochs_are_ascii_numbers_of_32_bits() -> None:
    assert EVR.parse("1:2.3-4") == EVR(1, "2.3", "4")
    for text in ("٣:1.0-1", "²:1.0-1", ":1.0-1", "1_0:1.0-1", "2147483648:1.0-1", "9" * 5000 + ":1.0-1"):
        with pytest.raises(InputError, match="not an rpm EVR"):
            EVR.parse(text)
    assert parse_epoch("2147483647") == 2**31 - 1 and parse_epoch("007") == 7


@given(
    st.one_of(st.text(max_size=12), st.from_regex(r"[0-9]{1,12}", fullmatch=True)).filter(
        lambda t: "-" not in t
    )
)
def test_an_epoch_is_accepted_exactly_when_it_is_ascii_digits(text: str) -> None:
    try:
        pkg = parse_nevra(f"zlib-{text}:1.3-1.azl3.x86_64")
    except InputError:
        assert not is_ascii_number(text) or int(text) > MAX_EPOCH
    else:
        assert is_ascii_number(text) and pkg.epoch == int(text) <= MAX_EPOCH


@given(st.text(max_size=200))
def test_package_lists_never_raise_anything_but_input_errors(text: str) -> None:
    for line in text.splitlines() or [text]:
        with contextlib.suppress(InputError):
            parse_nevra(line)
    parse_image_list(text, path="t")  # never raises: every bad line is a problem
    parse_package_text(json.dumps({"name": "x", "epoch": text, "version": "1", "release": "1"}), path="t")


def test_a_spec_epoch_patch_number_or_condition_in_other_digits_is_a_problem() -> None:
    spec = (
        "Name: a\nEpoch: ٣\nVersion: 1\nRelease: 1\nPatch{n}: x.patch\n%if {cond}\nPatch9: y.patch\n%endif\n"
    )
    result = parse_spec_text(spec.format(n="1", cond="٣ > 1"), path="a.spec")
    assert result.package is not None and result.package.epoch == 0
    assert [p.number for p in result.package.patches] == [1]  # the %if is not true
    assert any("Epoch: epoch is not a number of ASCII digits" in p.message for p in result.problems)
    assert any("cannot evaluate %if" in p.message for p in result.problems)
    # numbers too long for int() are problems too, not a ValueError
    result = parse_spec_text(spec.format(n="9" * 5000, cond="9" * 5000), path="a.spec")
    assert result.package is not None and result.package.patches == ()
    assert any("bad patch number" in p.message for p in result.problems)


def test_dates_cve_ids_and_versions_are_read_in_ascii_digits_only() -> None:
    assert parse_header("* Mon Jan ٠١ ٢٠٢٤ A <a@b> - 1-1") is None
    assert parse_header("* Mon Jan 01 2024 A <a@b> - 1-1") is not None
    assert cve_ids("fixes CVE-٢٠٢٤-١٢٣٤ and CVE-2024-1234") == ("CVE-2024-1234",)
    assert malformed_cve_ids("CVE-٢٠٢٤-١٢٣٤") == [("CVE-٢٠٢٤-١٢٣٤", "digits that are not ASCII 0-9")]
    spec = "Name: a\nVersion: 1\nRelease: 1\n"
    files = ["CVE-٢٠٢٤-١٢٣٤.nopatch", "CVE-2024-1234.nopatch"]
    result = parse_spec_text(spec, path="a.spec", sibling_files=files)
    assert result.package is not None and [t.cve for t in result.package.triage] == ["CVE-2024-1234"]
    assert with_update("1.0", "٣") == "1.0٣" and with_update("1.0", "3") == "1.0.3"
    assert upstream_version("v٣.1") == "v٣.1" and upstream_version("v3.1") == "3.1"
    assert not looks_like_go_version_m("/usr/bin/x: go١.٢٢\n")


def test_a_snapshot_epoch_in_other_digits_is_an_input_error() -> None:
    package = {"name": "zlib", "epoch": "٣", "version": "1.3", "release": "1", "subpackages": []}
    package |= {"patches": [], "triage": [], "changelog": []}
    doc = {"format": "cvewatch-release-snapshot/1", "release": "r", "packages": [package]}
    with pytest.raises(InputError, match=r"snap\.json: malformed release snapshot: epoch is not a number"):
        load_snapshot(json.dumps(doc).encode(), "snap.json")
    package["epoch"] = 3
    assert load_snapshot(json.dumps(doc).encode(), "snap.json")[2][0].epoch == 3
