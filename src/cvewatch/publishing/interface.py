"""What every publishing format shares: who publishes, what a rendered document is, how a format plugs in.

Renderers are pure: they turn records and verdicts into :class:`PublishedDocument` values (a relative path and
the exact bytes). Only :func:`write_documents` touches the file system.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import ClassVar

from cvewatch.model.published import PublishedState
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import EvidenceKind, Verdict

DEMO_PUBLISHER_NAME = "cvewatch demo distribution"
DEMO_PUBLISHER_NAMESPACE = "https://cvewatch.example/"


@dataclass(frozen=True, slots=True)
class Publisher:
    """The issuing party of a document (CSAF ``document.publisher``; reused by the other formats).

    ``namespace`` is a URL the publisher controls, a globally unique id for it. ``category`` is one of CSAF's
    publisher categories; a distribution speaking about its own packages is a ``vendor``. There is no
    default: a distribution's documents name its own publisher (``cvewatch publish csaf --publisher-name``
    or the ``[publisher]`` settings), the demo's (:data:`DEMO_PUBLISHER`) is for the demo only.
    """

    name: str
    namespace: str
    category: str = "vendor"
    contact_details: str | None = None
    issuing_authority: str | None = None


DEMO_PUBLISHER = Publisher(
    name=DEMO_PUBLISHER_NAME,
    namespace=DEMO_PUBLISHER_NAMESPACE,
    contact_details="cvewatch demo distribution security team: https://cvewatch.example/security",
    issuing_authority="The cvewatch demo distribution publishes statements about the packages it ships.",
)


def legal_notice_for(publisher_name: str) -> str:
    """The terms of use note of a document issued by ``publisher_name``."""
    return (
        f"This document is provided 'as is' by {publisher_name}, without warranty of any kind. "
        "The statements it makes were derived automatically from public vulnerability records and the "
        "distribution's package sources; check them against your own deployment."
    )


#: the demo's terms of use (a real publisher's documents get :func:`legal_notice_for` its name)
DEMO_LEGAL_NOTICE = legal_notice_for("the cvewatch demo distribution")


@dataclass(frozen=True, slots=True)
class PublishedDocument:
    """One rendered file; ``path`` is relative, POSIX-style: ``2023/cvewatch-azl3-cve-2023-38545.json``.
    ``document_id`` (a CSAF ``tracking.id``) names the document across publishes, for its revisions."""

    path: str
    content: bytes
    document_id: str | None = None

    def __post_init__(self) -> None:
        p = PurePosixPath(self.path)
        if not self.path or p.is_absolute() or ".." in p.parts or "\\" in self.path:
            raise ValueError(f"document path must be relative and inside the output folder: {self.path!r}")


class DocumentPublisher(ABC):
    """A publishing format: renders the documents for one CVE and the verdicts of one release.

    CSAF VEX, CSAF security advisories, OVAL, OSV and CVRF all implement this, so a caller can loop over the
    configured formats the same way.
    """

    #: short format key, e.g. ``"csaf-vex"``
    format_name: str

    #: the evidence kinds the format has a rendering for. It must be every :class:`EvidenceKind` (a test
    #: checks each registered format), and rendering a verdict with another kind is an error, never a
    #: silently dropped or guessed statement.
    evidence_kinds: ClassVar[frozenset[EvidenceKind]] = frozenset()

    @abstractmethod
    def render(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> list[PublishedDocument]:
        """Render the documents for ``vuln`` from ``verdicts``; pure and deterministic."""

    def revise(
        self, doc: PublishedDocument, previous: PublishedState | None, now: datetime
    ) -> tuple[PublishedDocument, PublishedState | None]:
        """The document to write, given what was last published under its id, and what to keep of it.

        A format with revisions (CSAF's ``tracking``) gives unchanged content the bytes published before
        and changed content the next version, dated ``now``. This default, for formats without revisions,
        writes ``doc`` as rendered and keeps nothing.
        """
        return doc, None


def write_documents(docs: Iterable[PublishedDocument], out_dir: Path) -> list[Path]:
    """Write each document under ``out_dir`` (creating folders); return the written paths in input order."""
    written: list[Path] = []
    for doc in docs:
        target = out_dir.joinpath(*PurePosixPath(doc.path).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(doc.content)
        written.append(target)
    return written
