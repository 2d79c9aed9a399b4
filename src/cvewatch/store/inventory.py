"""Reading and writing releases, their source packages and node images."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, Table, cast, delete, func, insert, select, true

from cvewatch.errors import NotFoundError
from cvewatch.model.packages import ChangelogEntry, InstalledPackage, PatchFile, SourcePackage, TriageFile
from cvewatch.store.components import insert_spec_facts, load_spec_facts
from cvewatch.store.models import (
    BinaryPackageRow,
    ChangelogEntryRow,
    InstalledPackageRow,
    NodeImageRow,
    PatchRow,
    ReleaseRow,
    SourcePackageRow,
    TriageFileRow,
)

T_RELEASE: Table = ReleaseRow.__table__  # type: ignore[assignment]
T_SRC: Table = SourcePackageRow.__table__  # type: ignore[assignment]
T_BIN: Table = BinaryPackageRow.__table__  # type: ignore[assignment]
T_PATCH: Table = PatchRow.__table__  # type: ignore[assignment]
T_TRIAGE: Table = TriageFileRow.__table__  # type: ignore[assignment]
T_CHLOG: Table = ChangelogEntryRow.__table__  # type: ignore[assignment]
T_IMAGE: Table = NodeImageRow.__table__  # type: ignore[assignment]
T_INST: Table = InstalledPackageRow.__table__  # type: ignore[assignment]


def _package_key(p: SourcePackage) -> tuple[Any, ...]:
    """What makes a stored package 'changed' for incremental rescans."""
    return (
        p.epoch,
        p.version,
        p.release,
        tuple(sorted(p.subpackages)),
        tuple(sorted(p.own_version)),
        tuple(sorted((x.filename, tuple(x.cves), x.present) for x in p.patches)),
        tuple(sorted((t.cve, t.justification) for t in p.triage)),
        tuple((c.evr, c.cves) for c in p.changelog),
        tuple(p.build_requires),
        tuple(p.provides),
    )


def release_id(conn: Connection, name: str) -> int:
    rid = conn.execute(select(T_RELEASE.c.id).where(T_RELEASE.c.name == name)).scalar()
    if rid is None:
        known = ", ".join(r for (r,) in conn.execute(select(T_RELEASE.c.name).order_by(T_RELEASE.c.name)))
        raise NotFoundError(
            f"no release named {name!r} in the store (known: {known or 'none'}); "
            "load one with `cvewatch inventory load-specs DIR --release NAME`"
        )
    return int(rid)


def release_dist(conn: Connection, name: str) -> str | None:
    """The dist tag the release's specs were read with (``.azl3``); :class:`NotFoundError` for no release."""
    rid = release_id(conn, name)
    return conn.execute(select(T_RELEASE.c.dist).where(T_RELEASE.c.id == rid)).scalar()


def ensure_release(conn: Connection, name: str, dist: str | None = None) -> int:
    rid = conn.execute(select(T_RELEASE.c.id).where(T_RELEASE.c.name == name)).scalar()
    now = datetime.now(UTC)
    if rid is None:
        res = conn.execute(insert(T_RELEASE).values(name=name, dist=dist, loaded_at=now))
        return int(res.inserted_primary_key[0])  # type: ignore[index]
    conn.execute(T_RELEASE.update().where(T_RELEASE.c.id == rid).values(loaded_at=now, dist=dist))
    return int(rid)


def replace_release_packages(
    conn: Connection, release: str, packages: Sequence[SourcePackage], *, dist: str | None = None
) -> tuple[int, int, int]:
    """Make the release's packages equal ``packages``. Unchanged packages keep their row and
    ``changed_at``; returns (added, changed, removed)."""
    rid = ensure_release(conn, release, dist)
    existing = {p.name: p for p in load_release_packages(conn, release)}
    ids = dict(conn.execute(select(T_SRC.c.name, T_SRC.c.id).where(T_SRC.c.release_id == rid)).all())
    wanted = {p.name: p for p in packages}
    removed = [n for n in existing if n not in wanted]
    changed = [n for n, p in wanted.items() if n in existing and _package_key(existing[n]) != _package_key(p)]
    added = [n for n in wanted if n not in existing]
    gone_ids = [ids[n] for n in removed + changed]
    for start in range(0, len(gone_ids), 500):
        conn.execute(delete(T_SRC).where(T_SRC.c.id.in_(gone_ids[start : start + 500])))
    now = datetime.now(UTC)
    for name in sorted(added + changed):
        _insert_package(conn, rid, wanted[name], now)
    return len(added), len(changed), len(removed)


