"""The BVT part of the gate: test results and the quarantine list → a verdict with its reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cvewatch.gate.junit import Outcome, TestResult
from cvewatch.gate.quarantine import QuarantineEntry
from cvewatch.gate.verdict_types import Reason, Status, combine


@dataclass(frozen=True)
class BvtSummary:
    """Counts of a BVT run and its verdict with every reason."""

    passed: int
    failed: int
    errors: int
    skipped: int
    flaky: int
    quarantined: int
    status: Status
    reasons: tuple[Reason, ...]


def _quarantine_for(test_id: str, entries: Iterable[QuarantineEntry]) -> QuarantineEntry | None:
    """The entry naming ``test_id`` that expires last (an active one beats an expired one)."""
    named = [e for e in entries if e.matches(test_id)]
    return max(named, key=lambda e: e.expires) if named else None


def _reason(result: TestResult, entry: QuarantineEntry | None, today: dt.date) -> Reason:
    what = f"{result.outcome.value}: {result.message}" if result.message else result.outcome.value
    if entry is not None and entry.active(today):
        text = f"{what} (quarantined until {entry.expires}, owner {entry.owner}: {entry.reason})"
        return Reason("bvt", result.test_id, Status.PASS, text, blocking=False)
    if entry is not None:
        text = f"{what} (quarantine expired on {entry.expires}, owner {entry.owner}: it blocks again)"
        return Reason("bvt", result.test_id, Status.FAIL, text, blocking=True)
    return Reason("bvt", result.test_id, Status.FAIL, what, blocking=True)


def evaluate_bvt(
    results: Iterable[TestResult], quarantine: Iterable[QuarantineEntry], today: dt.date
) -> BvtSummary:
    """Fail on a failed or errored test that no active quarantine entry covers; flaky tests are reported."""
    entries = tuple(quarantine)
    tests = sorted(results, key=lambda r: (r.test_id, r.source))
    counts = dict.fromkeys(Outcome, 0)
    reasons: list[Reason] = []
    quarantined = 0
    for result in tests:
        counts[result.outcome] += 1
        if result.outcome is Outcome.FLAKY:
            text = f"flaky: passed after {result.attempts} attempts ({result.message})"
            reasons.append(Reason("bvt", result.test_id, Status.PASS, text, blocking=False))
        elif result.outcome in (Outcome.FAILED, Outcome.ERROR):
            reason = _reason(result, _quarantine_for(result.test_id, entries), today)
            quarantined += not reason.blocking
            reasons.append(reason)
    if not tests:
        reasons.append(Reason("bvt", "bvt", Status.INCONCLUSIVE, "no test results", blocking=True))
    status = combine(reasons)
    return BvtSummary(
        passed=counts[Outcome.PASSED],
        failed=counts[Outcome.FAILED],
        errors=counts[Outcome.ERROR],
        skipped=counts[Outcome.SKIPPED],
        flaky=counts[Outcome.FLAKY],
        quarantined=quarantined,
        status=status,
        reasons=tuple(reasons),
    )
