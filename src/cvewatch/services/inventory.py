"""Loading package facts into the store: a SPECS tree into a release, a package list into a node image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from cvewatch.errors import InputError, NotFoundError
from cvewatch.inventory.components import spec_components
from cvewatch.inventory.imagelist import parse_package_text
from cvewatch.inventory.tree import load_spec_tree
from cvewatch.limits import read_input
from cvewatch.model.components import Component
from cvewatch.model.packages import Problem, SourcePackage
from cvewatch.store.components import replace_spec_components, saved_build_components
from cvewatch.store.inventory import load_release_packages, replace_image, replace_release_packages


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
    if result.packages:
        with engine.begin() as conn:
            replace_image(conn, name, release, result.packages, kernel=result.kernel)
    return report