def _insert_package(conn: Connection, rid: int, p: SourcePackage, now: datetime) -> None:
    """One source package of release ``rid``: its row, and its binaries, patches, triage files, changelog
    entries and spec facts."""
    res = conn.execute(
        insert(T_SRC).values(
            release_id=rid,
            name=p.name,
            epoch=p.epoch,
            version=p.version,
            release=p.release,
            url=p.url,
            source0=p.source0,
            spec_path=p.spec_path,
            changed_at=now,
        )
    )
    sid = int(res.inserted_primary_key[0])  # type: ignore[index]
    if p.subpackages:
        own = set(p.own_version)
        conn.execute(
            insert(T_BIN),
            [
                {"source_package_id": sid, "name": b, "own_version": b in own}
                for b in sorted(set(p.subpackages))
            ],
        )
    if p.patches:
        conn.execute(
            insert(T_PATCH),
            [
                {
                    "source_package_id": sid,
                    "filename": x.filename,
                    "number": x.number,
                    "cves": list(x.cves),
                    "present": x.present,
                }
                for x in p.patches
            ],
        )
    triage = {t.cve: t for t in p.triage}
    if triage:
        conn.execute(
            insert(T_TRIAGE),
            [
                {"source_package_id": sid, "cve": t.cve, "justification": t.justification}
                for t in triage.values()
            ],
        )
    if p.changelog:
        conn.execute(
            insert(T_CHLOG),
            [
                {
                    "source_package_id": sid,
                    "ordinal": i,
                    "date": c.date,
                    "author": c.author,
                    "evr": c.evr,
                    "text": c.text,
                    "cves": list(c.cves),
                }
                for i, c in enumerate(p.changelog)
            ],
        )
    insert_spec_facts(conn, sid, p)


def load_release_packages(
    conn: Connection, release: str, *, changed_since: datetime | None = None, cve_changelog_only: bool = False
) -> list[SourcePackage]:
    """The release's packages. ``cve_changelog_only`` leaves out the %changelog entries that cite no CVE
    (all a scan needs; a tree's whole changelog is ten times larger)."""
    rid = release_id(conn, release)
    stmt = select(T_SRC).where(T_SRC.c.release_id == rid).order_by(T_SRC.c.name)
    if changed_since is not None:
        stmt = stmt.where(T_SRC.c.changed_at > changed_since)
    rows = conn.execute(stmt).all()
    if not rows:
        return []
    # every table read once, for the packages the statement above selects (no id lists to bind)
    sids = select(T_SRC.c.id).where(stmt.whereclause if stmt.whereclause is not None else true())
    bins: dict[int, list[str]] = defaultdict(list)
    own_version: dict[int, list[str]] = defaultdict(list)
    patches: dict[int, list[PatchFile]] = defaultdict(list)
    triage: dict[int, list[TriageFile]] = defaultdict(list)
    chlog: dict[int, list[ChangelogEntry]] = defaultdict(list)
    facts = load_spec_facts(conn, sids)
    for b in conn.execute(select(T_BIN).where(T_BIN.c.source_package_id.in_(sids)).order_by(T_BIN.c.id)):
        bins[b.source_package_id].append(b.name)
        if b.own_version:
            own_version[b.source_package_id].append(b.name)
    for x in conn.execute(
        select(T_PATCH).where(T_PATCH.c.source_package_id.in_(sids)).order_by(T_PATCH.c.id)
    ):
        patches[x.source_package_id].append(PatchFile(x.filename, x.number, tuple(x.cves), x.present))
    for t in conn.execute(
        select(T_TRIAGE).where(T_TRIAGE.c.source_package_id.in_(sids)).order_by(T_TRIAGE.c.cve)
    ):
        triage[t.source_package_id].append(TriageFile(t.cve, t.justification))
    chlog_stmt = select(T_CHLOG).where(T_CHLOG.c.source_package_id.in_(sids)).order_by(T_CHLOG.c.ordinal)
    if cve_changelog_only:
        chlog_stmt = chlog_stmt.where(cast(T_CHLOG.c.cves, String) != "[]")
    for c in conn.execute(chlog_stmt):
        chlog[c.source_package_id].append(ChangelogEntry(c.date, c.author, c.evr, c.text, tuple(c.cves)))
    return [
        SourcePackage(
            name=r.name,
            epoch=r.epoch,
            version=r.version,
            release=r.release,
            subpackages=tuple(bins[r.id]),
            patches=tuple(patches[r.id]),
            triage=tuple(triage[r.id]),
            changelog=tuple(chlog[r.id]),
            url=r.url,
            source0=r.source0,
            spec_path=r.spec_path,
            build_requires=facts.get(r.id, ((), ()))[0],
            provides=facts.get(r.id, ((), ()))[1],
            own_version=tuple(own_version[r.id]),
        )
        for r in rows
    ]


