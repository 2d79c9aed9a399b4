"""What was published under each document id (``published_documents``): the base of a document's revisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, Table, delete, insert, select

from cvewatch.model.published import PublishedState
from cvewatch.store.models import PublishedDocumentRow

T_PUBLISHED: Table = PublishedDocumentRow.__table__  # type: ignore[assignment]


def load_published(conn: Connection, document_ids: Iterable[str]) -> dict[str, PublishedState]:
    """document id -> what was last published under it, for the ids that were published."""
    ids = sorted(set(document_ids))
    out: dict[str, PublishedState] = {}
    c = T_PUBLISHED.c
    for start in range(0, len(ids), 500):
        for r in conn.execute(select(T_PUBLISHED).where(c.document_id.in_(ids[start : start + 500]))):
            out[r.document_id] = PublishedState(
                r.document_id,
                r.format,
                r.path,
                r.digest,
                r.version,
                dict(r.tracking),
                dict(r.facets),
                r.changed_at,
            )
    return out


def save_published(conn: Connection, states: Sequence[PublishedState]) -> None:
    """Store ``states``, replacing what was stored under their ids."""
    ids = [s.document_id for s in states]
    for start in range(0, len(ids), 500):
        conn.execute(delete(T_PUBLISHED).where(T_PUBLISHED.c.document_id.in_(ids[start : start + 500])))
    rows = [
        {
            "document_id": s.document_id,
            "format": s.format,
            "path": s.path,
            "digest": s.digest,
            "version": s.version,
            "tracking": s.tracking,
            "facets": s.facets,
            "changed_at": s.changed_at,
        }
        for s in states
    ]
    for start in range(0, len(rows), 1000):
        conn.execute(insert(T_PUBLISHED), rows[start : start + 1000])
