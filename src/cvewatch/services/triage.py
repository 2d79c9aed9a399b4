"""Triage: a person's decision on a (CVE, source package), which overrides the matcher at the next scan."""

from __future__ import annotations

from sqlalchemy import Engine

from cvewatch.model.triage import TriageRecord
from cvewatch.services.inventory import require_packages
from cvewatch.store.inventory import release_id
from cvewatch.store.triage import add_triage, load_triage

__all__ = ["list_triage", "record_triage"]


def record_triage(engine: Engine, record: TriageRecord, *, package_option: str = "package") -> TriageRecord:
    """Store ``record``. Its release must exist and its package must be a source package of it (of some
    release in the store for a record without one): :class:`~cvewatch.errors.NotFoundError` otherwise,
    naming ``package_option``, and nothing is stored."""
    with engine.begin() as conn:
        if record.release is not None:
            release_id(conn, record.release)
        require_packages(conn, [record.package], record.release, package_option)
        add_triage(conn, record)
    return record


def list_triage(engine: Engine, release: str | None = None) -> list[TriageRecord]:
    """The records in force for ``release`` (for every release without one), by CVE and package."""
    with engine.connect() as conn:
        return sorted(load_triage(conn, release).values(), key=lambda r: (r.cve, r.package))
