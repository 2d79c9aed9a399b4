"""binary_packages.own_version and installed_packages.source_rpm: a binary's source build

Revision ID: 0011_binary_source_facts
Revises: 0010_published_documents
Create Date: 2026-12-04

A node image's perl was scanned at the version of perl-Text-Tabs+Wrap (2021.0814-514), a subpackage with
its own Version, instead of its source build's (4:5.38.2-514). The store now keeps which binaries a spec
builds with their own Version or Epoch, and the SOURCERPM of an installed binary when the input names it
(cvewatch.inventory.binaries). Existing rows get false / NULL: load the spec tree again to fill
own_version.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_binary_source_facts"
down_revision: str | None = "0010_published_documents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("binary_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("own_version", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("installed_packages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_rpm", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("installed_packages", schema=None) as batch_op:
        batch_op.drop_column("source_rpm")
    with op.batch_alter_table("binary_packages", schema=None) as batch_op:
        batch_op.drop_column("own_version")
