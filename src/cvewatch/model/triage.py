"""Triage records: a person's decision on a (CVE, package), in the VEX vocabulary.

A triage record overrides every automatic rule of the matcher (docs/matching.md); it names its
author and carries a justification label for not_affected, as CSAF and OpenVEX require.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cvewatch.errors import InputError
from cvewatch.model.records import validate_cve_id
from cvewatch.model.verdicts import Status
from cvewatch.versions.rpm import EVR


class Justification(StrEnum):
    """CSAF 2.0 flag labels = OpenVEX justifications for not_affected."""

    COMPONENT_NOT_PRESENT = "component_not_present"
    VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present"
    VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = "vulnerable_code_cannot_be_controlled_by_adversary"
    VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"
    INLINE_MITIGATIONS_ALREADY_EXIST = "inline_mitigations_already_exist"


JUSTIFICATIONS = tuple(j.value for j in Justification)


@dataclass(frozen=True, slots=True)
class TriageRecord:
    cve: str
    package: str
    status: Status
    author: str
    created_at: datetime
    release: str | None = None  # None: every release
    justification: str | None = None
    fixed_in: str | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        validate_cve_id(self.cve)
        if self.status is Status.NOT_AFFECTED and self.justification not in JUSTIFICATIONS:
            raise InputError(
                f"a not_affected triage needs a justification, one of: {', '.join(JUSTIFICATIONS)}"
            )
        if self.justification is not None and self.justification not in JUSTIFICATIONS:
            raise InputError(
                f"unknown justification {self.justification!r}; use one of: {', '.join(JUSTIFICATIONS)}"
            )
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
