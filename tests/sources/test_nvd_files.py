"""NvdFileSource over the genuine sample tree and over damaged files written to tmp_path."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from cvewatch.errors import InputError
from cvewatch.model.records import RecordProblem, Vulnerability
from cvewatch.sources.interface import SourceItem, split_items
from cvewatch.sources.nvd_files import NvdFileSource, newest_by_id, read_file

NVD_2_0_FOLDERS = {"recent": 60, "nvd-2.0-records": 42, "api2.0-shape": 1504 + 42}


def _all(path: Path) -> tuple[list[Vulnerability], list[RecordProblem]]:
    return split_items(NvdFileSource(path).records())


# --- the genuine data ---


@pytest.mark.parametrize("folder", sorted(NVD_2_0_FOLDERS))
def test_every_api_2_0_file_parses_without_problems(nvd_data: Path, folder: str) -> None:
    vulns, problems = _all(nvd_data / folder)
    assert [str(p) for p in problems] == []
    assert len(vulns) == NVD_2_0_FOLDERS[folder]
    assert all(v.published.tzinfo is UTC and v.last_modified.tzinfo is UTC for v in vulns)
    assert all(v.published <= v.last_modified for v in vulns)


def test_recent_folder_matches_its_index(nvd_data: Path) -> None:
    vulns, _ = _all(nvd_data / "recent")
    index = (nvd_data / "recent/INDEX.csv").read_text().splitlines()[1:]
    expected = {}
    for line in index:
        cve, _pkg, fetched, _bytes, status, has_conf, _commit = line.split(",")
        if fetched == "yes":
            expected[cve] = (status, has_conf == "yes")
    assert {v.id: (v.status, bool(v.configurations)) for v in vulns} == expected


def test_converted_sample_matches_its_documented_stats(nvd_data: Path) -> None:
    """README-samples.md: 1,504 CVEs, 4,382 cpeMatch, 1,126 with ranges, 1,160 with version '-', 367 AND."""
    vulns, problems = _all(nvd_data / "api2.0-shape/converted-from-1.1-sample.json.gz")
    assert problems == []
    assert len(vulns) == len({v.id for v in vulns}) == 1504
    matches = [m for v in vulns for c in v.configurations for n in c.nodes for m in n.cpe_match]
    assert len(matches) == 4382
    assert sum(m.has_range for m in matches) == 1126
    assert sum(m.criteria.split(":")[5] == "-" for m in matches) == 1160
    assert sum(c.operator == "AND" for v in vulns for c in v.configurations) == 367
    assert all(m.match_criteria_id for m in matches)
    # minute-precision 1.1 timestamps came through as whole minutes
    assert all(v.last_modified.second == 0 and v.last_modified.microsecond == 0 for v in vulns)


def test_other_formats_in_the_tree_are_clear_problems(nvd_data: Path) -> None:
    vulns, problems = _all(nvd_data)
    assert len(vulns) == 60 + 42 + 1504 + 42
    by_folder: dict[str, list[RecordProblem]] = {}
    for p in problems:
        by_folder.setdefault(Path(p.origin).relative_to(nvd_data).parts[0], []).append(p)
    assert sorted(by_folder) == ["cve5-records", "nvd-1.1-raw"]
    assert len(by_folder["nvd-1.1-raw"]) == 2
    assert all("NVD JSON 1.1 feed" in p.message for p in by_folder["nvd-1.1-raw"])
    cve5 = by_folder["cve5-records"]
    assert len(cve5) == 24
    assert all("CVE JSON 5 record" in p.message and p.record_id and p.record_id in p.origin for p in cve5)


def test_cve5_folder_is_recognized_not_parsed(cve5_data: Path) -> None:
    vulns, problems = _all(cve5_data)
    assert vulns == []
    assert len(problems) == len(list(cve5_data.rglob("CVE-*.json"))) > 0
    assert all("CVE JSON 5 record" in p.message for p in problems)


def test_newest_by_id_over_the_tree_prefers_genuine_2_0_over_converted_1_1(nvd_data: Path) -> None:
    items = list(NvdFileSource(nvd_data).records())
    newest = newest_by_id(items)
    vulns = [i.vulnerability for i in items if i.vulnerability is not None]
    assert len(newest) == len({v.id for v in vulns}) == 1591
    # the converted 1.1 record has a minute-precision lastModified; the genuine 2.0 copy is newer
    assert newest["CVE-2022-1122"].last_modified == datetime(2023, 11, 7, 3, 41, 45, 443000, tzinfo=UTC)
    for v in vulns:
        assert newest[v.id].last_modified >= v.last_modified


def test_newest_by_id_ties_and_order() -> None:
    t = datetime(2024, 1, 1, tzinfo=UTC)

    def v(cve: str, when: datetime, status: str) -> Vulnerability:
        return Vulnerability(id=cve, published=t, last_modified=when, status=status)

    a_old, a_new = v("CVE-2024-0001", t, "old"), v("CVE-2024-0001", t + timedelta(days=1), "new")
    tie1, tie2 = v("CVE-2024-0002", t, "first"), v("CVE-2024-0002", t, "second")
    problem = RecordProblem("x", None, "m")
    got = newest_by_id([a_new, SourceItem.of(tie1), problem, SourceItem.of(problem), a_old, tie2])
    assert list(got) == ["CVE-2024-0001", "CVE-2024-0002"]
    assert got["CVE-2024-0001"].status == "new"
    assert got["CVE-2024-0002"].status == "second"
    assert newest_by_id([]) == {}


# --- damaged and odd files ---


def _cve(cve_id: str, published: str = "2024-01-01T00:00:00.000") -> dict[str, Any]:
    return {
        "id": cve_id,
        "published": published,
        "lastModified": "2024-01-02T00:00:00.000",
        "vulnStatus": "Analyzed",
    }


def _page(*cves: dict[str, Any]) -> bytes:
    return orjson.dumps({"resultsPerPage": len(cves), "vulnerabilities": [{"cve": c} for c in cves]})


def test_truncated_json_is_one_problem_and_the_rest_continues(tmp_path: Path, nvd_data: Path) -> None:
    good = (nvd_data / "nvd-2.0-records/fkie/CVE-2023-38545.json").read_bytes()
    (tmp_path / "a-truncated.json").write_bytes(good[: len(good) // 2])
    (tmp_path / "b-good.json").write_bytes(good)
    items = list(NvdFileSource(tmp_path).records())
    assert len(items) == 2
    problem, ok = items
    assert problem.problem is not None and ok.vulnerability is not None
    assert problem.problem.origin == str(tmp_path / "a-truncated.json") and problem.problem.record_id is None
    assert problem.problem.message.startswith("invalid JSON: ")
    assert ok.vulnerability.id == "CVE-2023-38545"


def test_truncated_gzip_says_so(tmp_path: Path, nvd_data: Path) -> None:
    data = (nvd_data / "api2.0-shape/genuine-api2.0-sample.json.gz").read_bytes()
    target = tmp_path / "page.json.gz"
    target.write_bytes(data[: len(data) - 1000])
    [problem] = read_file(target)
    assert isinstance(problem, RecordProblem)
    assert problem.origin == str(target)
    assert problem.message.startswith("truncated gzip file")


def test_gzip_of_truncated_json_says_after_gunzip(tmp_path: Path) -> None:
    target = tmp_path / "page.json.gz"
    target.write_bytes(gzip.compress(_page(_cve("CVE-2024-0001"))[:-5]))
    [problem] = read_file(target)
    assert isinstance(problem, RecordProblem) and problem.message.startswith("invalid JSON (after gunzip): ")


def test_corrupt_gzip(tmp_path: Path) -> None:
    target = tmp_path / "page.json.gz"
    target.write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    [problem] = read_file(target)
    assert isinstance(problem, RecordProblem) and "gzip" in problem.message


def test_compression_is_detected_by_magic_not_suffix(tmp_path: Path) -> None:
    (tmp_path / "gzipped.json").write_bytes(gzip.compress(_page(_cve("CVE-2024-0001"))))
    (tmp_path / "plain.json.gz").write_bytes(_page(_cve("CVE-2024-0002")))
    vulns, problems = _all(tmp_path)
    assert problems == []
    assert [v.id for v in vulns] == ["CVE-2024-0001", "CVE-2024-0002"]


def test_bad_records_in_a_page_are_named_and_the_others_kept(tmp_path: Path) -> None:
    no_id = _cve("CVE-2024-0002")
    del no_id["id"]
    page = _page(
        _cve("CVE-2024-0001"),
        no_id,
        _cve("CVE-2024-0003"),
        _cve("CVE-2024-0004", "2024-02-31T00:00:00"),
        _cve("CVE-2024-0005"),
    )
    target = tmp_path / "page.json"
    target.write_bytes(page)
    vulns, problems = _all(target)
    assert [v.id for v in vulns] == ["CVE-2024-0001", "CVE-2024-0003", "CVE-2024-0005"]
    assert [str(p) for p in problems] == [
        f"{target}: vulnerabilities[1].cve: missing 'id'",
        f"{target} [CVE-2024-0004]: published: invalid date-time '2024-02-31T00:00:00'"
        " (day is out of range for month)",
    ]


def test_folder_walk_is_recursive_sorted_and_filtered(tmp_path: Path) -> None:
    (tmp_path / "z").mkdir()
    (tmp_path / "z/deep").mkdir()
    (tmp_path / "z/deep/1.json").write_bytes(orjson.dumps(_cve("CVE-2024-0003")))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(orjson.dumps([_cve("CVE-2024-0002")])))
    (tmp_path / "a.json").write_bytes(orjson.dumps(_cve("CVE-2024-0001")))
    (tmp_path / "notes.txt").write_text("not json")
    (tmp_path / "INDEX.csv").write_text("cve\n")
    (tmp_path / ".hidden.json").write_text("{")
    (tmp_path / "empty.json").write_bytes(b"")
    source = NvdFileSource(str(tmp_path))
    assert [p.relative_to(tmp_path).as_posix() for p in source.files()] == [
        "a.json",
        "b.json.gz",
        "empty.json",
        "z/deep/1.json",
    ]
    vulns, problems = split_items(source.records())
    assert [v.id for v in vulns] == ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"]
    assert [p.origin for p in problems] == [str(tmp_path / "empty.json")]
    # records() can be called again and reads again
    assert len(list(source.records())) == 4


def test_a_single_file_of_any_name_is_read(tmp_path: Path) -> None:
    target = tmp_path / "download.txt"
    target.write_bytes(_page(_cve("CVE-2024-0001")))
    vulns, _ = _all(target)
    assert [v.id for v in vulns] == ["CVE-2024-0001"]


def test_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_bytes(_page(_cve("CVE-2024-0001")))
    (tmp_path / "big2.json.gz").write_bytes(gzip.compress(_page(_cve("CVE-2024-0001"))))
    items = list(NvdFileSource(tmp_path, max_bytes=50).records())
    messages = [i.problem.message for i in items if i.problem is not None]
    assert len(messages) == 2 and all("limit of 50 bytes" in m for m in messages)


def test_missing_path_raises_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(InputError, match="no such file or directory") as info:
        NvdFileSource(missing)
    assert info.value.where == str(missing)


def test_path_removed_after_construction_raises_input_error(tmp_path: Path) -> None:
    target = tmp_path / "page.json"
    target.write_bytes(_page(_cve("CVE-2024-0001")))
    source = NvdFileSource(target)
    target.unlink()
    with pytest.raises(InputError):
        list(source.records())


def test_name_and_repr(tmp_path: Path) -> None:
    source = NvdFileSource(tmp_path)
    assert source.name == "nvd-files"
    assert str(tmp_path) in repr(source)
