"""The outcome of judging one criterion (an NVD cpeMatch or a CNA affected entry) for one version."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Decision(StrEnum):
    VULNERABLE = "vulnerable"
    NOT_VULNERABLE = "not_vulnerable"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CriterionResult:
    criteria: str
    decision: Decision
    detail: str
    mapping: str
    conditions: tuple[str, ...] = ()
    kind: str = "cpe-match"  # or "cna-match"
