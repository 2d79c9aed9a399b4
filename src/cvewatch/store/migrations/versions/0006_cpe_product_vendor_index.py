"""the cpe_matches name index leads with the product

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

A scan looks criteria up by (vendor, product) for curated packages and by product alone (any vendor)
for the others: an index on (product, vendor) serves both, the former (vendor, product) only the first,
so that the candidate query scanned the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cpe_matches", schema=None) as batch_op:
        batch_op.drop_index("ix_cpe_matches_vendor_product")
        batch_op.create_index("ix_cpe_matches_product_vendor", ["product", "vendor"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cpe_matches", schema=None) as batch_op:
        batch_op.drop_index("ix_cpe_matches_product_vendor")
        batch_op.create_index("ix_cpe_matches_vendor_product", ["vendor", "product"], unique=False)
