"""CSAF revisions: a published document's version grows exactly when its content changes.

Once a document moved from known_affected to known_not_affected after a triage while tracking.version stayed
1 and current_release_date did not move."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine

from cvewatch import __version__
from cvewatch.demo.run import run_demo
from cvewatch.model.published import PublishedState
from cvewatch.model.records import Vulnerability
from cvewatch.model.triage import TriageRecord
from cvewatch.model.verdicts import Status, Verdict
from cvewatch.publishing.csaf_vex import CsafVexOptions, CsafVexPublisher
from cvewatch.publishing.interface import DEMO_LEGAL_NOTICE, DEMO_PUBLISHER, PublishedDocument
from cvewatch.publishing.revisions import change_summary, content_digest, facets
from cvewatch.services.publish import publish_release
from cvewatch.services.scan import run_scan
from cvewatch.store.db import open_engine
from cvewatch.store.published import load_published
from cvewatch.store.triage import add_triage

from .test_csaf_vex import OPENSSL, assert_valid, publisher

T1 = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
T2 = datetime(2026, 3, 2, 8, 30, 0, tzinfo=UTC)


def _publish(
    vuln: Vulnerability, verdicts: list[Verdict], previous: PublishedState | None, now: datetime
) -> tuple[bytes, PublishedState]:
    pub = publisher()
    (doc,) = pub.render(vuln, verdicts)
    out, state = pub.revise(doc, previous, now)
    assert state is not None and out.path == doc.path and out.document_id == state.document_id
    return out.content, state


def _tracking(content: bytes) -> dict[str, Any]:
    tracking: dict[str, Any] = orjson.loads(content)["document"]["tracking"]
    return tracking


def _with_status(verdicts: list[Verdict], package: str, status: Status, **kw: Any) -> list[Verdict]:
    return [dataclasses.replace(v, status=status, **kw) if v.package == package else v for v in verdicts]


def test_first_publish_is_the_rendered_version_1(
    curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    (rendered,) = publisher().render(curl_cve, mixed_verdicts)
    content, state = _publish(curl_cve, mixed_verdicts, None, T1)
    assert content == rendered.content
    assert state.version == 1 and state.document_id == "CVEWATCH-AZL3-CVE-2023-38545"
    assert state.digest == content_digest(orjson.loads(content))


def test_unchanged_content_is_written_with_the_same_bytes(
    curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    first, state = _publish(curl_cve, mixed_verdicts, None, T1)
    again, same = _publish(curl_cve, list(reversed(mixed_verdicts)), state, T2)
    assert again == first and same == state
    # the record's lastModified moved, the document's content did not: no new revision
    later = dataclasses.replace(curl_cve, last_modified=curl_cve.last_modified + timedelta(days=30))
    moved, kept = _publish(later, mixed_verdicts, state, T2)
    assert moved == first and kept.version == 1


def test_changed_content_gets_the_next_version_and_a_revision(
    tmp_path: Path, curl_cve: Vulnerability, mixed_verdicts: list[Verdict]
) -> None:
    first, v1 = _publish(curl_cve, mixed_verdicts, None, T1)
    triaged = _with_status(
        mixed_verdicts, "openssl", Status.NOT_AFFECTED, fixed_in=None, evidence=()
    )  # a person decided: not affected
    second, v2 = _publish(curl_cve, triaged, v1, T2)
    t1, t2 = _tracking(first), _tracking(second)
    assert t1["version"] == "1" and t2["version"] == "2" and v2.version == 2
    assert t2["current_release_date"] == "2026-03-02T08:30:00.000Z" != t1["current_release_date"]
    assert t2["initial_release_date"] == t1["initial_release_date"]
    assert [h["number"] for h in t2["revision_history"]] == ["1", "2"]
    assert t2["revision_history"][0] == t1["revision_history"][0]
    entry = t2["revision_history"][1]
    assert entry["date"] == t2["current_release_date"]
    assert f"{OPENSSL} known_affected -> known_not_affected" in entry["summary"]
    assert "remediations" in entry["summary"]
    doc2 = orjson.loads(second)
    assert OPENSSL in doc2["vulnerabilities"][0]["product_status"]["known_not_affected"]
    assert_valid(tmp_path, doc2, preset="mandatory")

    # a third change, the clock behind the last revision: the revision still sorts after it
    fixed = _with_status(triaged, "libgit2", Status.FIXED, fixed_in="0:1.7.2-1.azl3")
    third, v3 = _publish(curl_cve, fixed, v2, T1)
    t3 = _tracking(third)
    assert t3["version"] == "3" and [h["number"] for h in t3["revision_history"]] == ["1", "2", "3"]
    assert t3["revision_history"][2]["date"] == "2026-03-02T08:30:00.001Z" == t3["current_release_date"]
    assert "known_affected -> fixed" in t3["revision_history"][2]["summary"]
    # back to the first content: that is a change too
    fourth, v4 = _publish(curl_cve, mixed_verdicts, v3, T2 + timedelta(days=1))
    assert _tracking(fourth)["version"] == "4" and v4.digest == v1.digest
    assert_valid(tmp_path, orjson.loads(fourth), preset="mandatory")


def test_change_summary_names_products_and_sections() -> None:
    old = {
        "status:a": "known_affected",
        "status:b": "fixed",
        "vulnerabilities[0].scores": "x",
        "product_tree": "p",
    }
    new = {
        "status:a": "known_not_affected",
        "status:c": "fixed",
        "vulnerabilities[0].scores": "y",
        "product_tree": "p",
    }
    assert change_summary(old, new) == (
        "Product status: a known_affected -> known_not_affected; b removed (was fixed); c added (fixed). "
        "Also changed: CVSS scores."
    )
    assert change_summary({"document.title": "1"}, {"document.title": "2"}) == "Changed: title."
    many = {f"status:p{i}": "fixed" for i in range(8)}
    assert change_summary({}, many).endswith("; and 3 more.")
    doc = {
        "document": {"title": "t", "tracking": {"version": "9"}},
        "product_tree": {},
        "vulnerabilities": [],
    }
    assert "document.tracking" not in facets(doc)


def test_triage_after_publish_makes_a_new_revision_in_the_store(db_url: str, tmp_path: Path) -> None:
    """The demo (SQLite and PostgreSQL): publish, triage an affected package not_affected, rescan, publish."""
    demo = run_demo(tmp_path / "demo", db_url=db_url, say=lambda _: None)
    affected = next(v for v in demo.verdicts if v.status is Status.AFFECTED)
    engine: Engine = open_engine(db_url)
    try:
        out = tmp_path / "csaf"
        pub = _demo_publisher()
        # the demo published every document once: publishing again writes the same bytes
        first = publish_release(engine, "azl3", pub, out, now=T1)
        assert (first.new, first.revised, first.unchanged) == (0, 0, len(demo.documents))
        before = {p: p.read_bytes() for p in first.paths}
        assert {p.relative_to(out): b for p, b in before.items()} == {
            p.relative_to(demo.csaf_dir): p.read_bytes() for p in demo.documents
        }
        with engine.begin() as conn:
            add_triage(
                conn,
                TriageRecord(
                    affected.cve,
                    affected.package,
                    Status.NOT_AFFECTED,
                    "tester",
                    datetime.now(UTC),  # after the demo's scan: the next scan applies it
                    justification="vulnerable_code_not_present",
                    detail="checked by hand",
                ),
            )
        run_scan(engine, release="azl3")
        second = publish_release(engine, "azl3", pub, out, now=T2)
        assert (second.new, second.revised, second.unchanged) == (0, 1, len(first.paths) - 1)
        changed = [p for p in second.paths if p.read_bytes() != before[p]]
        assert len(changed) == 1
        doc = orjson.loads(changed[0].read_bytes())
        tracking = doc["document"]["tracking"]
        assert doc["vulnerabilities"][0]["cve"] == affected.cve
        assert tracking["version"] == "2" and tracking["current_release_date"] == "2026-03-02T08:30:00.000Z"
        assert "known_affected -> known_not_affected" in tracking["revision_history"][-1]["summary"]
        assert_valid(tmp_path / "valid", doc, preset="mandatory")
        with engine.connect() as conn:
            stored = load_published(conn, [tracking["id"]])[tracking["id"]]
        assert stored.version == 2 and stored.tracking == tracking
        # nothing changed since: the same bytes, document by document
        after = {p: p.read_bytes() for p in second.paths}
        third = publish_release(engine, "azl3", pub, tmp_path / "again", now=T2 + timedelta(days=1))
        assert (third.revised, third.unchanged) == (0, len(first.paths))
        assert {p.relative_to(tmp_path / "again"): p.read_bytes() for p in third.paths} == {
            p.relative_to(out): b for p, b in after.items()
        }
    finally:
        engine.dispose()


def _demo_publisher() -> CsafVexPublisher:
    return CsafVexPublisher(
        CsafVexOptions(
            release="azl3",
            product_name="Azure Linux 3.0",
            generator_version=__version__,
            publisher=DEMO_PUBLISHER,
            legal_notice=DEMO_LEGAL_NOTICE,
        )
    )  # as the demo publishes


def test_a_document_without_revisions_is_written_as_rendered() -> None:
    from cvewatch.publishing.interface import DocumentPublisher

    class Plain(DocumentPublisher):
        format_name = "plain"

        def render(self, vuln: Vulnerability, verdicts: Any) -> list[PublishedDocument]:
            return []

    doc = PublishedDocument("a.txt", b"x")
    assert Plain().revise(doc, None, T1) == (doc, None)
