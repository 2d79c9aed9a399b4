"""CPE 2.3 formatted strings (NISTIR 7695) and name matching (NISTIR 7696), on real NVD criteria."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cvewatch.errors import InputError
from cvewatch.model.records import vendor_product
from cvewatch.versions.cpe import (
    CPE,
    FIELDS,
    Relation,
    compare_attribute,
    compare_names,
    cpe_fields,
    cpe_name_match,
    match_fields,
)

NvdMatch = Callable[..., dict[str, Any]]


# parsing real criteria -----------------------------------------------------------------------------


def test_cve_2023_38545_curl(nvd_match: NvdMatch) -> None:
    text = "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*"
    cpe = CPE.parse(text)
    assert cpe.part == "a"
    assert cpe.vendor_product == ("haxx", "libcurl")
    assert all(cpe.is_any(f) for f in FIELDS[3:])
    assert str(cpe) == text


def test_cve_2022_35242_escaped_colon_does_not_split(nvd_match: NvdMatch) -> None:
    text = "cpe:2.3:a:59sec:the_leads_management_system\\:_59sec_lite:*:*:*:*:wordpress:*:*:*"
    m = nvd_match("CVE-2022-35242", text)
    assert m["versionEndIncluding"] == "3.4.1"
    cpe = CPE.parse(text)
    assert cpe.product == "the_leads_management_system:_59sec_lite"
    assert cpe.bound_value("product") == "the_leads_management_system\\:_59sec_lite"
    assert cpe.sw_edition == "wordpress"
    assert cpe.is_any("version")
    assert str(cpe) == text


@pytest.mark.parametrize(
    ("cve", "text", "name", "value"),
    [
        ("CVE-2017-8087", "cpe:2.3:o:avm:fritz\\!os:6.80:*:*:*:*:*:*:*", "product", "fritz!os"),
        ("CVE-2017-8087", "cpe:2.3:h:avm:fritz\\!box_7490:-:*:*:*:*:*:*:*", "product", "fritz!box_7490"),
        (
            "CVE-2019-4546",
            "cpe:2.3:a:ibm:maximo_health\\,_safety_and_environment_manager:7.6.1:*:*:*:*:*:*:*",
            "product",
            "maximo_health,_safety_and_environment_manager",
        ),
        (
            "CVE-2010-4239",
            "cpe:2.3:a:tiki:tikiwiki_cms\\/groupware:5.2:*:*:*:*:*:*:*",
            "product",
            "tikiwiki_cms/groupware",
        ),
        (
            "CVE-2022-35235",
            "cpe:2.3:a:xplodedthemes:wpide_-_file_manager_\\&_code_editor:*:*:*:*:*:wordpress:*:*",
            "product",
            "wpide_-_file_manager_&_code_editor",
        ),
        (
            "CVE-2019-18202",
            "cpe:2.3:o:wago:pfc100_firmware:750-8101\\/000-010:*:*:*:*:*:*:*",
            "version",
            "750-8101/000-010",
        ),
        ("CVE-2018-10727", "cpe:2.3:a:fabrikar:fabrik:*:*:*:*:*:joomla\\!:*:*", "target_sw", "joomla!"),
    ],
)
def test_real_escaped_criteria(nvd_match: NvdMatch, cve: str, text: str, name: str, value: str) -> None:
    nvd_match(cve, text)
    cpe = CPE.parse(text)
    assert getattr(cpe, name) == value
    assert str(cpe) == text
    assert CPE.parse(str(cpe)) == cpe


def test_cve_2024_6387_version_and_update(nvd_match: NvdMatch) -> None:
    text = "cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*"
    nvd_match("CVE-2024-6387", text)
    cpe = CPE.parse(text)
    assert (cpe.version, cpe.update) == ("8.5", "p1")
    na = CPE.parse("cpe:2.3:a:openbsd:openssh:9.8:-:*:*:*:*:*:*")
    assert na.update == "-" and na.is_na("update") and not na.is_any("update")


def test_every_sample_criteria_round_trips(all_criteria: list[tuple[str, str]]) -> None:
    assert len(all_criteria) > 4000
    escaped = 0
    for _cve, text in all_criteria:
        cpe = CPE.parse(text)
        assert str(cpe) == text
        assert CPE.parse(str(cpe)) == cpe
        assert cpe_name_match(cpe, cpe)
        escaped += "\\" in text
    assert escaped >= 10


# the ANY / NA / literal distinction ----------------------------------------------------------------


def test_literal_hyphen_and_star_differ_from_na_and_any() -> None:
    na = CPE.parse("cpe:2.3:a:foo:bar:-:*:*:*:*:*:*:*")
    lit = CPE.parse("cpe:2.3:a:foo:bar:\\-:\\*:*:*:*:*:*:*")
    assert na.version == lit.version == "-"
    assert na.is_na("version") and not lit.is_na("version")
    assert lit.update == "*" and not lit.is_any("update")
    assert na != lit
    assert str(lit) == "cpe:2.3:a:foo:bar:\\-:\\*:*:*:*:*:*:*"


def test_non_canonical_quoting_is_canonicalised() -> None:
    cpe = CPE.parse("cpe:2.3:a:microsoft:internet_explorer:8\\.0\\.6001:beta:*:*:*:*:*:*")
    assert cpe.version == "8.0.6001"
    assert str(cpe) == "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*"
    assert cpe == CPE.parse("cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*")


def test_direct_construction_binds_and_escapes() -> None:
    cpe = CPE("a", "foo", "bar:baz", "1.0")
    assert str(cpe) == "cpe:2.3:a:foo:bar\\:baz:1.0:*:*:*:*:*:*:*"
    assert CPE.parse(str(cpe)) == cpe
    assert CPE("a", "foo", "bar", "-").is_na("version")
    assert not CPE("a", "foo", "bar", "9.*").has_wildcards("version")  # literal star when built directly
    assert CPE.parse("cpe:2.3:a:foo:bar:9.*:*:*:*:*:*:*:*").has_wildcards("version")
    with pytest.raises(KeyError):
        cpe.is_any("nope")


def test_hashable_and_frozen() -> None:
    a = CPE.parse("cpe:2.3:a:haxx:libcurl:8.5.0:*:*:*:*:*:*:*")
    b = CPE.parse("cpe:2.3:a:haxx:libcurl:8.5.0:*:*:*:*:*:*:*")
    assert {a, b} == {a}
    with pytest.raises(AttributeError):
        a.vendor = "x"  # type: ignore[misc]


# malformed input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cpe:/a:haxx:libcurl:7.1", "2.2 URI"),
        ("cpe:2.2:a:haxx:libcurl:*:*:*:*:*:*:*:*", "must start with"),
        ("haxx:libcurl", "must start with"),
        ("", "must start with"),
        ("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*", "needs 11 components"),
        ("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*:*", "needs 11 components"),
        (
            "cpe:2.3:a:foo\\:bar:*:*:*:*:*:*:*:*",
            "needs 11 components",
        ),  # the escaped colon is not a separator
        ("cpe:2.3:x:haxx:libcurl:*:*:*:*:*:*:*:*", "part"),
        ("cpe:2.3:a:haxx::*:*:*:*:*:*:*:*", "empty"),
        ("cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:foo\\", "dangling backslash"),
        ("cpe:2.3:a:haxx:lib curl:*:*:*:*:*:*:*:*", "whitespace"),
        ("cpe:2.3:a:haxx:lib*curl:*:*:*:*:*:*:*:*", "unquoted wildcard"),
        ("cpe:2.3:a:haxx:libcurl:**:*:*:*:*:*:*:*", "only wildcards"),
    ],
)
def test_malformed_raises_input_error(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        CPE.parse(text)


@given(st.text(max_size=80))
def test_parse_arbitrary_text_raises_only_input_error(text: str) -> None:
    try:
        cpe = CPE.parse(text)
    except InputError:
        return
    assert CPE.parse(str(cpe)) == cpe


@given(st.lists(st.text(alphabet="ab:\\*?-.!", min_size=1, max_size=6), min_size=11, max_size=11))
def test_parse_generated_components(parts: list[str]) -> None:
    text = "cpe:2.3:" + ":".join(parts)
    try:
        cpe = CPE.parse(text)
    except InputError:
        return
    assert CPE.parse(str(cpe)) == cpe
    assert str(CPE.parse(str(cpe))) == str(cpe)


# NISTIR 7696 attribute comparison, table 6-2 (source, target -> relation) --------------------------

TABLE_6_2 = [
    (1, "*", "*", Relation.EQUAL),
    (2, "*", "-", Relation.SUPERSET),
    (3, "*", "microsoft", Relation.SUPERSET),
    (4, "*", "micro*", Relation.UNDEFINED),
    (5, "-", "*", Relation.SUBSET),
    (6, "-", "-", Relation.EQUAL),
    (7, "-", "microsoft", Relation.DISJOINT),
    (8, "-", "micro*", Relation.UNDEFINED),
    (9, "microsoft", "microsoft", Relation.EQUAL),
    (10, "microsoft", "apple", Relation.DISJOINT),
    (11, "microsoft", "micro??", Relation.UNDEFINED),
    (12, "microsoft", "-", Relation.DISJOINT),
    (13, "microsoft", "*", Relation.SUBSET),
    (14, "micro*", "microsoft", Relation.SUPERSET),
    (14, "micro*", "apple", Relation.DISJOINT),
    (15, "micro*", "*", Relation.SUBSET),
    (16, "micro*", "-", Relation.DISJOINT),
    (17, "micro*", "micro??", Relation.UNDEFINED),
]


@pytest.mark.parametrize(("row", "source", "target", "relation"), TABLE_6_2)
def test_nistir_7696_table_6_2(row: int, source: str, target: str, relation: Relation) -> None:
    assert compare_attribute(source, target) is relation


@pytest.mark.parametrize(
    ("source", "target", "relation"),
    [
        ("Microsoft", "microsoft", Relation.EQUAL),  # matching ignores case
        ("8\\.0\\.6001", "8.0.6001", Relation.EQUAL),  # quoting is not part of the value
        ("\\*", "*", Relation.SUBSET),  # a literal star is a value, not ANY
        ("\\-", "-", Relation.DISJOINT),  # a literal hyphen is a value, not NA
        ("9.*", "9.3.2", Relation.SUPERSET),
        ("9.*", "9", Relation.DISJOINT),
        ("*9", "10.9", Relation.SUPERSET),
        ("8.?", "8.0", Relation.SUPERSET),
        ("8.?", "8.", Relation.SUPERSET),  # a run of n "?" at an end matches up to n characters
        ("8.?", "8.10", Relation.DISJOINT),
        ("8.??", "8.10", Relation.SUPERSET),
        ("?.0", "8.0", Relation.SUPERSET),
        ("?.0", "18.0", Relation.DISJOINT),
        ("9\\.\\*", "9.3", Relation.DISJOINT),  # quoted star: no wildcard
        ("9.\\*", "9.\\*", Relation.EQUAL),
        ("\\?", "a", Relation.DISJOINT),
    ],
)
def test_attribute_wildcards_and_quoting(source: str, target: str, relation: Relation) -> None:
    assert compare_attribute(source, target) is relation


def test_nistir_7696_example_internet_explorer() -> None:
    # source wfn:[part="a",vendor="microsoft",product="internet_explorer",version="8\.0\.6001",update="beta",
    #             edition=ANY,language="sp2"]  vs  a target that is ANY everywhere but part/vendor/product
    source = CPE.parse("cpe:2.3:a:microsoft:internet_explorer:8\\.0\\.6001:beta:*:sp2:*:*:*:*")
    target = CPE.parse("cpe:2.3:a:microsoft:internet_explorer:*:*:*:*:*:*:*:*")
    rel = compare_names(source, target)
    assert rel["version"] is rel["update"] is rel["language"] is Relation.SUBSET
    assert rel["vendor"] is rel["edition"] is Relation.EQUAL
    assert not cpe_name_match(source, target)  # the source is a subset, not a superset
    assert cpe_name_match(target, source)


def test_nistir_7696_example_adobe_disjoint() -> None:
    # wfn:[part="a",vendor="adobe",product=ANY,version="9\.*",update=ANY,edition="PalmOS"] vs
    # wfn:[part="a",vendor=ANY,product="reader",version="9\.3\.2",update=NA,edition=NA]
    source = CPE.parse("cpe:2.3:a:adobe:*:9.*:*:PalmOS:*:*:*:*:*")
    target = CPE.parse("cpe:2.3:a:*:reader:9.3.2:-:-:*:*:*:*:*")
    rel = compare_names(source, target)
    assert rel["vendor"] is Relation.SUBSET
    assert rel["product"] is Relation.SUPERSET
    assert rel["version"] is Relation.SUPERSET
    assert rel["update"] is Relation.SUPERSET
    assert rel["edition"] is Relation.DISJOINT
    assert not cpe_name_match(source, target)
    assert not cpe_name_match(target, source)


def test_nvd_criteria_match_package_names(nvd_match: NvdMatch) -> None:
    # CVE-2023-0286: criteria with version ANY (the range is in versionStart/End) match any openssl name
    criteria = CPE.parse(nvd_match("CVE-2023-0286", "cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*")["criteria"])
    assert cpe_name_match(criteria, CPE("a", "openssl", "openssl", "3.3.5"))
    assert not cpe_name_match(
        criteria, CPE("a", "openbsd", "openssl", "3.3.5")
    )  # vendor + product, never product
    # CVE-2024-6387: 8.5:p1 names one version and update
    exact = CPE.parse("cpe:2.3:a:openbsd:openssh:8.5:p1:*:*:*:*:*:*")
    assert cpe_name_match(exact, CPE("a", "openbsd", "openssh", "8.5", "p1"))
    assert not cpe_name_match(exact, CPE("a", "openbsd", "openssh", "8.5", "p2"))
    assert not cpe_name_match(exact, CPE("a", "openbsd", "openssh", "8.5"))  # target update ANY: SUBSET


def test_compare_attribute_rejects_malformed_values() -> None:
    with pytest.raises(InputError):
        compare_attribute("", "a")
    with pytest.raises(InputError):
        compare_attribute("a", "foo\\")


# the matcher's fields: the same parse ------------------------------------------------------------------


def _by_full_parse(text: str) -> tuple[str, ...] | None:
    try:
        cpe = CPE.parse(text)
    except InputError:
        return None
    return ("cpe", "2.3", *(getattr(cpe, f).lower() for f in FIELDS))


def test_match_fields_of_every_real_criterion_is_the_full_parse(all_criteria: list[tuple[str, str]]) -> None:
    assert len(all_criteria) > 1000
    for _, text in all_criteria:
        assert match_fields(text) == _by_full_parse(text), text


def test_the_stored_vendor_and_product_are_the_matchers(all_criteria: list[tuple[str, str]]) -> None:
    # the store selects a scan's candidate CVEs by these columns: they must name what the matcher reads
    escaped_backslash = "cpe:2.3:a:foo\\\\:bar:1.0:*:*:*:*:*:*:*"  # vendor: foo and a backslash
    for text in [*(text for _, text in all_criteria), escaped_backslash]:
        fields = cpe_fields(text)
        assert vendor_product(text) == (fields[3], fields[4]), text


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("cpe:2.3:a:Haxx:LibCurl:8.5:P1:*:*:*:*:*:*", ("haxx", "libcurl", "8.5", "p1")),
        ("cpe:2.3:a:foo\\:bar:baz\\.qux:1.0:*:*:*:*:*:*:*", ("foo:bar", "baz.qux", "1.0", "*")),
        ("cpe:2.3:a:foo\\\\:bar:1.0:*:*:*:*:*:*:*", ("foo\\", "bar", "1.0", "*")),  # an escaped backslash
        ("cpe:2.3:a:adobe:*:9.*:*:PalmOS:*:*:*:*:*", ("adobe", "*", "9.*", "*")),  # a trailing wildcard
        ("cpe:2.3:a:foo:*bar:-:*:*:*:*:*:*:*", ("foo", "*bar", "-", "*")),  # a leading wildcard, NA
    ],
)
def test_match_fields_values(text: str, fields: tuple[str, ...]) -> None:
    assert match_fields(text) is not None
    assert cpe_fields(text)[3:7] == fields
    assert match_fields(text) == _by_full_parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "cpe:2.3:a:foo:bar:*:*:*:*:*:*:*",  # 12 components
        "cpe:2.3:a:foo:bar:*:*:*:*:*:*:*:*:*",  # 14
        "cpe:2.3:x:foo:bar:*:*:*:*:*:*:*:*",  # no such part
        "cpe:2.3:A:foo:bar:*:*:*:*:*:*:*:*",  # the part is lower case
        "cpe:2.3:a::bar:*:*:*:*:*:*:*:*",  # an empty component
        "cpe:2.3:a:foo:bar baz:*:*:*:*:*:*:*:*",  # whitespace
        "cpe:2.3:a:foo:bar:1.*.2:*:*:*:*:*:*:*",  # a wildcard inside a value
        "cpe:2.3:a:foo:bar:**:*:*:*:*:*:*:*",  # only wildcards
        "cpe:/a:foo:bar:1.0",  # CPE 2.2
        "CPE:2.3:a:foo:bar:*:*:*:*:*:*:*:*",
    ],
)
def test_match_fields_rejects_what_the_parse_rejects(text: str) -> None:
    assert match_fields(text) is None
    with pytest.raises(InputError, match=r"not a CPE 2\.3 formatted string"):
        cpe_fields(text)


_CPE_CHARS = st.sampled_from([*"aoAx09_.-*?\\ \t!/é:", "\\:", "\\\\"])
_CPE_COMPONENT = st.one_of(
    st.sampled_from(["*", "-", "", "Foo", "1.0", "p1", "*bar", "9.*", "\\-", "a\\*"]),
    st.lists(_CPE_CHARS, min_size=1, max_size=5).map("".join),
)
_CPE_TEXT = st.builds(
    lambda part, rest: f"cpe:2.3:{part}:" + ":".join(rest),
    st.sampled_from(["a", "o", "h", "*", "A", ""]),
    st.one_of(st.lists(_CPE_COMPONENT, min_size=10, max_size=10), st.lists(_CPE_COMPONENT, max_size=11)),
)


@given(st.one_of(_CPE_TEXT, st.text(max_size=40)))
def test_match_fields_agrees_with_the_full_parse(text: str) -> None:
    assert match_fields(text) == _by_full_parse(text), text