def replace_image(
    conn: Connection, name: str, release: str, packages: Sequence[InstalledPackage], kernel: str | None = None
) -> int:
    rid = release_id(conn, release)
    conn.execute(delete(T_IMAGE).where(T_IMAGE.c.name == name))
    res = conn.execute(
        insert(T_IMAGE).values(name=name, release_id=rid, kernel=kernel, loaded_at=datetime.now(UTC))
    )
    iid = int(res.inserted_primary_key[0])  # type: ignore[index]
    if packages:
        conn.execute(
            insert(T_INST),
            [
                {
                    "image_id": iid,
                    "name": p.name,
                    "epoch": p.epoch,
                    "version": p.version,
                    "release": p.release,
                    "arch": p.arch,
                    "source_rpm": p.source_rpm,
                }
                for p in packages
            ],
        )
    return iid


def image_id(conn: Connection, name: str) -> tuple[int, str]:
    """(image id, release name) of the node image ``name``."""
    row = conn.execute(
        select(T_IMAGE.c.id, T_RELEASE.c.name)
        .join(T_RELEASE, T_RELEASE.c.id == T_IMAGE.c.release_id)
        .where(T_IMAGE.c.name == name)
    ).first()
    if row is None:
        known = ", ".join(r for (r,) in conn.execute(select(T_IMAGE.c.name).order_by(T_IMAGE.c.name)))
        raise NotFoundError(
            f"no node image named {name!r} in the store (known: {known or 'none'}); "
            "load one with `cvewatch inventory load-image FILE --name NAME --release NAME`"
        )
    return int(row[0]), str(row[1])


def load_image_packages(conn: Connection, name: str) -> list[InstalledPackage]:
    iid, _ = image_id(conn, name)
    return [
        InstalledPackage(r.name, r.epoch, r.version, r.release, r.arch, r.source_rpm)
        for r in conn.execute(select(T_INST).where(T_INST.c.image_id == iid).order_by(T_INST.c.name))
    ]


def missing_packages(conn: Connection, names: Iterable[str], release: str | None = None) -> list[str]:
    """The ``names`` that are no source package of ``release`` (of any release when None), sorted."""
    wanted = sorted(set(names))
    stmt = select(T_SRC.c.name).where(T_SRC.c.name.in_(wanted)).distinct()
    if release is not None:
        stmt = stmt.where(T_SRC.c.release_id == release_id(conn, release))
    found = set(conn.execute(stmt).scalars()) if wanted else set()
    return [n for n in wanted if n not in found]


def list_releases(conn: Connection) -> list[tuple[str, int]]:
    """Every release with its number of source packages, by name."""
    stmt = (
        select(T_RELEASE.c.name, func.count(T_SRC.c.id))
        .join(T_SRC, T_SRC.c.release_id == T_RELEASE.c.id, isouter=True)
        .group_by(T_RELEASE.c.name)
        .order_by(T_RELEASE.c.name)
    )
    return [(str(n), int(c)) for n, c in conn.execute(stmt)]
