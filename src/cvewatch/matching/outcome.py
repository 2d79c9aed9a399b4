"""The outcome of judging one criterion (an NVD cpeMatch or a CNA affected entry) for one version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from cvewatch.model.verdicts import EvidenceKind


class Decision(StrEnum):
    VULNERABLE = "vulnerable"
    NOT_VULNERABLE = "not_vulnerable"
    UNKNOWN = "unknown"


#: the evidence kind that records a criterion's judgement (direct matches and components alike)
VERSION_EVIDENCE: Mapping[Decision, EvidenceKind] = {
    Decision.VULNERABLE: EvidenceKind.VERSION_AFFECTED,
    Decision.NOT_VULNERABLE: EvidenceKind.VERSION_NOT_AFFECTED,
    Decision.UNKNOWN: EvidenceKind.VERSION_UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criteria: str
    decision: Decision
    detail: str
    mapping: str
    conditions: tuple[str, ...] = ()
    kind: EvidenceKind = EvidenceKind.CPE_MATCH  # or CNA_MATCH: which records named the package
