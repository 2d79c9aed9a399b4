"""CVE JSON 5 affected entries carry normalized lookup keys, indexed

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

A scan finds the CVE JSON 5 records naming its packages by normalized vendor, product and packageName.
Compared through lower()/replace() in SQL, every lookup read the whole table (a full cvelistV5 holds
hundreds of thousands of entries); the keys are now computed once, on insert, and indexed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SPACE = re.compile(r"\s+")


def _key(name: str | None) -> str | None:  # as cvewatch.matching.cna.normalize, frozen here
    return _SPACE.sub("_", name.strip().lower()) or None if name else None


def upgrade() -> None:
    with op.batch_alter_table("cna_affected", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vendor_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("product_key", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("package_key", sa.String(length=300), nullable=True))
    conn = op.get_bind()
    table = sa.table(
        "cna_affected",
        sa.column("cve_id", sa.String),
        sa.column("ordinal", sa.Integer),
        sa.column("vendor", sa.String),
        sa.column("product", sa.String),
        sa.column("package_name", sa.String),
        sa.column("vendor_key", sa.String),
        sa.column("product_key", sa.String),
        sa.column("package_key", sa.String),
    )
    rows = conn.execute(
        sa.select(table.c.cve_id, table.c.ordinal, table.c.vendor, table.c.product, table.c.package_name)
    ).all()
    stmt = (
        table.update()
        .where(table.c.cve_id == sa.bindparam("b_cve"), table.c.ordinal == sa.bindparam("b_ordinal"))
        .values(
            vendor_key=sa.bindparam("b_vendor"),
            product_key=sa.bindparam("b_product"),
            package_key=sa.bindparam("b_package"),
        )
    )
    values = [
        {
            "b_cve": cve,
            "b_ordinal": ordinal,
            "b_vendor": _key(vendor),
            "b_product": _key(product),
            "b_package": package.lower() if package else None,
        }
        for cve, ordinal, vendor, product, package in rows
    ]
    for start in range(0, len(values), 5000):
        conn.execute(stmt, values[start : start + 5000])
    with op.batch_alter_table("cna_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_cna_affected_vendor_product")
        batch_op.drop_index("ix_cna_affected_package_name")
        batch_op.create_index("ix_cna_affected_product_key", ["product_key", "vendor_key"], unique=False)
        batch_op.create_index("ix_cna_affected_vendor_key", ["vendor_key"], unique=False)
        batch_op.create_index("ix_cna_affected_package_key", ["package_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cna_affected", schema=None) as batch_op:
        batch_op.drop_index("ix_cna_affected_package_key")
        batch_op.drop_index("ix_cna_affected_vendor_key")
        batch_op.drop_index("ix_cna_affected_product_key")
        batch_op.create_index("ix_cna_affected_package_name", ["package_name"], unique=False)
        batch_op.create_index("ix_cna_affected_vendor_product", ["vendor", "product"], unique=False)
        batch_op.drop_column("package_key")
        batch_op.drop_column("product_key")
        batch_op.drop_column("vendor_key")
