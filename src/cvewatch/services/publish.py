"""Publishing a release's stored verdicts with one or more document publishers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from cvewatch import __version__
from cvewatch.errors import InputError
from cvewatch.model.verdicts import Verdict
from cvewatch.publishing.csaf_vex import CsafVexOptions, CsafVexPublisher
from cvewatch.publishing.interface import DocumentPublisher, PublishedDocument, Publisher, write_documents
from cvewatch.store.inventory import release_id
from cvewatch.store.published import load_published, save_published
from cvewatch.store.verdicts import load_verdicts
from cvewatch.store.vulnerabilities import load_vulnerabilities


@dataclass(frozen=True, slots=True)
class PublishReport:
    paths: list[Path]  # every document written, in path order
    new: int = 0  # published for the first time
    revised: int = 0  # content changed: a new version
    unchanged: int = 0  # written with the bytes published before


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


def publish_release(
    engine: Engine,
    release: str,
    publisher: DocumentPublisher,
    out_dir: Path,
    *,
    now: datetime | None = None,
) -> PublishReport:
    """Render, revise against what was published before (:meth:`DocumentPublisher.revise`) and write the
    release's documents. What is published is stored in the same transaction as the files are written: a
    write that fails stores nothing, and the next publish starts from the same documents again. ``now``
    (default: the clock) dates the revisions of changed documents."""
    docs = render_release(engine, release, publisher)
    stamp = now or datetime.now(UTC)
    new = revised = unchanged = 0
    with engine.begin() as conn:
        previous = load_published(conn, [d.document_id for d in docs if d.document_id])
        final: list[PublishedDocument] = []
        keep = []
        for doc in docs:
            prev = previous.get(doc.document_id) if doc.document_id else None
            out_doc, state = publisher.revise(doc, prev, stamp)
            final.append(out_doc)
            if state is None:
                continue
            if prev is None:
                new += 1
            elif state.digest == prev.digest:
                unchanged += 1
            else:
                revised += 1
            if state != prev:
                keep.append(state)
        save_published(conn, keep)
        paths = write_documents(final, out_dir)
    return PublishReport(paths, new, revised, unchanged)


def publish_csaf(
    engine: Engine, release: str, publisher: Publisher, out_dir: Path, *, product_name: str | None = None
) -> PublishReport:
    """One CSAF 2.0 VEX document per CVE with a verdict in ``release``, issued by ``publisher``, under
    ``out_dir``. An unknown release, or an output folder that cannot be made, is an error before anything
    is written."""
    with engine.connect() as conn:
        release_id(conn, release)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a folder", str(out_dir))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror or exc}", str(out_dir)) from exc
    csaf = CsafVexPublisher(
        CsafVexOptions(
            release=release,
            product_name=product_name or release,
            generator_version=__version__,
            publisher=publisher,
        )
    )
    return publish_release(engine, release, csaf, out_dir)
