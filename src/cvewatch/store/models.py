"""SQLAlchemy 2 models: the schema of the store. Alembic migrations in ``migrations/`` mirror it."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cvewatch.store.types import UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


#: every point in time of the store: written in UTC, read back aware in UTC on every database
UTC_DT = UtcDateTime()


# --- vulnerabilities -------------------------------------------------------------------------------


class VulnerabilityRow(Base):
    __tablename__ = "vulnerabilities"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_identifier: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[datetime] = mapped_column(UTC_DT)
    last_modified: Mapped[datetime] = mapped_column(UTC_DT, index=True)
    status: Mapped[str] = mapped_column(String(40))
    descriptions: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    cisa_kev: Mapped[bool] = mapped_column(Boolean, default=False)
    stored_at: Mapped[datetime] = mapped_column(UTC_DT, index=True)


class CvssMetricRow(Base):
    __tablename__ = "cvss_metrics"

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(8))
    vector: Mapped[str] = mapped_column(String(300))
    base_score: Mapped[float] = mapped_column(Float)
    base_severity: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))


class WeaknessRow(Base):
    __tablename__ = "weaknesses"

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    cwe: Mapped[str] = mapped_column(String(40))


class ReferenceRow(Base):
    __tablename__ = "cve_references"

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSON)


class ConfigurationRow(Base):
    """A configuration; natural keys (cve, ordinals) let a whole record be written in bulk."""

    __tablename__ = "configurations"

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str | None] = mapped_column(String(8))
    negate: Mapped[bool] = mapped_column(Boolean, default=False)


class ConfigNodeRow(Base):
    __tablename__ = "config_nodes"

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    config_ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator: Mapped[str] = mapped_column(String(8))
    negate: Mapped[bool] = mapped_column(Boolean, default=False)


class CpeMatchRow(Base):
    """One cpeMatch criterion; ``vendor``/``product`` are split out of ``criteria`` for candidate lookup."""

    __tablename__ = "cpe_matches"
    # product first: curated packages are looked up by (vendor, product), the others by product alone
    __table_args__ = (Index("ix_cpe_matches_product_vendor", "product", "vendor"),)

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("vulnerabilities.id", ondelete="CASCADE"), primary_key=True
    )
    config_ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    criteria: Mapped[str] = mapped_column(Text)
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    vulnerable: Mapped[bool] = mapped_column(Boolean)
    version_start_including: Mapped[str | None] = mapped_column(String(100))
    version_start_excluding: Mapped[str | None] = mapped_column(String(100))
    version_end_including: Mapped[str | None] = mapped_column(String(100))
    version_end_excluding: Mapped[str | None] = mapped_column(String(100))
    match_criteria_id: Mapped[str | None] = mapped_column(String(64))


# --- inventory -------------------------------------------------------------------------------------


class ReleaseRow(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    dist: Mapped[str | None] = mapped_column(String(40))
    loaded_at: Mapped[datetime] = mapped_column(UTC_DT)


class SourcePackageRow(Base):
    __tablename__ = "source_packages"
    __table_args__ = (UniqueConstraint("release_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[str] = mapped_column(String(100))
    release: Mapped[str] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(Text)
    source0: Mapped[str | None] = mapped_column(Text)
    spec_path: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(UTC_DT)


class BinaryPackageRow(Base):
    __tablename__ = "binary_packages"
    __table_args__ = (UniqueConstraint("source_package_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_package_id: Mapped[int] = mapped_column(
        ForeignKey("source_packages.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), index=True)
    # the binary's %package section sets its own Version or Epoch: its EVR is not the source build's
    own_version: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PatchRow(Base):
    __tablename__ = "patches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_package_id: Mapped[int] = mapped_column(
        ForeignKey("source_packages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(Text)
    number: Mapped[int | None] = mapped_column(Integer)
    cves: Mapped[list[str]] = mapped_column(JSON)
    present: Mapped[bool] = mapped_column(Boolean, default=True)


class TriageFileRow(Base):
    __tablename__ = "triage_files"
    __table_args__ = (UniqueConstraint("source_package_id", "cve"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_package_id: Mapped[int] = mapped_column(
        ForeignKey("source_packages.id", ondelete="CASCADE"), index=True
    )
    cve: Mapped[str] = mapped_column(String(32), index=True)
    justification: Mapped[str] = mapped_column(Text, default="")


class ChangelogEntryRow(Base):
    __tablename__ = "changelog_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_package_id: Mapped[int] = mapped_column(
        ForeignKey("source_packages.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int] = mapped_column(Integer)
    date: Mapped[date | None] = mapped_column(Date)
    author: Mapped[str] = mapped_column(Text)
    evr: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    cves: Mapped[list[str]] = mapped_column(JSON)


class NodeImageRow(Base):
    __tablename__ = "node_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    kernel: Mapped[str | None] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTC_DT)


class InstalledPackageRow(Base):
    __tablename__ = "installed_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("node_images.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[str] = mapped_column(String(100))
    release: Mapped[str] = mapped_column(String(100))
    arch: Mapped[str | None] = mapped_column(String(20))
    source_rpm: Mapped[str | None] = mapped_column(String(300))  # rpm's SOURCERPM, when the input names it


# --- verdicts and sync state -----------------------------------------------------------------------


class VerdictRow(Base):
    __tablename__ = "verdicts"
    __table_args__ = (
        # one verdict per (CVE, package, scope): a release's own verdicts have no image, and a unique
        # constraint over a NULL image_id would not hold them unique (migration 0008)
        Index(
            "uq_verdicts_release_scope",
            "cve_id",
            "package",
            "release_id",
            unique=True,
            sqlite_where=text("image_id IS NULL"),
            postgresql_where=text("image_id IS NULL"),
        ),
        Index(
            "uq_verdicts_image_scope",
            "cve_id",
            "package",
            "release_id",
            "image_id",
            unique=True,
            sqlite_where=text("image_id IS NOT NULL"),
            postgresql_where=text("image_id IS NOT NULL"),
        ),
        # a rescan replaces a scope's verdicts by CVE or by package: both lead with the scope
        Index("ix_verdicts_scope_cve", "release_id", "image_id", "cve_id"),
        Index("ix_verdicts_scope_package", "release_id", "image_id", "package"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cve_id: Mapped[str] = mapped_column(String(32), index=True)
    package: Mapped[str] = mapped_column(String(200))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    image_id: Mapped[int | None] = mapped_column(ForeignKey("node_images.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), index=True)
    fixed_in: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(12))
    cvss: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    # when a scan last changed this verdict (a rescan that decides the same leaves the row alone)
    scanned_at: Mapped[datetime] = mapped_column(UTC_DT)
    # 16 hex digits of a hash of everything above but the scope: what a rescan compares
    digest: Mapped[str | None] = mapped_column(String(16))


class SyncStateRow(Base):
    """Per source: the last successful sync and a resumable cursor."""

    __tablename__ = "sync_state"

    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_success: Mapped[datetime | None] = mapped_column(UTC_DT)
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SyncRunRow(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(60), index=True)
    origin: Mapped[str] = mapped_column(Text)
    started: Mapped[datetime] = mapped_column(UTC_DT)
    finished: Mapped[datetime | None] = mapped_column(UTC_DT)
    status: Mapped[str] = mapped_column(String(16))  # running, ok, partial, failed
    pages: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[list[str]] = mapped_column(JSON)


class SyncRetryRow(Base):
    """A record a sync could not store (malformed, or not storable as it is), asked for again by the next
    runs of its source until one stores it (migration 0009_sync_retry)."""

    __tablename__ = "sync_retry"

    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)  # why the last attempt could not store it
    first_seen: Mapped[datetime] = mapped_column(UTC_DT)
    last_tried: Mapped[datetime] = mapped_column(UTC_DT)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    run_id: Mapped[int | None] = mapped_column(Integer)  # the run that last failed to store it


# --- other sources: CVE JSON 5, CISA KEV, FIRST EPSS (migration 0002) ----------------------------------


class Cve5RecordRow(Base):
    """A CVE JSON 5 record's header; kept next to the NVD record, not inside it."""

    __tablename__ = "cve5_records"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # PUBLISHED, REJECTED
    assigner: Mapped[str | None] = mapped_column(String(200))
    date_published: Mapped[datetime | None] = mapped_column(UTC_DT)
    date_updated: Mapped[datetime | None] = mapped_column(UTC_DT, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # CNA and ADP CVSS, with their source
    problem_types: Mapped[list[str]] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(UTC_DT, index=True)


class CnaAffectedRow(Base):
    """One ``affected[]`` entry of a CNA or ADP container (product, versions, cpes)."""

    __tablename__ = "cna_affected"
    __table_args__ = (
        Index("ix_cna_affected_product_key", "product_key", "vendor_key"),
        Index("ix_cna_affected_vendor_key", "vendor_key"),
        Index("ix_cna_affected_package_key", "package_key"),
    )

    cve_id: Mapped[str] = mapped_column(
        ForeignKey("cve5_records.cve_id", ondelete="CASCADE"), primary_key=True
    )
    ordinal: Mapped[int] = mapped_column(Integer, primary_key=True)
    container: Mapped[str] = mapped_column(String(100))  # "cna" or "adp:<shortName>"
    vendor: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    package_name: Mapped[str | None] = mapped_column(String(300))
    # lookup keys, computed on insert: vendor and product as cvewatch.matching.cna.normalize makes them
    # (lower case, whitespace runs as "_"), the packageName in lower case
    vendor_key: Mapped[str | None] = mapped_column(String(200))
    product_key: Mapped[str | None] = mapped_column(String(200))
    package_key: Mapped[str | None] = mapped_column(String(300))
    collection_url: Mapped[str | None] = mapped_column(Text)
    default_status: Mapped[str | None] = mapped_column(String(20))
    versions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    cpes: Mapped[list[str]] = mapped_column(JSON)


class KevEntryRow(Base):
    __tablename__ = "kev_entries"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_project: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    required_action: Mapped[str | None] = mapped_column(Text)
    known_ransomware: Mapped[str | None] = mapped_column(String(20))
    catalog_version: Mapped[str | None] = mapped_column(String(40))


class EpssScoreRow(Base):
    __tablename__ = "epss_scores"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    score_date: Mapped[date | None] = mapped_column(Date)
    model_version: Mapped[str | None] = mapped_column(String(40))


# --- triage, components, scans (migration 0002) ----------------------------------------------------------


class TriageRecordRow(Base):
    """A person's decision on a (CVE, package[, release]) in the VEX vocabulary; overrides the matcher."""

    __tablename__ = "triage_records"
    __table_args__ = (Index("ix_triage_records_cve_package", "cve_id", "package"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cve_id: Mapped[str] = mapped_column(String(32))
    package: Mapped[str] = mapped_column(String(200))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(24))  # affected, fixed, not_affected, under_investigation
    justification: Mapped[str | None] = mapped_column(String(80))  # VEX justification label
    fixed_in: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTC_DT)


class ComponentRow(Base):
    """Something a source package carries inside: a bundled library, a vendored module, a toolchain."""

    __tablename__ = "components"
    __table_args__ = (Index("ix_components_name", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_package_id: Mapped[int] = mapped_column(
        ForeignKey("source_packages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # bundled, golang, cargo, npm, toolchain, generic
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[str | None] = mapped_column(String(100))
    purl: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(40))  # bundled-tag, sbom, go-version-m, buildrequires
    detail: Mapped[str] = mapped_column(Text, default="")


class ScanRunRow(Base):
    """Every scan of a release or image; incremental rescans start from the last one."""

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int | None] = mapped_column(ForeignKey("node_images.id", ondelete="CASCADE"))
    started: Mapped[datetime] = mapped_column(UTC_DT)
    finished: Mapped[datetime | None] = mapped_column(UTC_DT)
    mode: Mapped[str] = mapped_column(String(12))  # full, incremental
    mapping_digest: Mapped[str | None] = mapped_column(String(64))  # a changed mapping forces a full scan
    rules_version: Mapped[int | None] = mapped_column(Integer)  # so do changed decision rules
    cves_evaluated: Mapped[int] = mapped_column(Integer, default=0)
    packages_evaluated: Mapped[int] = mapped_column(Integer, default=0)
    verdicts: Mapped[int] = mapped_column(Integer, default=0)


# --- publishing ------------------------------------------------------------------------------------


class PublishedDocumentRow(Base):
    """What was last published under a document id (a CSAF ``tracking.id``): a digest of the content
    without its tracking block, and the tracking block as published (version, revision history, dates).
    A publish compares with it: the same content is written with the same bytes again, changed content
    gets the next version and a revision history entry."""

    __tablename__ = "published_documents"

    document_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    format: Mapped[str] = mapped_column(String(20))  # csaf-vex
    path: Mapped[str] = mapped_column(String(300))  # where it was written, relative to the output folder
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of the content without the tracking block
    version: Mapped[int] = mapped_column(Integer)
    tracking: Mapped[dict[str, Any]] = mapped_column(JSON)  # the tracking block as published
    facets: Mapped[dict[str, str]] = mapped_column(JSON)  # per section digests and product statuses
    changed_at: Mapped[datetime] = mapped_column(UTC_DT)  # when the content last changed
