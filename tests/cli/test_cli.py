"""The command line end to end, in a subprocess, on real data: exit codes, messages, JSON output."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import IMAGES, NVD, SPECS

CLI = [sys.executable, "-m", "cvewatch.cli"]


def run(*args: str, db: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CVEWATCH_DB": db, "COLUMNS": "200"}
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"cvewatch {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def specs_subset(tmp_path: Path) -> Path:
    """A few real package folders of the 3.0 tree (read from ../shared, copied to tmp only for the test)."""
    root = tmp_path / "SPECS"
    for name in ("curl", "openssh", "glibc", "kernel", "krb5", "systemd", "zlib", "expat"):
        shutil.copytree(SPECS / name, root / name)
    return root


def test_the_whole_chain_on_real_data(db_url: str, specs_subset: Path, tmp_path: Path) -> None:
    out = run("sync", "nvd", "--from", str(NVD / "recent"), db=db_url)
    assert "new" in out.stdout
    run("sync", "nvd", "--from", str(NVD / "nvd-2.0-records" / "fkie"), db=db_url)
    run("sync", "nvd", "--from", str(NVD / "api2.0-shape" / "converted-from-1.1-sample.json.gz"), db=db_url)
    out = run("inventory", "load-specs", str(specs_subset), "--release", "azl3", "--dist", ".azl3", db=db_url)
    assert "9 source packages" in out.stdout  # kernel/ holds kernel.spec and kernel-uki.spec
    image = sorted(IMAGES.glob("*.txt"))[-1]
    out = run("inventory", "load-image", str(image), "--name", "aks-latest", "--release", "azl3", db=db_url)
    assert "installed packages" in out.stdout

    verdicts = json.loads(run("scan", "--release", "azl3", "--json", db=db_url).stdout)
    by_key = {(v["cve"], v["package"]): v for v in verdicts}
    assert set(verdicts[0]) == {
        "cve",
        "package",
        "release",
        "image",
        "version",
        "status",
        "fixed_in",
        "severity",
        "cvss",
        "evidence",
    }
    curl = by_key[("CVE-2023-38545", "curl")]
    assert curl["status"] != "affected" and curl["image"] is None
    assert curl["cvss"] == {
        "version": "3.1",
        "score": 9.8,
        "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "source": "nvd@nist.gov",
    }
    assert by_key[("CVE-2026-1965", "curl")]["status"] == "fixed"
    assert by_key[("CVE-2021-3669", "kernel")]["status"] == "not_affected"
    assert {v["status"] for v in verdicts} <= {"affected", "fixed", "not_affected", "under_investigation"}

    image_verdicts = json.loads(run("scan", "--image", "aks-latest", "--json", db=db_url).stdout)
    assert image_verdicts and all(v["image"] == "aks-latest" for v in image_verdicts)

    table = run("scan", "--release", "azl3", db=db_url).stdout
    assert "CVE-2023-38545" in table and "total" in table

    out_dir = tmp_path / "csaf"
    out = run(
        "publish", "csaf", "--release", "azl3", "--out", str(out_dir),
        "--publisher-name", "Example Linux", "--publisher-namespace", "https://security.example.com/",
        db=db_url,
    )  # fmt: skip
    docs = sorted(out_dir.rglob("*.json"))
    assert len(docs) == len({v["cve"] for v in verdicts})
    status = json.loads(run("sync", "status", "--json", db=db_url).stdout)
    assert [r["status"] for r in status] == ["ok", "ok", "ok"]


def test_a_truncated_file_is_reported_and_the_rest_imported(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    folder = tmp_path / "pages"
    folder.mkdir()
    shutil.copyfile(NVD / "nvd-2.0-records" / "fkie" / "CVE-2023-38545.json", folder / "good.json")
    text = (NVD / "nvd-2.0-records" / "fkie" / "CVE-2024-6387.json").read_text()
    (folder / "truncated.json").write_text(text[: len(text) // 2])
    proc = run("sync", "nvd", "--from", str(folder), db=db)
    assert "truncated.json" in proc.stderr
    assert "1 records read, 1 new" in proc.stdout


def test_nothing_importable_exits_non_zero_and_keeps_what_was_stored(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    run("sync", "nvd", "--from", str(NVD / "nvd-2.0-records" / "fkie"), db=db)
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(b'{"vulnerabilities": [{"cve": {"id": "CVE-2024-')
    proc = run("sync", "nvd", "--from", str(bad), db=db, check=False)
    assert proc.returncode == 1
    assert "bad.json.gz" in proc.stderr and "nothing could be imported" in proc.stderr
    assert proc.stderr.count("Traceback") == 0
    status = json.loads(run("sync", "status", "--json", db=db).stdout)
    assert status[0]["status"] == "failed" and status[1]["new"] == 6


def test_unknown_release_and_missing_path_give_one_clear_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    proc = run("scan", "--release", "nope", db=db, check=False)
    assert (
        proc.returncode == 1 and "no release named 'nope'" in proc.stderr and "Traceback" not in proc.stderr
    )
    proc = run("sync", "nvd", "--from", str(tmp_path / "missing"), db=db, check=False)
    assert proc.returncode == 1 and "missing" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("inventory", "load-specs", str(tmp_path / "none"), "--release", "x", db=db, check=False)
    assert proc.returncode == 1 and "not a folder" in proc.stderr


def test_a_bad_package_line_names_file_and_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    specs = tmp_path / "SPECS"
    shutil.copytree(SPECS / "zlib", specs / "zlib")
    run("inventory", "load-specs", str(specs), "--release", "azl3", db=db)
    lst = tmp_path / "rpm-qa.txt"
    lst.write_text("zlib-1.3.1-1.azl3.x86_64\nthis is not a nevra\ncurl-8.11.1-3.azl3.x86_64\n")
    proc = run("inventory", "load-image", str(lst), "--name", "img", "--release", "azl3", db=db)
    assert "rpm-qa.txt:2" in proc.stderr
    assert "2 installed packages" in proc.stdout


def test_demo_runs_and_its_documents_are_valid_csaf(tmp_path: Path) -> None:
    proc = run("demo", "--out", str(tmp_path / "demo"), db=f"sqlite:///{tmp_path / 'unused.sqlite'}")
    assert "affected" in proc.stdout and "CSAF VEX documents" in proc.stdout
    docs = sorted((tmp_path / "demo" / "csaf").rglob("*.json"))
    assert len(docs) > 100
    verdicts = json.loads((tmp_path / "demo" / "verdicts.json").read_text())
    assert {v["status"] for v in verdicts} == {"affected", "fixed", "not_affected", "under_investigation"}
    csaf = Path(sys.executable).with_name("csaf")
    val = subprocess.run(
        [
            str(csaf),
            "validate",
            "--spec-version",
            "v20",
            "--no-network",
            str(tmp_path / "demo" / "csaf" / "*" / "*.json"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert val.returncode == 0, val.stdout[-3000:] + val.stderr[-3000:]
    assert f"{len(docs)}/{len(docs)} files valid" in val.stdout
