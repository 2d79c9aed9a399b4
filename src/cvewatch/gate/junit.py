"""JUnit XML test results (pytest default/xunit2 and xunit1, Go's go-junit-report and gotestsum, Kubernetes
e2e / Ginkgo, Maven Surefire's rerun and flaky elements), read with ``junitparser`` over a safe parser.

Every ``<testcase>`` is an attempt; attempts of the same test (same classname and name in the same file)
are folded into one :class:`TestResult`:

- any attempt failed or errored and another passed, or the test passed with ``<flakyFailure>`` /
  ``<flakyError>`` children → **flaky** (it passed on a retry);
- every attempt failed or errored → **failed** / **error** (``<rerunFailure>`` children count as attempts);
- skipped (also pytest's xfail and Ginkgo's pending) → **skipped**; otherwise **passed**.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from junitparser import xunit2

from cvewatch.errors import InputError
from cvewatch.gate.xmlsafe import parse_xml


class Outcome(StrEnum):
    """The outcome of one test after its retries."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    FLAKY = "flaky"


@dataclass(frozen=True)
class TestResult:
    """One test of a JUnit report, its attempts folded."""

    __test__ = False

    test_id: str
    outcome: Outcome
    attempts: int
    message: str
    source: str


@dataclass(frozen=True)
class _Attempt:
    test_id: str
    outcome: Outcome
    retried_failures: int
    message: str


def _attempt(case: Any) -> _Attempt:
    """One ``<testcase>`` (a ``junitparser.xunit2.TestCase``; junitparser's own types are loose)."""
    classname, name = case.classname or "", case.name or ""
    test_id = f"{classname}::{name}" if classname else name
    interim = case.interim_result
    flaky = bool(case.is_flaky)
    if case.is_error:
        outcome, message = Outcome.ERROR, _message(case)
    elif case.is_failure:
        outcome, message = Outcome.FAILED, _message(case)
    elif case.is_skipped:
        outcome, message = Outcome.SKIPPED, _message(case)
    elif flaky:
        outcome, message = Outcome.FLAKY, str(interim[0].message or "")
    else:
        outcome, message = Outcome.PASSED, ""
    return _Attempt(test_id, outcome, len(interim), message)


def _message(case: Any) -> str:
    results = case.result
    return str(results[0].message or results[0].type or "") if results else ""


def _fold(attempts: list[_Attempt], source: str) -> TestResult:
    outcomes = {a.outcome for a in attempts}
    count = len(attempts) + sum(a.retried_failures for a in attempts)
    bad = [a for a in attempts if a.outcome in (Outcome.FAILED, Outcome.ERROR)]
    if bad and outcomes & {Outcome.PASSED, Outcome.FLAKY}:
        return TestResult(attempts[0].test_id, Outcome.FLAKY, count, bad[0].message, source)
    if bad:
        last = bad[-1]
        return TestResult(last.test_id, last.outcome, count, last.message, source)
    final = attempts[-1]
    if Outcome.FLAKY in outcomes:
        flaky = next(a for a in attempts if a.outcome is Outcome.FLAKY)
        return TestResult(final.test_id, Outcome.FLAKY, count, flaky.message, source)
    outcome = Outcome.PASSED if Outcome.PASSED in outcomes else final.outcome
    return TestResult(final.test_id, outcome, count, final.message, source)


def parse_junit(data: bytes, source: str) -> tuple[TestResult, ...]:
    """The tests of one JUnit XML document, sorted by test id. No test case at all is an error."""
    root = parse_xml(data, source)
    if root.tag not in ("testsuites", "testsuite"):
        raise InputError(f"not a JUnit report (root element <{root.tag}>)", source)
    report = xunit2.JUnitXml.fromroot(root)
    by_id: dict[str, list[_Attempt]] = {}
    for suite in _suites(report):
        for case in suite:
            attempt = _attempt(case)
            by_id.setdefault(attempt.test_id, []).append(attempt)
    if not by_id:
        raise InputError("JUnit report without any test case", source)
    return tuple(_fold(attempts, source) for _, attempts in sorted(by_id.items()))


def _suites(report: Any) -> list[Any]:
    """Every ``<testsuite>``, also nested ones (some reporters nest suites in suites)."""
    found: list[Any] = []
    pending: list[Any] = list(report)
    while pending:
        suite = pending.pop(0)
        found.append(suite)
        suite_type: Any = xunit2.TestSuite
        pending.extend(suite_type.fromelem(e) for e in suite._elem.iterfind("testsuite"))
    return found


def load_junit(path: Path) -> tuple[TestResult, ...]:
    """Read and parse one JUnit XML file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    return parse_junit(data, str(path))
