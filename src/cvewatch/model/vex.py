"""The VEX vocabulary every publisher shares, and the one table from the matcher's evidence to it.

CSAF 2.0 (its VEX profile) and OpenVEX use the same statuses (our :class:`~cvewatch.model.verdicts.Status`)
and the same five justifications for not_affected (CSAF: the ``flags[].label``; OpenVEX: ``justification``).
What to do about an affected product is an *action statement*: CSAF writes it as a remediation of one of a
fixed set of categories (:class:`Remediation`; CVRF's remediation types are the same idea). The *impact
statement* (why a product is not affected, in words) is free text: the evidence sentences.

Triage records (:mod:`cvewatch.model.triage`) take their labels from :class:`Justification`; the matcher's
own reasons for not_affected are evidence kinds, mapped to a label in :data:`JUSTIFICATION_BY_EVIDENCE_KIND`,
which names every kind (a test checks it is total), so that a new kind needs a decision here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

from cvewatch.model.verdicts import Evidence, EvidenceKind


class Justification(StrEnum):
    """Why a product is not affected: the CSAF 2.0 flag labels (section 3.2.3.5) = OpenVEX justifications."""

    COMPONENT_NOT_PRESENT = "component_not_present"
    VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present"
    VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = "vulnerable_code_cannot_be_controlled_by_adversary"
    VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"
    INLINE_MITIGATIONS_ALREADY_EXIST = "inline_mitigations_already_exist"


class Remediation(StrEnum):
    """The category of an action statement: CSAF 2.0 ``remediations[].category`` (section 3.2.3.12)."""

    MITIGATION = "mitigation"
    NO_FIX_PLANNED = "no_fix_planned"
    NONE_AVAILABLE = "none_available"
    VENDOR_FIX = "vendor_fix"
    WORKAROUND = "workaround"


#: a not_affected verdict without a kind that says more: the shipped code does not contain the flaw
DEFAULT_JUSTIFICATION = Justification.VULNERABLE_CODE_NOT_PRESENT

#: evidence kind -> the VEX justification it stands for when it is why a verdict is not_affected; None: the
#: kind is no reason for not_affected (it decides another status, or only describes). Every kind is here.
JUSTIFICATION_BY_EVIDENCE_KIND: Mapping[EvidenceKind, Justification | None] = {
    # a person's record: its label travels as a JUSTIFICATION item (see justification_for)
    EvidenceKind.TRIAGE: None,
    EvidenceKind.JUSTIFICATION: None,
    # the distribution's triage file (CVE-....nopatch): the CVE does not apply to what is shipped
    EvidenceKind.NOPATCH: Justification.VULNERABLE_CODE_NOT_PRESENT,
    # the shipped upstream version is outside the vulnerable range: the flawed code is not in it
    EvidenceKind.VERSION_NOT_AFFECTED: Justification.VULNERABLE_CODE_NOT_PRESENT,
    # a backported patch or a changelog entry: the flawed code was removed (such a verdict is fixed; a
    # triage record or a merge can still leave it next to a not_affected decision)
    EvidenceKind.PATCH: Justification.VULNERABLE_CODE_NOT_PRESENT,
    EvidenceKind.CHANGELOG: Justification.VULNERABLE_CODE_NOT_PRESENT,
    # these describe what was looked at or decide other statuses
    EvidenceKind.INSTALLED: None,
    EvidenceKind.COMPONENT: None,
    EvidenceKind.TOOLCHAIN: None,
    EvidenceKind.PROTOCOL: None,
    EvidenceKind.NVD_BACKLOG: None,
    EvidenceKind.CPE_MATCH: None,
    EvidenceKind.CNA_MATCH: None,
    EvidenceKind.CONDITION: None,
    EvidenceKind.VERSION_AFFECTED: None,
    EvidenceKind.VERSION_UNKNOWN: None,
    EvidenceKind.CVSS: None,
}


def justification_label(text: str) -> Justification | None:
    """The justification a label names (``vulnerable_code_not_present``), None for any other text."""
    try:
        return Justification(text.strip())
    except ValueError:
        return None


def justification_for(evidence: Iterable[Evidence]) -> Justification:
    """The VEX justification of a not_affected verdict with this evidence: a triage record's label (a
    :attr:`~EvidenceKind.JUSTIFICATION` item) wins; else the first item whose kind stands for one; else
    :data:`DEFAULT_JUSTIFICATION`. A kind missing from the table is a :class:`ValueError`, not a guess."""
    items = tuple(evidence)
    for e in items:
        if e.kind == EvidenceKind.JUSTIFICATION and (label := justification_label(e.detail)) is not None:
            return label
    for e in items:
        try:
            mapped = JUSTIFICATION_BY_EVIDENCE_KIND[e.kind]
        except KeyError:
            raise ValueError(f"evidence kind {e.kind!r} has no VEX justification mapping") from None
        if mapped is not None:
            return mapped
    return DEFAULT_JUSTIFICATION
