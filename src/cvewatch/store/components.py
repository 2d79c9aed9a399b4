"""Components of a release's source packages in the ``components`` table.

Rows by origin:

* ``bundled-tag`` and ``buildrequires`` are derived from the specs at every ``inventory load-specs``
  (:func:`replace_spec_components`);
* ``sbom`` and ``go-version-m`` come from ``inventory load-sbom`` (:func:`replace_build_components`) and
  survive a spec reload: a package row replaced by a reload takes its build components along
  (:func:`saved_build_components` before the reload, restored after it);
* ``spec`` rows (kinds ``spec-buildrequires``/``spec-provides``) are not components: they keep the spec's
  ``BuildRequires:``/``Provides:`` values of :class:`SourcePackage` (written and read with the package by
  :mod:`cvewatch.store.inventory`).

A package whose component set changes gets a new ``changed_at``, so an incremental scan evaluates it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, Select, Table, delete, insert, select, update

from cvewatch.errors import NotFoundError
from cvewatch.model.components import BUILD_ORIGINS, SPEC_ORIGINS, Component
from cvewatch.model.packages import SourcePackage
from cvewatch.store.models import ComponentRow, ReleaseRow, SourcePackageRow

T_COMP: Table = ComponentRow.__table__  # type: ignore[assignment]
_T_SRC: Table = SourcePackageRow.__table__  # type: ignore[assignment]
_T_RELEASE: Table = ReleaseRow.__table__  # type: ignore[assignment]

ORIGIN_SPEC = "spec"
KIND_SPEC_BUILDREQUIRES = "spec-buildrequires"
KIND_SPEC_PROVIDES = "spec-provides"
_SPEC_FACT_KINDS = (KIND_SPEC_BUILDREQUIRES, KIND_SPEC_PROVIDES)


# --- the spec's BuildRequires/Provides values (used by store.inventory) ---------------------------------


def insert_spec_facts(conn: Connection, source_package_id: int, pkg: SourcePackage) -> None:
    rows = [
        {
            "source_package_id": source_package_id,
            "kind": kind,
            "name": value[:300],
            "version": None,
            "purl": None,
            "origin": ORIGIN_SPEC,
            "detail": value,
        }
        for kind, values in (
            (KIND_SPEC_BUILDREQUIRES, pkg.build_requires),
            (KIND_SPEC_PROVIDES, pkg.provides),
        )
        for value in values
    ]
    if rows:
        conn.execute(insert(T_COMP), rows)


def load_spec_facts(
    conn: Connection, source_package_ids: Sequence[int] | Select[tuple[int]]
) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """source package id -> (build_requires, provides), in spec order; the ids as a list or a query."""
    br: dict[int, list[str]] = defaultdict(list)
    prov: dict[int, list[str]] = defaultdict(list)
    c = T_COMP.c
    stmt = (
        select(c.source_package_id, c.kind, c.detail)
        .where(
            c.source_package_id.in_(
                source_package_ids if isinstance(source_package_ids, Select) else list(source_package_ids)
            ),
            c.origin == ORIGIN_SPEC,
        )
        .order_by(c.id)
    )
    for sid, kind, detail in conn.execute(stmt):
        (br if kind == KIND_SPEC_BUILDREQUIRES else prov)[sid].append(detail)
    return {sid: (tuple(br[sid]), tuple(prov[sid])) for sid in set(br) | set(prov)}


# --- components ------------------------------------------------------------------------------------


def _package_ids(conn: Connection, release: str) -> dict[str, int]:
    rid = conn.execute(select(_T_RELEASE.c.id).where(_T_RELEASE.c.name == release)).scalar()
    if rid is None:
        raise NotFoundError(
            f"no release named {release!r} in the store; load one with "
            "`cvewatch inventory load-specs DIR --release NAME`"
        )
    return {
        str(n): int(i)
        for n, i in conn.execute(select(_T_SRC.c.name, _T_SRC.c.id).where(_T_SRC.c.release_id == rid))
    }


def _row(sid: int, c: Component) -> dict[str, object]:
    return {
        "source_package_id": sid,
        "kind": c.kind,
        "name": c.name[:300],
        "version": c.version[:100] if c.version else None,
        "purl": c.purl,
        "origin": c.origin,
        "detail": c.detail,
    }


def _read(conn: Connection, sids: Sequence[int], origins: Sequence[str]) -> dict[int, list[Component]]:
    out: dict[int, list[Component]] = defaultdict(list)
    c = T_COMP.c
    for start in range(0, len(sids), 500):
        chunk = list(sids[start : start + 500])
        stmt = (
            select(c.source_package_id, c.kind, c.name, c.version, c.purl, c.origin, c.detail)
            .where(c.source_package_id.in_(chunk), c.origin.in_(list(origins)))
            .order_by(c.id)
        )
        for r in conn.execute(stmt):
            out[r.source_package_id].append(Component(r.kind, r.name, r.version, r.purl, r.origin, r.detail))
    return out


def _touch(conn: Connection, sids: Iterable[int]) -> None:
    ids = sorted(set(sids))
    now = datetime.now(UTC)
    for start in range(0, len(ids), 500):
        conn.execute(update(_T_SRC).where(_T_SRC.c.id.in_(ids[start : start + 500])).values(changed_at=now))


def load_components(
    conn: Connection, release: str, *, packages: Iterable[str] | None = None
) -> dict[str, list[Component]]:
    """package name -> its components (every origin), for the release's packages (or ``packages``)."""
    ids = _package_ids(conn, release)
    if packages is not None:
        wanted = set(packages)
        ids = {n: i for n, i in ids.items() if n in wanted}
    by_id = _read(conn, sorted(ids.values()), SPEC_ORIGINS + BUILD_ORIGINS)
    names = {i: n for n, i in ids.items()}
    return {names[sid]: comps for sid, comps in by_id.items()}


