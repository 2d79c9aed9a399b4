"""Publishing a release's stored verdicts with one or more document publishers."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from sqlalchemy import Engine

from cvewatch.matching.verdict import Verdict
from cvewatch.publishing.interface import DocumentPublisher, PublishedDocument, write_documents
from cvewatch.store.verdicts import load_verdicts
from cvewatch.store.vulnerabilities import load_vulnerabilities


def render_release(engine: Engine, release: str, publisher: DocumentPublisher) -> list[PublishedDocument]:
    """Render the documents for every CVE with a verdict in ``release`` (release scan, not image)."""
    with engine.connect() as conn:
        verdicts = load_verdicts(conn, release)
        by_cve: dict[str, list[Verdict]] = defaultdict(list)
        for v in verdicts:
            by_cve[v.cve].append(v)
        docs: list[PublishedDocument] = []
        for vuln in load_vulnerabilities(conn, sorted(by_cve)):
            docs.extend(publisher.render(vuln, by_cve[vuln.id]))
    return sorted(docs, key=lambda d: d.path)


def publish_release(engine: Engine, release: str, publisher: DocumentPublisher, out_dir: Path) -> list[Path]:
    return write_documents(render_release(engine, release, publisher), out_dir)
