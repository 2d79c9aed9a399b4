"""Paths of the gate's test data: real samples in ../shared/data/perf, small fixtures in tests/gate/data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PERF = ROOT.parent / "shared" / "data" / "perf"
SAMPLES = PERF / "samples"
DATA = Path(__file__).resolve().parent / "data"
