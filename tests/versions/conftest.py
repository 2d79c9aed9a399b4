"""Real NVD cpeMatch entries from ../shared/data/nvd, indexed by CVE id, for the version and CPE tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

NVD = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nvd"

CpeMatch = dict[str, Any]


def _cve_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("cve"), dict):
            yield node["cve"]
            return
        if str(node.get("id", "")).startswith("CVE-") and "configurations" in node:
            yield node
            return
        for value in node.values():
            yield from _cve_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _cve_objects(value)


def _matches(node: Any) -> Iterator[CpeMatch]:
    if isinstance(node, dict):
        if "criteria" in node:
            yield node
        for value in node.values():
            yield from _matches(value)
    elif isinstance(node, list):
        for value in node:
            yield from _matches(value)


@cache
def nvd_index() -> dict[str, list[CpeMatch]]:
    """CVE id -> every cpeMatch of its configurations, over the API-2.0-shaped NVD sample files."""
    files = sorted(NVD.glob("nvd-2.0-records/**/*.json")) + sorted(NVD.glob("recent/*.json"))
    files += sorted(NVD.glob("api2.0-shape/*.json.gz"))
    index: dict[str, list[CpeMatch]] = {}
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            doc = json.load(fh)
        for cve in _cve_objects(doc):
            entries = index.setdefault(cve["id"], [])
            for m in _matches(cve.get("configurations", [])):
                if m not in entries:
                    entries.append(m)
    return index


@pytest.fixture(scope="session")
def nvd_match() -> Callable[..., CpeMatch]:
    """``nvd_match(cve_id, criteria, **range)``: the real cpeMatch with that criteria and range, or fail."""

    def find(cve_id: str, criteria: str, **bounds: str) -> CpeMatch:
        for m in nvd_index().get(cve_id, []):
            if m["criteria"] == criteria and all(m.get(k) == v for k, v in bounds.items()):
                return m
        pytest.fail(f"{cve_id}: no cpeMatch {criteria} {bounds} in {NVD}")

    return find


@pytest.fixture(scope="session")
def all_criteria() -> list[tuple[str, str]]:
    """Every distinct (cve id, criteria string) of the sample data."""
    return sorted({(cve, m["criteria"]) for cve, ms in nvd_index().items() for m in ms})


@pytest.fixture(scope="session")
def nvd_cve() -> Callable[[str], list[CpeMatch]]:
    """``nvd_cve(cve_id)``: every cpeMatch of that CVE in the sample data."""
    return lambda cve_id: nvd_index().get(cve_id, [])
