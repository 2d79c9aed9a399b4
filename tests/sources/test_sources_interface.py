from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cvewatch.model.records import RecordProblem, Vulnerability
from cvewatch.sources.interface import Source, SourceItem, split_items

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
VULN = Vulnerability(id="CVE-2024-0001", published=WHEN, last_modified=WHEN, status="Analyzed")


def test_problem_str_names_origin_and_record() -> None:
    assert str(RecordProblem("a.json", "CVE-2024-0001", "bad date")) == "a.json [CVE-2024-0001]: bad date"
    assert str(RecordProblem("a.json", None, "invalid JSON")) == "a.json: invalid JSON"


def test_source_item_holds_exactly_one() -> None:
    problem = RecordProblem("x", None, "m")
    assert SourceItem.of(VULN).ok and SourceItem.of(VULN).vulnerability is VULN
    assert not SourceItem.of(problem).ok and SourceItem.of(problem).problem is problem
    with pytest.raises(ValueError):
        SourceItem()
    with pytest.raises(ValueError):
        SourceItem(vulnerability=VULN, problem=problem)


def test_source_is_abstract_and_subclassable() -> None:
    with pytest.raises(TypeError):
        Source()  # type: ignore[abstract]

    class Fixed(Source):
        name = "fixed"

        def records(self) -> Iterator[SourceItem]:
            yield SourceItem.of(VULN)
            yield SourceItem.of(RecordProblem("fixed", None, "oops"))

    vulns, problems = split_items(Fixed().records())
    assert vulns == [VULN]
    assert [str(p) for p in problems] == ["fixed: oops"]
