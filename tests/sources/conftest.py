"""Shared fixtures for the source tests: where the genuine NVD sample data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NVD_DATA = Path(os.environ.get("CVEWATCH_NVD_DATA", "/work/shared/data/nvd"))
CVE5_DATA = Path(os.environ.get("CVEWATCH_CVE5_DATA", "/work/shared/data/cve5"))


@pytest.fixture(scope="session")
def nvd_data() -> Path:
    if not NVD_DATA.is_dir():
        pytest.skip(f"NVD sample data not found at {NVD_DATA} (set CVEWATCH_NVD_DATA)")
    return NVD_DATA


@pytest.fixture(scope="session")
def cve5_data() -> Path:
    if not CVE5_DATA.is_dir():
        pytest.skip(f"CVE JSON 5 sample data not found at {CVE5_DATA} (set CVEWATCH_CVE5_DATA)")
    return CVE5_DATA
