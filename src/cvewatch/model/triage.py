"""Triage records: a person's decision on a (CVE, package), in the VEX vocabulary.

A triage record overrides every automatic rule of the matcher (docs/matching.md); it names its
author and carries a justification label for not_affected, as CSAF and OpenVEX require (the labels are
:class:`~cvewatch.model.vex.Justification`, the vocabulary the publishers use too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cvewatch.errors import InputError
from cvewatch.model.records import validate_cve_id
from cvewatch.model.verdicts import Status
from cvewatch.model.vex import Justification
from cvewatch.versions.rpm import EVR


@dataclass(frozen=True, slots=True)
class TriageRecord:
    cve: str
    package: str
    status: Status
    author: str
    created_at: datetime
    release: str | None = None  # None: every release
    justification: Justification | None = None
    fixed_in: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        validate_cve_id(self.cve)
        labels = ", ".join(Justification)
        if self.justification is not None and not isinstance(self.justification, Justification):
            try:  # a label read back from the store is text: hold it as the enum
                object.__setattr__(self, "justification", Justification(self.justification))
            except ValueError:
                raise InputError(
                    f"unknown justification {self.justification!r}; use one of: {labels}"
                ) from None
        if self.status is Status.NOT_AFFECTED and self.justification is None:
            raise InputError(f"a not_affected triage needs a justification, one of: {labels}")
        if self.status is Status.FIXED and not self.fixed_in:
            raise InputError("a fixed triage needs --fixed-in EVR")
        if self.fixed_in is not None:
            EVR.parse(self.fixed_in)
        if not self.author.strip():
            raise InputError("a triage record needs an author")

    def describe(self) -> str:
        parts = [f"triage by {self.author} on {self.created_at:%Y-%m-%d}: {self.status.value}"]
        if self.justification:
            parts.append(f"({self.justification})")
        if self.fixed_in:
            parts.append(f"fixed in {self.fixed_in}")
        if self.detail:
            parts.append(f"- {self.detail}")
        return " ".join(parts)
