"""`cvewatch inventory load-sbom` and `cvewatch rebuild-plan` in a subprocess, on real specs and records."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import NVD, SHARED_DATA, SPECS

CLI = [sys.executable, "-m", "cvewatch.cli"]

GO_VERSION_M = """\
/usr/bin/dockerd: go1.22.5
\tpath\tgithub.com/docker/docker/cmd/dockerd
\tmod\tgithub.com/docker/docker\t(devel)\t
\tdep\tgolang.org/x/net\tv0.17.0\th1:pVaXccu2ozPjCXewfr1S7xoGe9ZWaSXX3Ka/1btVsVk=
\tbuild\tCGO_ENABLED=1
"""


def run(*args: str, db: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CVEWATCH_DB": db, "COLUMNS": "200"}
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != expect:
        raise AssertionError(
            f"cvewatch {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def store(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    root = tmp_path / "SPECS"
    for n in ("golang", "moby-engine", "kubernetes", "zipper"):
        shutil.copytree(SPECS / n, root / n)
    run("sync", "nvd", "--from", str(NVD / "recent"), db=db)
    run("sync", "cve5", "--from", str(SHARED_DATA / "cve5" / "recent"), db=db)
    run("inventory", "load-specs", str(root), "--release", "azl3", db=db)
    return db


def test_load_sbom_then_scan_and_rebuild_plan(store: str, tmp_path: Path) -> None:
    gom = tmp_path / "dockerd.txt"
    gom.write_text(GO_VERSION_M)
    out = json.loads(
        run(
            "inventory",
            "load-sbom",
            str(gom),
            "--package",
            "moby-engine",
            "--release",
            "azl3",
            "--json",
            db=store,
        ).stdout
    )
    assert out["format"] == "go-version-m" and out["components"] == 2 and out["changed"] is True
    verdicts = json.loads(run("scan", "--release", "azl3", "--json", db=store).stdout)
    by = {(v["cve"], v["package"]): v for v in verdicts}
    v = by[("CVE-2024-45338", "moby-engine")]
    assert v["status"] == "affected"
    assert any(
        "Go module golang.org/x/net 0.17.0 in moby-engine (source: go version -m" in e["detail"]
        for e in v["evidence"]
    )
    assert by[("CVE-2026-32288", "kubernetes")]["status"] == "affected"

    plan = json.loads(run("rebuild-plan", "--release", "azl3", "--json", db=store).stdout)
    items = {i["package"]: i for i in plan["packages"]}
    assert (
        items["kubernetes"]["still_open"] == ["CVE-2026-32288"]
        and "golang < 1.25" in items["kubernetes"]["blocked"]
    )
    moby = items["moby-engine"]
    # its Go stdlib CVEs of the data (CVE-2025-58183, CVE-2026-32288) are fixed by its own patches
    assert moby["toolchain"] is None and moby["closes"] == []
    assert any(m["module"] == "golang.org/x/net" and m["current"] == "0.17.0" for m in moby["modules"])
    table = run("rebuild-plan", "--release", "azl3", db=store).stdout
    assert "kubernetes" in table and "blocked by their BuildRequires" in table


def test_load_sbom_errors(store: str, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    proc = run(
        "inventory",
        "load-sbom",
        str(bad),
        "--package",
        "moby-engine",
        "--release",
        "azl3",
        db=store,
        expect=1,
    )
    assert "neither an SPDX/CycloneDX JSON SBOM nor `go version -m` output" in proc.stderr
    gom = tmp_path / "dockerd.txt"
    gom.write_text(GO_VERSION_M)
    proc = run(
        "inventory", "load-sbom", str(gom), "--package", "nope", "--release", "azl3", db=store, expect=1
    )
    assert "no source package 'nope'" in proc.stderr
