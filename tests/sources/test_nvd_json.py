"""parse_cve and iter_document on genuine NVD API 2.0 records and on damaged copies of them."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvewatch.errors import RecordError
from cvewatch.model.records import CpeMatch, RecordProblem, Vulnerability
from cvewatch.sources import nvd_json
from cvewatch.sources.nvd_json import iter_document, parse_cve, parse_nvd_datetime


def load(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


@pytest.fixture(scope="module")
def curl(nvd_data: Path) -> dict[str, Any]:
    doc: dict[str, Any] = load(nvd_data / "nvd-2.0-records/fkie/CVE-2023-38545.json")
    return doc


def one(doc: Any, origin: str = "t") -> Vulnerability:
    [result] = list(iter_document(doc, origin=origin))
    assert isinstance(result, Vulnerability), str(result)
    return result


# --- spot checks on real values ---


def test_curl_socks5_heap_overflow(curl: dict[str, Any]) -> None:
    v = parse_cve(curl, origin="curl.json")
    assert v.id == "CVE-2023-38545"
    assert v.published == datetime(2023, 10, 18, 4, 15, 11, 77000, tzinfo=UTC)
    assert v.last_modified.tzinfo is UTC
    assert v.status == "Analyzed"
    assert v.source_identifier == "support@hackerone.com"
    assert v.description.startswith("This flaw makes curl overflow a heap based buffer")
    [primary] = [m for m in v.metrics if m.source == "nvd@nist.gov" and m.type == "Primary"]
    assert (primary.version, primary.base_score, primary.base_severity) == ("3.1", 9.8, "CRITICAL")
    assert primary.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert v.weaknesses == ("CWE-787",)
    matches = [m for c in v.configurations for n in c.nodes for m in n.cpe_match]
    libcurl = [m for m in matches if m.criteria == "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*"]
    assert libcurl == [
        CpeMatch(
            criteria="cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*",
            vulnerable=True,
            version_start_including="7.69.0",
            version_end_excluding="8.4.0",
            match_criteria_id="CDB9B842-1D18-4026-B62C-EEBF6F97C908",
        )
    ]
    assert libcurl[0].has_range
    assert all(r.url.startswith("http") for r in v.references)
    assert any("Third Party Advisory" in r.tags for r in v.references)
    assert not v.cisa_kev


def test_v2_severity_comes_from_the_metric_object(nvd_data: Path) -> None:
    raw = load(nvd_data / "nvd-2.0-records/fkie/CVE-2019-18276.json")
    assert "baseSeverity" not in raw["metrics"]["cvssMetricV2"][0]["cvssData"]  # the point of the test
    v = parse_cve(raw)
    [v2] = [m for m in v.metrics if m.version == "2.0"]
    assert (v2.base_score, v2.base_severity, v2.source, v2.type) == (7.2, "HIGH", "nvd@nist.gov", "Primary")
    assert v2.vector == "AV:L/AC:L/Au:N/C:C/I:C/A:C"
    # newest CVSS version first
    assert [m.version for m in v.metrics] == ["3.1", "3.1", "2.0"]
    # NVD lists CWE-273 twice (Primary and Secondary): kept once
    assert v.weaknesses == ("CWE-273",)


def test_and_configurations_dirty_pipe(nvd_data: Path) -> None:
    v = parse_cve(load(nvd_data / "nvd-2.0-records/fkie/CVE-2022-0847.json"))
    assert v.cisa_kev  # carries cisaExploitAdd
    assert len(v.configurations) == 16
    ands = [c for c in v.configurations if c.operator == "AND"]
    assert len(ands) == 12
    netapp = next(c for c in ands if "h300s_firmware" in c.nodes[0].cpe_match[0].criteria)
    firmware, platform = netapp.nodes
    assert firmware.cpe_match[0].vulnerable and not platform.cpe_match[0].vulnerable
    assert platform.cpe_match[0].criteria == "cpe:2.3:h:netapp:h300s:-:*:*:*:*:*:*:*"
    assert all(n.operator == "OR" and not n.negate for c in v.configurations for n in c.nodes)
    assert all(c.operator is None for c in v.configurations if c not in ands)


def test_cvss_v4_metric(nvd_data: Path) -> None:
    v = parse_cve(load(nvd_data / "recent/CVE-2025-27144.json"))
    [m] = v.metrics
    assert (m.version, m.base_score, m.base_severity) == ("4.0", 6.6, "MEDIUM")
    assert m.source == "security-advisories@github.com" and m.type == "Secondary"
    assert m.vector.startswith("CVSS:4.0/AV:N/AC:L/AT:N/")
    assert v.status == "Received" and v.configurations == ()


def test_fkie_extra_keys_are_ignored(nvd_data: Path) -> None:
    raw = load(nvd_data / "recent/CVE-2026-27456.json")
    assert "affected" in raw and "ssvcV203" in raw["metrics"]
    v = parse_cve(raw)
    assert v.weaknesses == ("CWE-59", "CWE-269", "CWE-367")  # CWE-367 listed twice upstream
    assert all(m.version.startswith(("2", "3", "4")) for m in v.metrics)


def test_rejected_record_with_empty_metrics(nvd_data: Path) -> None:
    v = parse_cve(load(nvd_data / "recent/CVE-2025-62813.json"))
    assert v.rejected and v.metrics == () and v.references == ()


def test_zulu_timestamps_in_a_genuine_record(nvd_data: Path) -> None:
    raw = load(nvd_data / "nvd-2.0-records/osv.dev/CVE-2023-5341.json")
    assert raw["vulnerabilities"][0]["cve"]["published"].endswith("Z")
    v = one(raw)
    assert v.published == datetime(2023, 11, 19, 10, 15, 49, 433000, tzinfo=UTC)


# --- dates ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-10-18T04:15:11.077", datetime(2023, 10, 18, 4, 15, 11, 77000, tzinfo=UTC)),
        ("2023-10-18T04:15:11.077Z", datetime(2023, 10, 18, 4, 15, 11, 77000, tzinfo=UTC)),
        ("2023-10-18T06:15:11+02:00", datetime(2023, 10, 18, 4, 15, 11, tzinfo=UTC)),
        ("2023-10-17T23:15:11.5-05:00", datetime(2023, 10, 18, 4, 15, 11, 500000, tzinfo=UTC)),
        ("2019-11-01T16:00", datetime(2019, 11, 1, 16, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_nvd_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["2023-13-01T00:00:00", "2023-10-18", "20231018T041511", "yesterday", "", "0000-01-01T00:00:00"]
)
def test_bad_dates(text: str) -> None:
    with pytest.raises(RecordError, match="invalid date-time"):
        parse_nvd_datetime(text)


# --- malformed records ---


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        del doc[key]

    return mutate


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "bad published": (_set(("published",), "2023-02-30T00:00:00"), "published: invalid date-time"),
    "numeric date": (_set(("lastModified",), 1700000000), "lastModified: expected a date-time string"),
    "no lastModified": (_delete("lastModified"), "missing 'lastModified'"),
    "score as string": (
        _set(("metrics", "cvssMetricV31", 0, "cvssData", "baseScore"), "9.8"),
        "metrics.cvssMetricV31[0].cvssData.baseScore: expected a number, got string",
    ),
    "score as bool": (
        _set(("metrics", "cvssMetricV31", 0, "cvssData", "baseScore"), True),
        "expected a number",
    ),
    "score out of range": (
        _set(("metrics", "cvssMetricV31", 0, "cvssData", "baseScore"), 98),
        "outside 0..10",
    ),
    "no cvssData": (
        _set(("metrics", "cvssMetricV31", 0), {"source": "x", "type": "y"}),
        "missing 'cvssData'",
    ),
    "metrics a list": (_set(("metrics",), []), "metrics: expected an object"),
    "tags a string": (_set(("references", 0, "tags"), "Patch"), "references[0].tags: expected an array"),
    "vulnerable as string": (
        _set(("configurations", 0, "nodes", 0, "cpeMatch", 0, "vulnerable"), "true"),
        "configurations[0].nodes[0].cpeMatch[0].vulnerable: expected a boolean",
    ),
    "bad operator": (_set(("configurations", 0, "nodes", 0, "operator"), "XOR"), "expected 'OR' or 'AND'"),
    "weakness value missing": (_set(("weaknesses", 0, "description", 0), {"lang": "en"}), "missing 'value'"),
    "descriptions an object": (_set(("descriptions",), {"lang": "en"}), "descriptions: expected an array"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_malformed_record_names_origin_and_id(curl: dict[str, Any], case: str) -> None:
    mutate, message = BROKEN[case]
    doc = copy.deepcopy(curl)
    mutate(doc)
    with pytest.raises(RecordError) as info:
        parse_cve(doc, origin="feed.json")
    assert info.value.where == "feed.json [CVE-2023-38545]"
    assert message in str(info.value)
    [problem] = iter_document({"vulnerabilities": [{"cve": doc}]}, origin="feed.json")
    assert isinstance(problem, RecordProblem)
    assert (problem.origin, problem.record_id) == ("feed.json", "CVE-2023-38545")
    assert message in problem.message


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"published": "2023-10-18T04:15:11.077"}, "missing 'id'"),
        ({"id": 12, "published": "2023-10-18T04:15:11.077"}, "id: expected a string"),
        ({"id": "CVE-23-1", "published": "2023-10-18T04:15:11.077"}, "invalid CVE id"),
        ("CVE-2023-38545", "expected an object"),
        (None, "expected an object"),
    ],
)
def test_bad_ids_and_non_objects(doc: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message) as info:
        parse_cve(doc, origin="o")
    assert info.value.where is not None and info.value.where.startswith("o")


def test_missing_status_is_unknown_and_minimal_record_parses() -> None:
    v = parse_cve(
        {"id": "CVE-2024-0001", "published": "2024-01-01T00:00:00", "lastModified": "2024-01-02T00:00:00"}
    )
    assert v.status == "Unknown"
    assert (v.descriptions, v.metrics, v.weaknesses, v.references, v.configurations) == ((), (), (), (), ())
    assert v.source_identifier is None and not v.cisa_kev


def test_severity_is_upper_cased_and_optional() -> None:
    base = {"id": "CVE-2024-0001", "published": "2024-01-01T00:00:00", "lastModified": "2024-01-01T00:00:00"}
    data = {"version": "3.1", "vectorString": "CVSS:3.1/AV:N", "baseScore": 5}
    metric = {"source": "s", "type": "Primary", "cvssData": data}
    v = parse_cve({**base, "metrics": {"cvssMetricV31": [metric]}})
    assert v.metrics[0].base_severity is None and v.metrics[0].base_score == 5.0
    v = parse_cve(
        {**base, "metrics": {"cvssMetricV31": [{**metric, "cvssData": {**data, "baseSeverity": "high"}}]}}
    )
    assert v.metrics[0].base_severity == "HIGH"


# --- document shapes ---


def test_document_shapes(curl: dict[str, Any]) -> None:
    page = {"resultsPerPage": 1, "vulnerabilities": [{"cve": curl}]}
    assert one(page).id == one(curl).id == "CVE-2023-38545"
    results = list(iter_document([page, curl, 7], origin="o"))
    assert [type(r).__name__ for r in results] == ["Vulnerability", "Vulnerability", "RecordProblem"]
    assert "[2]: not an NVD API 2.0 document (number 7)" in str(results[2])
    assert list(iter_document({"vulnerabilities": []}, origin="o")) == []
    assert list(iter_document([], origin="o")) == []


def test_page_with_bad_entries_keeps_the_good_ones(curl: dict[str, Any]) -> None:
    no_id = {k: v for k, v in curl.items() if k != "id"}
    page = {"vulnerabilities": [{"cve": curl}, {"cve": no_id}, "junk", {"nope": 1}, {"cve": curl}]}
    results = list(iter_document(page, origin="p.json"))
    assert [r.id for r in results if isinstance(r, Vulnerability)] == ["CVE-2023-38545"] * 2
    problems = [str(r) for r in results if isinstance(r, RecordProblem)]
    assert problems == [
        "p.json: vulnerabilities[1].cve: missing 'id'",
        "p.json: vulnerabilities[2]: expected an object with a 'cve' key, got string",
        "p.json: vulnerabilities[3]: expected an object with a 'cve' key, got object",
    ]
    [problem] = iter_document({"vulnerabilities": {"cve": curl}}, origin="p.json")
    assert str(problem) == "p.json: vulnerabilities: expected an array, got object"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"CVE_data_version": "4.0", "CVE_Items": []}, "NVD JSON 1.1 feed"),
        ({"dataType": "CVE_RECORD", "cveMetadata": {"cveId": "CVE-2024-3094"}}, "CVE JSON 5 record"),
        ({"id": "GHSA-xxxx", "modified": "2024-01-01T00:00:00Z"}, "no 'published'"),
        ({"foo": 1, "bar": 2}, "object with keys 'foo', 'bar'"),
        ("text", "string 'text'"),
        (None, "null"),
    ],
)
def test_other_documents_are_one_clear_problem(doc: Any, message: str) -> None:
    [problem] = iter_document(doc, origin="x.json")
    assert isinstance(problem, RecordProblem)
    assert message in problem.message and problem.origin == "x.json"


# --- never raises ---

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=15), children, max_size=4)
    ),
    max_leaves=25,
)
CVE_KEYS = ["id", "published", "lastModified", "vulnStatus", "descriptions", "metrics", "weaknesses"]
CVE_KEYS += ["references", "configurations", "sourceIdentifier", "cisaExploitAdd"]
cve_like = st.dictionaries(
    st.sampled_from(CVE_KEYS),
    json_values | st.just("2024-01-01T00:00:00") | st.just("CVE-2024-0001"),
    max_size=len(CVE_KEYS),
)


def _check(doc: Any) -> None:
    for result in iter_document(doc, origin="fuzz"):
        assert isinstance(result, Vulnerability | RecordProblem)
        if isinstance(result, RecordProblem):
            assert result.origin == "fuzz" and result.message


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_iter_document_never_raises_on_json_values(doc: Any) -> None:
    _check(doc)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cve_like, max_size=3), st.booleans())
def test_iter_document_never_raises_on_cve_like_pages(cves: list[dict[str, Any]], bare: bool) -> None:
    _check(cves if bare else {"vulnerabilities": [{"cve": c} for c in cves]})


@st.composite
def damaged_curl(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """A genuine record with one value somewhere inside replaced by an arbitrary JSON value."""
    doc = copy.deepcopy(base)
    parent: Any = doc
    while True:
        keys = list(parent) if isinstance(parent, dict) else list(range(len(parent)))
        if not keys:
            return doc
        key = draw(st.sampled_from(keys))
        child = parent[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            parent = child
            continue
        parent[key] = draw(json_values)
        return doc


def test_damaged_genuine_records_never_raise(curl: dict[str, Any]) -> None:
    @settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
    @given(damaged_curl(curl))
    def check(doc: Any) -> None:
        _check({"vulnerabilities": [{"cve": doc}]})
        with contextlib.suppress(RecordError):
            parse_cve(doc)

    check()


# --- the fast path reads exactly what the careful one reads ---


def _careful(doc: Any) -> Vulnerability | None:
    with contextlib.suppress(nvd_json._Malformed):
        return nvd_json._parse(doc)
    return None


def test_fast_path_equals_the_careful_parse_on_genuine_records(nvd_data: Path) -> None:
    from .nvd_server import load_dataset

    cves = load_dataset(nvd_data)
    fast = [nvd_json._parse_fast(c) for c in cves]
    assert sum(f is not None for f in fast) > 0.95 * len(cves)  # the common shapes take the fast path
    for cve, f in zip(cves, fast, strict=True):
        if f is not None:
            assert f == nvd_json._parse(cve)


def test_fast_path_never_disagrees_on_damaged_records(curl: dict[str, Any]) -> None:
    @settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
    @given(damaged_curl(curl))
    def check(doc: Any) -> None:
        fast = nvd_json._parse_fast(doc)
        if fast is not None:  # anything it accepts, the careful parse accepts alike; else it defers
            assert fast == _careful(doc)

    check()


def test_unusual_shapes_fall_back_to_the_careful_parse(curl: dict[str, Any]) -> None:
    class Text(str):
        pass

    odd = copy.deepcopy(curl)
    odd["references"] = tuple(odd["references"])  # a tuple where JSON gives a list
    odd["published"] = "2023-10-18T04:15:11Z"  # a zone, no fraction
    odd["vulnStatus"] = Text("Analyzed")
    assert nvd_json._parse_fast(odd) is None
    assert one(odd) == nvd_json._parse(odd)
    assert one(odd).published == datetime(2023, 10, 18, 4, 15, 11, tzinfo=UTC)
