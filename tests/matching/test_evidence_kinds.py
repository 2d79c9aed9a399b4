"""The evidence kinds: each one is emitted by the matcher, and docs/matching.md lists exactly the enum's kinds
with their meanings (the table is generated from :mod:`cvewatch.model.verdicts` and :mod:`cvewatch.model.vex`;
on a difference this test prints the table to paste)."""

from __future__ import annotations

import re

from cvewatch.model.verdicts import EVIDENCE_KIND_MEANING, EvidenceKind
from cvewatch.model.vex import JUSTIFICATION_BY_EVIDENCE_KIND

from ..conftest import ROOT

MATCHING = ROOT / "src" / "cvewatch" / "matching"
DOC = ROOT / "docs" / "matching.md"
BEGIN = "<!-- evidence-kinds: from EvidenceKind; tests/matching/test_evidence_kinds.py checks it -->"
END = "<!-- /evidence-kinds -->"


def evidence_kind_table() -> str:
    rows = [
        "| kind | what it says | VEX justification, when it is why a verdict is not_affected |",
        "|---|---|---|",
    ]
    for kind in EvidenceKind:
        label = JUSTIFICATION_BY_EVIDENCE_KIND[kind]
        if kind is EvidenceKind.JUSTIFICATION:
            why = "its detail: the label, which wins over every other kind"
        else:
            why = f"`{label}`" if label is not None else "—"
        rows.append(f"| `{kind.value}` | {EVIDENCE_KIND_MEANING[kind]} | {why} |")
    return "\n".join([BEGIN, *rows, END])


def test_docs_list_every_kind_with_its_meaning() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), text, re.S)
    expected = evidence_kind_table()
    assert found is not None, f"docs/matching.md has no evidence kind table; add:\n{expected}"
    assert found.group(0) == expected, f"docs/matching.md: replace the evidence kind table with:\n{expected}"


def test_every_kind_is_emitted_by_the_matcher() -> None:
    """A kind nothing emits does not belong in the enum: each member is used where matching/ builds
    evidence (or in the table of a criterion's judgements, matching/outcome.py)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(MATCHING.glob("*.py")))
    assert not re.search(r"Evidence\(\s*\"", source), "evidence built with a string kind, not an EvidenceKind"
    unused = [k.name for k in EvidenceKind if not re.search(rf"\bEvidenceKind\.{k.name}\b", source)]
    assert unused == []
