"""one verdict per (CVE, package, scope) on every database: partial unique indexes, duplicates removed

Revision ID: 0008_verdict_scope_unique
Revises: 0007
Create Date: 2026-11-29

``uq_verdicts_scope`` was UNIQUE (cve_id, package, release_id, image_id), and a release's own verdicts have
no image: image_id is NULL, and SQL (PostgreSQL and SQLite alike) treats NULLs as distinct in a unique
constraint. Two scans of a release at once on PostgreSQL both inserted their verdicts, and the duplicates
stayed (a later scan compares each (CVE, package) with one stored row only).

The uniqueness is now two partial unique indexes: (cve_id, package, release_id) WHERE image_id IS NULL, and
(cve_id, package, release_id, image_id) WHERE image_id IS NOT NULL. Chosen over the alternatives:

* ``UNIQUE NULLS NOT DISTINCT`` exists on PostgreSQL 15+ only, not on SQLite nor on older servers;
* an index on ``coalesce(image_id, 0)`` is an expression index, which SQLite's reflection skips: a later
  batch migration that copies the table would drop it without a word;
* a non-null scope column would have to be written by every insert (executemany and COPY) for no gain.

Partial indexes on plain columns work on both databases and every supported version, are reflected (and so
kept by batch migrations) on both, and need nothing of the write path. Each row is in exactly one of them,
so together they cost what the old constraint's index did.

Existing duplicates are removed first, keeping per scope the newest verdict (the latest ``scanned_at``, then
the highest id: the row the last scan wrote).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_verdict_scope_unique"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RELEASE_SCOPE = "uq_verdicts_release_scope"
IMAGE_SCOPE = "uq_verdicts_image_scope"

# PARTITION BY groups NULLs together (unlike UNIQUE): a release's duplicates share one partition
_DUPLICATES = """
DELETE FROM verdicts WHERE id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (
            PARTITION BY cve_id, package, release_id, image_id ORDER BY scanned_at DESC, id DESC
        ) AS n
        FROM verdicts
    ) AS ranked
    WHERE n > 1
)
"""


def upgrade() -> None:
    op.execute(sa.text(_DUPLICATES))
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_constraint("uq_verdicts_scope", type_="unique")
    without_image = sa.text("image_id IS NULL")
    with_image = sa.text("image_id IS NOT NULL")
    op.create_index(
        RELEASE_SCOPE,
        "verdicts",
        ["cve_id", "package", "release_id"],
        unique=True,
        sqlite_where=without_image,
        postgresql_where=without_image,
    )
    op.create_index(
        IMAGE_SCOPE,
        "verdicts",
        ["cve_id", "package", "release_id", "image_id"],
        unique=True,
        sqlite_where=with_image,
        postgresql_where=with_image,
    )


def downgrade() -> None:
    op.drop_index(IMAGE_SCOPE, table_name="verdicts")
    op.drop_index(RELEASE_SCOPE, table_name="verdicts")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_verdicts_scope", ["cve_id", "package", "release_id", "image_id"]
        )
