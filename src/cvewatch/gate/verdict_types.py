"""The verdict vocabulary every part of the gate shares: a status, a reason, the exit-status mapping."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """A gate verdict (for one metric, one test, one part, or the whole gate)."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


#: The documented exit statuses (docs/gate-statistics.md §9).
EXIT_CODES: dict[Status, int] = {Status.PASS: 0, Status.FAIL: 1, Status.INCONCLUSIVE: 2}


@dataclass(frozen=True)
class Reason:
    """One reason of a verdict: which part (bvt, perf, cve), which subject, its status and a sentence.

    A non-blocking reason is reported but does not change the verdict (a flaky or quarantined test, an
    unstable metric, a waived CVE).
    """

    part: str
    subject: str
    status: Status
    message: str
    blocking: bool = True


def combine(reasons: Iterable[Reason]) -> Status:
    """Any blocking fail → fail; else any blocking inconclusive → inconclusive; else pass."""
    blocking = {r.status for r in reasons if r.blocking}
    if Status.FAIL in blocking:
        return Status.FAIL
    return Status.INCONCLUSIVE if Status.INCONCLUSIVE in blocking else Status.PASS
