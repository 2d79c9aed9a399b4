"""`cvewatch inventory load-image / diff` and `cvewatch lint` in a subprocess, on real data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import IMAGES, SPECS

CLI = [sys.executable, "-m", "cvewatch.cli"]
DATA = Path(__file__).resolve().parents[1] / "inventory" / "data"
OLD = IMAGES / "202501.05.0.txt"
NEW = IMAGES / "202608.20.0.txt"
needs_data = pytest.mark.skipif(not NEW.is_file(), reason="shared data not present")


def run(*args: str, db: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CVEWATCH_DB": db, "COLUMNS": "200"}
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != expect:
        raise AssertionError(
            f"cvewatch {' '.join(args)} exited {proc.returncode}, not {expect}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@needs_data
def test_diff_two_files_json(db: str) -> None:
    out = json.loads(run("inventory", "diff", str(OLD), str(NEW), "--json", db=db).stdout)
    ups = {c["name"]: (c["from"], c["to"]) for c in out["upgraded"]}
    assert ups["kernel"] == ("6.6.57.1-6.azl3", "6.6.150.1-1.azl3")
    assert ups["curl"] == ("8.8.0-3.azl3", "8.11.1-11.azl3")
    assert "kernel-6.6.57.1-5.azl3.x86_64" in [p["nevra"] for p in out["removed"]]
    assert out["downgraded"] == [] and out["from"] == str(OLD)


@needs_data
def test_diff_images_in_the_store_and_a_file(db: str, tmp_path: Path) -> None:
    specs = tmp_path / "SPECS"
    shutil.copytree(SPECS / "curl", specs / "curl")
    run("inventory", "load-specs", str(specs), "--release", "azl3", db=db)
    run("inventory", "load-image", str(OLD), "--name", "jan", "--release", "azl3", db=db)
    out = run(
        "inventory",
        "load-image",
        str(DATA / "spdx-2.3-small.json"),
        "--name",
        "sbom",
        "--release",
        "azl3",
        db=db,
    )
    assert "image sbom: 3 installed packages" in out.stdout
    text = run("inventory", "diff", "jan", "sbom", db=db).stdout
    assert "^ curl 8.8.0-3.azl3 -> 8.11.1-11.azl3 (x86_64)" in text
    assert "^ kernel 6.6.57.1-6.azl3 -> 6.6.150.1-1.azl3 (x86_64)" in text
    # the note lists no epochs (plain rpm -qa); the SBOM's epoch 1 makes ca-certificates newer
    assert "^ ca-certificates 3.0.0-7.azl3 -> 1:3.0.0-15.azl3 (noarch)" in text
    assert "- zlib-" in text  # the 3-package SBOM lacks the rest of the image
    mixed = json.loads(run("inventory", "diff", "jan", str(NEW), "--json", db=db).stdout)
    assert any(c["name"] == "openssl" for c in mixed["upgraded"])
    missing = run("inventory", "diff", "jan", "no-such-image", db=db, expect=1)
    assert "no node image named 'no-such-image'" in missing.stderr


def _folder(tmp_path: Path, *, broken: bool) -> Path:
    root = tmp_path / "LINT"
    folder = root / "demo"
    folder.mkdir(parents=True)
    patch = "Patch0: CVE-2026-1111.patch\n" + ("Patch1: missing.patch\n" if broken else "")
    (folder / "demo.spec").write_text(
        "Name: demo\nVersion: 1.0\nRelease: 2%{?dist}\nSummary: x\nLicense: MIT\n"
        f"{patch}\n%description\nx\n\n%files\n\n%changelog\n"
        "* Tue Apr 28 2026 Jane Doe <jane@example.org> - 1.0-2\n- Patch CVE-2026-1111\n"
    )
    (folder / "CVE-2026-1111.patch").write_text("Subject: fix\nCVE: CVE-2026-1111\n---\n")
    (folder / "CVE-2025-0001.nopatch").write_text("")
    return root


def test_lint_exit_status_and_json(db: str, tmp_path: Path) -> None:
    clean = _folder(tmp_path / "a", broken=False)
    out = run("lint", str(clean), "--json", db=db)
    assert json.loads(out.stdout) == [
        {
            "path": "demo/CVE-2025-0001.nopatch",
            "line": None,
            "rule": "empty-nopatch-justification",
            "severity": "info",
            "message": "CVE-2025-0001 is triaged as not applicable with no justification",
        }
    ]
    broken = _folder(tmp_path / "b", broken=True)
    out = run("lint", str(broken), db=db, expect=1)
    assert "demo/demo.spec:7: error [missing-patch-file] Patch1 names missing.patch" in out.stdout
    assert "missing-patch-file" in out.stdout and "total" in out.stdout
    run("lint", str(tmp_path / "nowhere"), db=db, expect=1)


@pytest.mark.skipif(not SPECS.is_dir(), reason="shared data not present")
def test_lint_one_real_folder(db: str) -> None:
    out = run("lint", str(SPECS / "radvd"), "--json", db=db, expect=1)
    findings = json.loads(out.stdout)
    missing = [f for f in findings if f["rule"] == "missing-patch-file"]
    assert [(f["path"], f["line"], f["severity"]) for f in missing] == [("radvd.spec", 16, "error")]
