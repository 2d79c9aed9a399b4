"""Loading package facts into the store: a SPECS tree into a release, a package list into a node image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from cvewatch.errors import InputError
from cvewatch.inventory.imagelist import parse_package_text
from cvewatch.inventory.packages import Problem, SourcePackage
from cvewatch.inventory.tree import load_spec_tree
from cvewatch.limits import read_input
from cvewatch.store.components import replace_spec_components, saved_build_components
from cvewatch.store.inventory import replace_image, replace_release_packages


@dataclass
class LoadReport:
    packages: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    problems: list[Problem] = field(default_factory=list)


def store_release(
    engine: Engine, packages: list[SourcePackage], *, release: str, dist: str | None
) -> LoadReport:
    """Make the release's packages equal ``packages`` and derive their components (bundled libraries,
    toolchains) from the spec facts; components loaded from build SBOMs are kept."""
    report = LoadReport(packages=len(packages))
    if packages:
        with engine.connect() as conn:
            saved = saved_build_components(conn, release)
        with engine.begin() as conn:
            report.added, report.changed, report.removed = replace_release_packages(
                conn, release, packages, dist=dist
            )
            replace_spec_components(conn, release, packages, saved=saved)
    return report


def load_specs_into(engine: Engine, specs_dir: Path, *, release: str, dist: str = ".azl3") -> LoadReport:
    """Parse every spec under ``specs_dir`` and make the release's packages equal them.

    A spec that cannot be parsed is reported and skipped; when no spec parses at all, the release
    already stored is left as it was.
    """
    if not specs_dir.is_dir():
        raise InputError(f"not a folder: {specs_dir}")
    tree = load_spec_tree(specs_dir, dist=dist)
    report = store_release(engine, list(tree.packages), release=release, dist=dist)
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
