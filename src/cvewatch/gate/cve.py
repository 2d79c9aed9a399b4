"""The CVE part of the gate over a plain list of findings (the store integration comes later).

A finding blocks when it is ``affected``, of severity critical or high, with a fix available, and not
waived by a waiver that still holds on the evaluation date (it holds through ``waived_until``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cvewatch.errors import InputError
from cvewatch.gate.verdict_types import Reason, Status

_CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
BLOCKING_SEVERITIES = frozenset({"critical", "high"})


@dataclass(frozen=True)
class CveFinding:
    """One CVE finding of the candidate image."""

    cve: str
    package: str
    severity: str
    status: str
    fix_available: bool
    waived_until: dt.date | None = None
    waiver_reason: str = ""
    waiver_author: str = ""

    def __post_init__(self) -> None:
        if not _CVE_ID.match(self.cve):
            raise InputError(f"not a CVE id: {self.cve!r}")


def _reason(f: CveFinding, today: dt.date) -> Reason | None:
    if f.status != "affected" or f.severity.lower() not in BLOCKING_SEVERITIES or not f.fix_available:
        return None
    subject = f"{f.cve} in {f.package}"
    what = f"{f.severity.lower()} CVE, affected, fix available"
    if f.waived_until is not None and today <= f.waived_until:
        text = f"{what}; waived until {f.waived_until} by {f.waiver_author or 'unknown'}: {f.waiver_reason}"
        return Reason("cve", subject, Status.PASS, text, blocking=False)
    if f.waived_until is not None:
        return Reason("cve", subject, Status.FAIL, f"{what}; waiver expired on {f.waived_until}")
    return Reason("cve", subject, Status.FAIL, what)


def evaluate_cves(findings: Iterable[CveFinding], today: dt.date) -> tuple[Reason, ...]:
    """The reasons of the CVE part, sorted by CVE id and package (findings that do not block give none)."""
    ordered = sorted(findings, key=lambda f: (f.cve, f.package))
    return tuple(r for r in (_reason(f, today) for f in ordered) if r is not None)
