"""the records a sync could not store, kept to be asked for again

Revision ID: 0009_sync_retry
Revises: 0008_verdict_scope_unique
Create Date: 2026-11-29

A run that rejected some records (malformed, or not storable as they are) still moves its source's last
successful sync, so an incremental run would never ask for them again: they are kept in ``sync_retry``
(source, CVE id, why, when, how often) and the next runs ask for each again until one stores it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sync_retry"
down_revision: str | None = "0008_verdict_scope_unique"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_retry",
        sa.Column("source", sa.String(length=60), nullable=False),
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_tried", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("source", "cve_id", name=op.f("pk_sync_retry")),
    )


def downgrade() -> None:
    op.drop_table("sync_retry")
