"""What was last published under a document id: the base of revision histories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class PublishedState:
    """What was last published under a document id (the store's ``published_documents``).

    ``digest`` is a digest of the content without its tracking block; ``tracking`` the tracking block as
    published (version, revision history, dates), so unchanged content is written with the same bytes;
    ``facets`` per-section digests and product statuses, to say what a new revision changed.
    """

    document_id: str
    format: str
    path: str
    digest: str
    version: int
    tracking: dict[str, Any]
    facets: dict[str, str]
    changed_at: datetime
