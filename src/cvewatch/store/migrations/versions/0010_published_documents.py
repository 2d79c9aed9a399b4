"""published_documents: what was last published per document id, so a changed document gets a revision

Revision ID: 0010_published_documents
Revises: 0009_sync_retry
Create Date: 2026-12-04

A CSAF document moved from known_affected to known_not_affected after a triage while its
tracking.version stayed 1. Each publish now compares a digest of the content (without the tracking
block) with the stored one: unchanged content keeps its tracking block (same bytes), changed content gets
the next version, a revision history entry and a new current_release_date.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_published_documents"
down_revision: str | None = "0009_sync_retry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_documents",
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tracking", sa.JSON(), nullable=False),
        sa.Column("facets", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_published_documents")),
    )


def downgrade() -> None:
    op.drop_table("published_documents")
