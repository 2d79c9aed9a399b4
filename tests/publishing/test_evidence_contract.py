"""The contract between the matcher and the publishers: every publisher maps every evidence kind the matcher
can emit (:class:`~cvewatch.model.verdicts.EvidenceKind`), and refuses a kind it has no mapping for instead of
dropping it or guessing.

Checked on the demo's real verdicts (release and node image), on verdicts carrying every kind, and on the
mapping tables themselves (each total over its enum)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from cvewatch.demo.run import run_demo
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import EVIDENCE_KIND_MEANING, Evidence, EvidenceKind, Status, Verdict
from cvewatch.model.vex import (
    DEFAULT_JUSTIFICATION,
    JUSTIFICATION_BY_EVIDENCE_KIND,
    Justification,
    justification_for,
)
from cvewatch.publishing.csaf_vex import (
    IN_IMPACT_STATEMENT,
    PRODUCT_STATUS,
    CsafVexOptions,
    CsafVexPublisher,
)
from cvewatch.publishing.interface import DEMO_PUBLISHER, DocumentPublisher
from cvewatch.store.db import open_engine
from cvewatch.store.verdicts import load_verdicts
from cvewatch.store.vulnerabilities import load_vulnerabilities

from .conftest import RELEASE, verdict
from .test_csaf_vex import assert_valid

#: every publishing format, as a factory for a release (issue 14 adds the others here)
PUBLISHERS: dict[str, Callable[[str], DocumentPublisher]] = {
    "csaf-vex": lambda release: CsafVexPublisher(
        CsafVexOptions(
            release=release, product_name="Azure Linux 3.0", generator_version="0", publisher=DEMO_PUBLISHER
        )
    ),
}


@dataclass(frozen=True)
class DemoVerdicts:
    release: str
    records: dict[str, Vulnerability]
    verdicts: list[Verdict]  # the release's and the node image's, as stored


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoVerdicts]:
    """The demo, run into a fresh folder; its verdicts read back from its store (as a publish reads them)."""
    result = run_demo(tmp_path_factory.mktemp("demo"), say=lambda _: None)
    engine = open_engine(result.db_url)
    try:
        with engine.connect() as conn:
            verdicts = load_verdicts(conn, result.release) + load_verdicts(conn, result.release, result.image)
            records = {v.id: v for v in load_vulnerabilities(conn, sorted({v.cve for v in verdicts}))}
        yield DemoVerdicts(result.release, records, verdicts)
    finally:
        engine.dispose()


def _by_cve(verdicts: Sequence[Verdict]) -> dict[str, list[Verdict]]:
    out: dict[str, list[Verdict]] = defaultdict(list)
    for v in verdicts:
        out[v.cve].append(v)
    return out


# --- the tables -----------------------------------------------------------------------------------------


def test_every_kind_has_a_meaning_and_a_justification_decision() -> None:
    assert list(EVIDENCE_KIND_MEANING) == list(EvidenceKind)  # same order: docs/matching.md lists them so
    assert set(JUSTIFICATION_BY_EVIDENCE_KIND) == set(EvidenceKind)
    assert all(v is None or isinstance(v, Justification) for v in JUSTIFICATION_BY_EVIDENCE_KIND.values())


@pytest.mark.parametrize("name", sorted(PUBLISHERS))
def test_every_publisher_declares_every_kind(name: str) -> None:
    assert PUBLISHERS[name](RELEASE).evidence_kinds == frozenset(EvidenceKind)


def test_the_csaf_vex_tables_are_total() -> None:
    assert set(IN_IMPACT_STATEMENT) == set(EvidenceKind)
    assert set(PRODUCT_STATUS) == set(Status)
    assert CsafVexPublisher.evidence_kinds == frozenset(IN_IMPACT_STATEMENT)


def test_justification_for() -> None:
    assert justification_for([]) is DEFAULT_JUSTIFICATION is Justification.VULNERABLE_CODE_NOT_PRESENT
    cvss, nopatch = Evidence(EvidenceKind.CVSS, "x"), Evidence(EvidenceKind.NOPATCH, "y")
    assert justification_for([cvss, nopatch]) is Justification.VULNERABLE_CODE_NOT_PRESENT
    label = Evidence(EvidenceKind.JUSTIFICATION, "vulnerable_code_not_in_execute_path")
    assert justification_for([nopatch, label]) is Justification.VULNERABLE_CODE_NOT_IN_EXECUTE_PATH
    made_up = Evidence(EvidenceKind.JUSTIFICATION, "made-up")
    assert justification_for([made_up]) is DEFAULT_JUSTIFICATION
    with pytest.raises(ValueError, match="'version-range' has no VEX justification mapping"):
        justification_for([Evidence("version-range", "an old kind")])  # type: ignore[arg-type]


# --- the demo's real verdicts ---------------------------------------------------------------------------


def test_the_demo_emits_most_kinds(demo: DemoVerdicts) -> None:
    """What the demo's verdicts carry (triage, justification and protocol need a triage record or a protocol
    CVE, which the demo data has not: the matching tests cover them)."""
    kinds = {e.kind for v in demo.verdicts for e in v.evidence}
    assert set(EvidenceKind) - kinds == {
        EvidenceKind.TRIAGE,
        EvidenceKind.JUSTIFICATION,
        EvidenceKind.PROTOCOL,
    }
    assert all(isinstance(e.kind, EvidenceKind) for v in demo.verdicts for e in v.evidence)


@pytest.mark.parametrize("name", sorted(PUBLISHERS))
def test_every_publisher_renders_the_demo_verdicts(name: str, demo: DemoVerdicts) -> None:
    pub = PUBLISHERS[name](demo.release)
    rendered = 0
    for cve, verdicts in sorted(_by_cve(demo.verdicts).items()):
        assert {e.kind for v in verdicts for e in v.evidence} <= pub.evidence_kinds
        rendered += len(pub.render(demo.records[cve], verdicts))
    assert rendered == len({v.cve for v in demo.verdicts if not demo.records[v.cve].rejected}) > 100


# --- every kind, and a kind without a mapping -----------------------------------------------------------


def every_kind_verdicts() -> list[Verdict]:
    """One verdict per status, together carrying every kind (in enum order, so each status sees them all)."""
    kinds = [(k.value, f"{k.value} evidence for the test") for k in EvidenceKind]
    return [
        verdict("curl", "0:8.11.1-3.azl3", Status.NOT_AFFECTED, *kinds),
        verdict("openssl", "1:3.3.2-1.azl3", Status.AFFECTED, *kinds, fixed_in="1:3.3.5-5.azl3"),
        verdict("libgit2", "0:1.7.2-1.azl3", Status.AFFECTED, *kinds),
        verdict("cmake", "0:3.30.3-6.azl3", Status.FIXED, *kinds, fixed_in="0:3.30.3-6.azl3"),
        verdict("rust", "0:1.86.0-1.azl3", Status.UNDER_INVESTIGATION, *kinds),
    ]


@pytest.mark.parametrize("name", sorted(PUBLISHERS))
def test_every_publisher_renders_every_kind(name: str, curl_cve: Vulnerability) -> None:
    verdicts = every_kind_verdicts()
    assert {e.kind for v in verdicts for e in v.evidence} == set(EvidenceKind)
    assert PUBLISHERS[name](RELEASE).render(curl_cve, verdicts)


@pytest.mark.parametrize("name", sorted(PUBLISHERS))
def test_every_publisher_refuses_a_kind_without_a_mapping(name: str, curl_cve: Vulnerability) -> None:
    """A kind outside the enum (a renamed one, a typo) reaches a publisher only past the type checker: it
    fails loudly instead of vanishing from the document."""
    renamed = Evidence("version-range", "8.11.1 is past the range")  # type: ignore[arg-type]
    old = dataclasses.replace(verdict("curl", "0:8.11.1-3.azl3", Status.NOT_AFFECTED), evidence=(renamed,))
    with pytest.raises(ValueError, match="'version-range'"):
        PUBLISHERS[name](RELEASE).render(curl_cve, [old])


def test_the_every_kind_document_is_valid(tmp_path: Path, curl_cve: Vulnerability) -> None:
    pub = PUBLISHERS["csaf-vex"](RELEASE)
    assert isinstance(pub, CsafVexPublisher)
    doc = pub.render_document(curl_cve, every_kind_verdicts())
    assert_valid(tmp_path, doc)
    out = doc["vulnerabilities"][0]
    assert out["flags"] == [
        {"label": "vulnerable_code_not_present", "product_ids": ["3-0-curl-0:8.11.1-3.azl3"]}
    ]
    details = {t["details"] for t in out["threats"]}
    (sentences,) = details  # every product has the same evidence
    assert "justification evidence" not in sentences  # the label is the flag, not a sentence
    assert all(
        f"{k.value} evidence" in sentences for k in EvidenceKind if k is not EvidenceKind.JUSTIFICATION
    )