def saved_build_components(conn: Connection, release: str) -> dict[str, list[Component]]:
    """The SBOM/go-version-m components of a release (empty when the release is not stored yet)."""
    try:
        ids = _package_ids(conn, release)
    except NotFoundError:
        return {}
    by_id = _read(conn, sorted(ids.values()), BUILD_ORIGINS)
    names = {i: n for n, i in ids.items()}
    return {names[sid]: comps for sid, comps in by_id.items()}


def replace_build_components(
    conn: Connection, release: str, package: str, components: Sequence[Component], *, origin: str
) -> tuple[int, bool]:
    """Make the package's components of ``origin`` (sbom or go-version-m) equal ``components``.
    Returns (stored, changed)."""
    if origin not in BUILD_ORIGINS:
        raise ValueError(f"not a build-record origin: {origin}")
    ids = _package_ids(conn, release)
    sid = ids.get(package)
    if sid is None:
        raise NotFoundError(f"no source package {package!r} in release {release!r}")
    comps = [Component(c.kind, c.name, c.version, c.purl, origin, c.detail) for c in components]
    old = _read(conn, [sid], (origin,)).get(sid, [])
    changed = sorted(c.key for c in old) != sorted(c.key for c in comps)
    conn.execute(delete(T_COMP).where(T_COMP.c.source_package_id == sid, T_COMP.c.origin == origin))
    if comps:
        conn.execute(insert(T_COMP), [_row(sid, c) for c in comps])
    if changed:
        _touch(conn, [sid])
    return len(comps), changed


def replace_spec_components(
    conn: Connection,
    release: str,
    derived: Mapping[str, Sequence[Component]],
    *,
    saved: Mapping[str, Sequence[Component]] | None = None,
    only: Collection[str] | None = None,
) -> tuple[int, int]:
    """Make the bundled-tag and toolchain components of every stored package of the release (or of the
    ``only`` ones: a partial load leaves the others alone) those ``derived`` from its spec (by package
    name; a package not in it has none), replace what changed, and put back ``saved`` build components a
    reload dropped. Returns (components stored, packages whose components changed)."""
    ids = _package_ids(conn, release)
    if only is not None:
        ids = {name: sid for name, sid in ids.items() if name in only}
    old = _read(conn, sorted(ids.values()), SPEC_ORIGINS)
    have_build = _read(conn, sorted(ids.values()), BUILD_ORIGINS)
    changed: list[int] = []
    rows: list[dict[str, object]] = []
    stored = 0
    for name, sid in sorted(ids.items()):
        want = derived.get(name, ())
        stored += len(want)
        if sorted((*c.key, c.detail) for c in want) != sorted((*c.key, c.detail) for c in old.get(sid, [])):
            changed.append(sid)
            rows.extend(_row(sid, c) for c in want)
        if saved and name in saved and sid not in have_build:
            rows.extend(_row(sid, c) for c in saved[name])
    for start in range(0, len(changed), 500):
        chunk = changed[start : start + 500]
        conn.execute(
            delete(T_COMP).where(
                T_COMP.c.source_package_id.in_(chunk), T_COMP.c.origin.in_(list(SPEC_ORIGINS))
            )
        )
    for start in range(0, len(rows), 2000):
        conn.execute(insert(T_COMP), rows[start : start + 2000])
    if changed:
        _touch(conn, changed)
    return stored, len(changed)
