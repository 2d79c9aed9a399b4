"""Real inputs shared by the matching tests: the whole 3.0 SPECS tree and the genuine NVD records."""

from __future__ import annotations

import pytest

from cvewatch.inventory.tree import load_spec_tree
from cvewatch.model.packages import SourcePackage
from cvewatch.model.records import Vulnerability
from cvewatch.sources.nvd_files import NvdFileSource

from ..conftest import NVD, SPECS


@pytest.fixture(scope="session")
def tree() -> list[SourcePackage]:
    return list(load_spec_tree(SPECS, dist=".azl3").packages)


@pytest.fixture(scope="session")
def records() -> list[Vulnerability]:
    """The genuine API 2.0 sample page(s) and the recent records, in file order."""
    out = []
    for path in (NVD / "api2.0-shape", NVD / "recent"):
        out += [i.vulnerability for i in NvdFileSource(path).records() if i.vulnerability is not None]
    return out
