"""Loading package facts into the store: a SPECS tree into a release, a package list into a node image."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine

from cvewatch.errors import InputError, NotFoundError
from cvewatch.inventory.components import spec_components
from cvewatch.inventory.diff import ImageDiff, diff_packages
from cvewatch.inventory.imagelist import parse_package_list, parse_package_text
from cvewatch.inventory.lint import LintResult, lint_tree
from cvewatch.inventory.tree import load_spec_tree
from cvewatch.limits import read_input
from cvewatch.model.components import Component
from cvewatch.model.packages import InstalledPackage, Problem, SourcePackage
from cvewatch.store.components import replace_spec_components, saved_build_components
from cvewatch.store.inventory import (
    list_releases,
    load_image_packages,
    load_release_packages,
    missing_packages,
    release_id,
    replace_image,
    replace_release_packages,
)


@dataclass
class LoadReport:
    packages: int = 0  # specs (or package lists' packages) read
    added: int = 0
    changed: int = 0
    removed: int = 0
    kept: int = 0  # packages of the release not in the input, kept (a load without ``replace``)
    stored: int = 0  # the release's source packages after the load (specs of one name are stored once)
    problems: list[Problem] = field(default_factory=list)


def store_release(
    engine: Engine,
    packages: list[SourcePackage],
    *,
    release: str,
    dist: str | None,
    replace: bool = True,
) -> LoadReport:
    """Store ``packages`` in the release and derive their components (bundled libraries, toolchains) from
    the spec facts; components loaded from build SBOMs are kept.

    ``replace``: the release's packages become exactly ``packages`` (a whole tree; packages not in it are
    removed). Without it, ``packages`` are added or updated and every other package of the release is kept:
    a folder of two packages must not empty a release of 1,500.
    """
    report = LoadReport(packages=len(packages))
    if packages:
        with engine.connect() as conn:
            saved = saved_build_components(conn, release)
            kept: list[SourcePackage] = []
            if not replace:
                names = {p.name for p in packages}
                try:
                    kept = [p for p in load_release_packages(conn, release) if p.name not in names]
                except NotFoundError:
                    kept = []  # a new release
        # the kept packages go in first: for several specs of one name the last is stored, as before
        wanted = [*kept, *packages]
        with engine.begin() as conn:
            report.added, report.changed, report.removed = replace_release_packages(
                conn, release, wanted, dist=dist
            )
            # a partial load derives the components of its own packages only: the others were derived
            # against the whole tree (several golang specs), which the store does not keep
            only = None if replace else {p.name for p in packages}
            replace_spec_components(conn, release, derive_components(wanted), saved=saved, only=only)
        report.kept = len(kept)
        report.stored = len({p.name for p in wanted})
    return report


def derive_components(packages: Sequence[SourcePackage]) -> dict[str, list[Component]]:
    """The bundled-tag and toolchain components of each package, by name, derived against the whole tree
    (toolchain versions resolve against all its specs, several golang specs included); for several specs
    of one name the last is the stored one, as in ``replace_release_packages``."""
    by_name = {p.name: p for p in packages}
    return {name: spec_components(p, packages) for name, p in by_name.items()}


def load_specs_into(
    engine: Engine, specs_dir: Path, *, release: str, dist: str = ".azl3", replace: bool = False
) -> LoadReport:
    """Parse every spec under ``specs_dir`` and add or update them in the release; with ``replace``, make
    the release's packages equal them (packages not in the folder are removed).

    A spec that cannot be parsed is reported and skipped; when no spec parses at all, the release
    already stored is left as it was.
    """
    if not specs_dir.is_dir():
        raise InputError(f"not a folder: {specs_dir}")
    tree = load_spec_tree(specs_dir, dist=dist)
    report = store_release(engine, list(tree.packages), release=release, dist=dist, replace=replace)
    report.problems.extend(tree.problems)
    return report


def load_image_into(engine: Engine, file: Path, *, name: str, release: str) -> LoadReport:
    """Parse a node image's package list and store it (replacing an image of the same name). Raises
    InputError for a file that cannot be read or is beyond a limit of :mod:`cvewatch.limits`."""
    text = read_input(file).decode("utf-8", errors="replace")
    result = parse_package_text(text, path=str(file))
    report = LoadReport(packages=len(result.packages), problems=list(result.problems))
    with engine.begin() as conn:
        release_id(conn, release)  # an image of an unknown release is an error before anything is stored
        if result.packages:
            replace_image(conn, name, release, result.packages, kernel=result.kernel)
    return report


def require_packages(conn: Connection, names: Iterable[str], release: str | None, what: str) -> None:
    """Every name is a source package of ``release`` (of some release in the store when None), else a
    :class:`NotFoundError` naming ``what`` (the option or field the names came from)."""
    missing = missing_packages(conn, names, release)
    if missing:
        where = f"release {release!r}" if release is not None else "any release in the store"
        raise NotFoundError(
            f"{what}: no source package {', '.join(repr(m) for m in missing)} in {where} "
            "(names are the specs' Name:, e.g. curl for curl-libs)"
        )


def releases(engine: Engine) -> list[tuple[str, int]]:
    """Every release in the store with its number of source packages."""
    with engine.connect() as conn:
        return list_releases(conn)


@dataclass(frozen=True, slots=True)
class ImagePackages:
    """The installed packages of an image, a file's or the store's, and what they were read from."""

    packages: tuple[InstalledPackage, ...]
    label: str  # "image NAME", or "PATH (FORMAT)"
    problems: tuple[Problem, ...] = ()


def image_packages(engine: Engine, ref: str) -> ImagePackages:
    """A package-list file's packages when ``ref`` is an existing path, else the store's image of that
    name (:class:`NotFoundError` for neither). A file without one readable package is an InputError."""
    path = Path(ref)
    if path.exists():
        result = parse_package_list(path)
        if not result.packages:
            problems = "; ".join(str(p) for p in result.problems[:3])
            raise InputError(f"no package could be read{': ' + problems if problems else ''}", str(path))
        return ImagePackages(result.packages, f"{path} ({result.format})", result.problems)
    with engine.connect() as conn:
        return ImagePackages(tuple(load_image_packages(conn, ref)), f"image {ref}")


def diff_images(engine: Engine, old: str, new: str) -> tuple[ImagePackages, ImagePackages, ImageDiff]:
    """What changed from image (or package-list file) ``old`` to ``new``."""
    a, b = image_packages(engine, old), image_packages(engine, new)
    return a, b, diff_packages(list(a.packages), list(b.packages))


def lint_specs(specs_dir: Path, *, dist: str = ".azl3") -> LintResult:
    """The CVE spec-file review of a SPECS tree or one package folder (rules in docs/lint.md). A path that
    is no folder, or a folder without a spec file, is an InputError."""
    if not specs_dir.is_dir():
        raise InputError("not a folder", str(specs_dir))
    result = lint_tree(specs_dir, dist=dist)
    if result.specs == 0:
        raise InputError("no spec file", str(specs_dir))
    return result
