"""Every command's option values are checked: a bad one is one clear line on stderr, a non-zero exit, and
nothing stored. Once `triage set … --fixed-in notanevr` and an unknown package were accepted (and
`0:notanevr` published), and `scan --status bogus` printed `[]` with exit 0.

Values that are names of things in the store (releases, images, packages) are checked against a copy of
the demo's store; enumerations are click choices (exit 2), the rest cvewatch's own checks (exit 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cvewatch.demo.run import DEMO_IMAGE
from cvewatch.store.db import open_engine
from cvewatch.store.models import Base

from ..conftest import IMAGES, NVD, SPECS
from .test_cli import run

PUBLISHER = ["--publisher-name", "Example Linux", "--publisher-namespace", "https://security.example.com/"]
CVE = "CVE-2024-6387"
GO_VERSION_M = "/usr/bin/dockerd: go1.22.5\n\tpath\tgithub.com/docker/docker/cmd/dockerd\n"

# (arguments, what the one line says, exit status); "{tmp}" is a fresh folder, "{file}" a regular file
CASES: list[tuple[list[str], str, int]] = [
    # triage set
    (
        ["triage", "set", CVE, "openssh", "--status", "fixed", "--fixed-in", "notanevr"],
        "--fixed-in: not an rpm EVR",
        1,
    ),
    (
        ["triage", "set", CVE, "openssh", "--status", "fixed", "--fixed-in", "0:9.8p1"],
        "--fixed-in: not an rpm EVR",
        1,
    ),
    (
        ["triage", "set", CVE, "openssh", "--status", "fixed", "--fixed-in", "0:a-b"],
        "--fixed-in: not an rpm EVR",
        1,
    ),
    (
        ["triage", "set", CVE, "no-such-package", "--status", "affected"],
        "no source package 'no-such-package'",
        1,
    ),
    (["triage", "set", CVE, "openssh", "--status", "bogus"], "Invalid value for '--status'", 2),
    (["triage", "set", "CVE-24-1", "openssh", "--status", "affected"], "not a CVE id", 1),
    (["triage", "set", "CVE-٢٠٢٤-6387", "openssh", "--status", "affected"], "not a CVE id", 1),
    (["triage", "set", "cve-2024-6387", "openssh", "--status", "affected"], "not a CVE id", 1),
    (["triage", "set", CVE, "openssh", "--status", "not_affected"], "needs a justification", 1),
    (
        ["triage", "set", CVE, "openssh", "--status", "not_affected", "--justification", "because"],
        "Invalid value for '--justification'",
        2,
    ),
    (
        ["triage", "set", CVE, "openssh", "--status", "affected", "--justification", "component_not_present"],
        "--justification applies to not_affected",
        1,
    ),
    (
        [
            "triage",
            "set",
            CVE,
            "openssh",
            "--status",
            "not_affected",
            "--justification",
            "component_not_present",
            "--fixed-in",
            "0:9.8p1-9.azl3",
        ],
        "--fixed-in applies to fixed and affected",
        1,
    ),
    (["triage", "set", CVE, "openssh", "--status", "fixed"], "needs --fixed-in", 1),
    (
        ["triage", "set", CVE, "openssh", "--status", "affected", "--release", "nope"],
        "no release named 'nope'",
        1,
    ),
    (
        ["triage", "set", CVE, "openssh", "--status", "affected", "--author", " "],
        "--author: must not be empty",
        1,
    ),
    (["triage", "set", CVE, "openssh"], "Missing option '--status'", 2),
    (["triage", "list", "--release", "nope"], "no release named 'nope'", 1),
    # scan
    (["scan", "--release", "azl3", "--status", "bogus"], "Invalid value for '--status'", 2),
    (["scan"], "give --release NAME or --image NAME", 2),
    (["scan", "--release", "nope"], "no release named 'nope'", 1),
    (["scan", "--image", "nope"], "no node image named 'nope'", 1),
    (["scan", "--release", "azl2", "--image", DEMO_IMAGE], "is an image of release 'azl3', not of 'azl2'", 1),
    (["scan", "--release", "azl3", "--workers", "0"], "Invalid value for '--workers'", 2),
    (["scan", "--release", "azl3", "--bogus"], "No such option: --bogus", 2),
    # inventory
    (["inventory", "load-specs", "{tmp}", "--release", "bad name"], "--release: not a usable name", 1),
    (
        ["inventory", "load-specs", str(SPECS), "--release", "azl3", "--dist", ".azl 3"],
        "--dist: not a dist tag",
        1,
    ),
    (["inventory", "load-specs", "{tmp}/none", "--release", "azl3"], "not a folder", 1),
    (["inventory", "load-specs", "{tmp}", "--release", "azl3"], "no spec in", 1),
    (
        ["inventory", "load-image", str(IMAGES / "202608.20.0.txt"), "--name", "a/b", "--release", "azl3"],
        "--name: not a usable name",
        1,
    ),
    (
        ["inventory", "load-image", str(IMAGES / "202608.20.0.txt"), "--name", "x", "--release", "nope"],
        "no release named 'nope'",
        1,
    ),
    (["inventory", "load-image", "{tmp}/none.txt", "--name", "x", "--release", "azl3"], "no such file", 1),
    (["inventory", "load-image", "{file}", "--name", "x", "--release", "azl3"], "no package line", 1),
    (
        ["inventory", "load-sbom", "{go}", "--package", "no-such-package", "--release", "azl3"],
        "no source package",
        1,
    ),
    (
        ["inventory", "load-sbom", "{go}", "--package", "moby-engine", "--release", "nope"],
        "no release named",
        1,
    ),
    (
        ["inventory", "load-sbom", "{tmp}/none.json", "--package", "curl", "--release", "azl3"],
        "no such file",
        1,
    ),
    (["inventory", "diff", "nope-1", "nope-2"], "no node image named 'nope-1'", 1),
    # lint
    (["lint", "{tmp}/none"], "not a folder", 1),
    (["lint", str(SPECS / "curl"), "--dist", "a b"], "--dist: not a dist tag", 1),
    # mapping
    (["mapping", "suggest", "--release", "azl3", "--package", "no-such-package"], "no source package", 1),
    (["mapping", "suggest", "--release", "nope"], "no release named 'nope'", 1),
    (
        ["mapping", "suggest", "--release", "azl3", "--cgmanifest", "{tmp}/none.json"],
        "none.json: no such file",
        1,
    ),
    (["mapping", "check", "--release", "nope"], "no release named 'nope'", 1),
    (
        ["mapping", "check", "--release", "azl3", "--mapping", "{tmp}/none.toml"],
        "cannot read the CPE mapping",
        1,
    ),
    # rebuild-plan
    (["rebuild-plan", "--release", "nope"], "no release named 'nope'", 1),
    # publish
    (["publish", "csaf", "--release", "nope", "--out", "{tmp}/o", *PUBLISHER], "no release named 'nope'", 1),
    (
        ["publish", "csaf", "--release", "azl3", "--out", "{file}", *PUBLISHER],
        "exists and is not a folder",
        1,
    ),
    (
        [
            "publish",
            "csaf",
            "--release",
            "azl3",
            "--out",
            "{tmp}/o",
            *PUBLISHER,
            "--publisher-category",
            "boss",
        ],
        "Invalid value for '--publisher-category'",
        2,
    ),
    (
        ["publish", "csaf", "--release", "azl3", "--out", "{tmp}/o", *PUBLISHER, "--product-name", " "],
        "must not",
        1,
    ),
    (["publish", "csaf", "--release", "azl3", "--out", "{tmp}/o"], "no publisher configured", 1),
    # sync
    (["sync", "nvd", "--api-url", "notaurl"], "--api-url: not an http(s) URL", 1),
    (["sync", "nvd", "--api-url", "file:///etc/passwd"], "--api-url: not an http(s) URL", 1),
    (
        ["sync", "nvd", "--timeout", "-1", "--api-url", "http://127.0.0.1:9/"],
        "Invalid value for '--timeout'",
        2,
    ),
    (["sync", "nvd", "--page-size", "0"], "Invalid value for '--page-size'", 2),
    (["sync", "nvd", "--page-size", "5000"], "Invalid value for '--page-size'", 2),
    (["sync", "nvd", "--rate-limit", "bogus"], "invalid rate limit 'bogus'", 1),
    (["sync", "nvd", "--full", "--since", "2024-01-01"], "--full and --since exclude each other", 1),
    (["sync", "nvd", "--since", "yesterday", "--api-url", "http://127.0.0.1:9/"], "--since", 1),
    (["sync", "nvd", "--from", "{tmp}/none"], "none", 1),
    (["sync", "nvd-feed", "{tmp}/none"], "no such folder", 1),
    (["sync", "nvd-feed", "{tmp}", "--feed", "../../etc"], "not an NVD 2.0 feed name", 1),
    (["sync", "cve5"], "give --from PATH", 2),
    (["sync", "cve5", "--from", "{tmp}/none"], "no such file", 1),
    (["sync", "cve5", "--from", str(NVD / "recent"), "--since", "bogus"], "--since", 1),
    (
        ["sync", "cve5", "--from", str(NVD / "recent"), "--since", "2024-01-01"],
        "--since applies to --delta",
        1,
    ),
    (
        ["sync", "cve5", "--from", str(NVD / "recent"), "--delta", "none.json"],
        "--delta: none.json: no such file",
        1,
    ),
    (["sync", "nvd", "--from", str(NVD / "recent"), "--api-url", "http://x.example/"], "apply to the API", 1),
    (["sync", "kev", "--from", "{tmp}/none.json"], "no such file", 1),
    (["sync", "epss", "--from", "{tmp}/none.csv"], "no such file", 1),
    # schedule, demo
    (["schedule", "--config", "{tmp}/none.toml", "--once"], "no such configuration file", 1),
    (["schedule", "--show-next", "-1"], "Invalid value for '--show-next'", 2),
    (["demo", "--out", "{file}"], "exists and is not a folder", 1),
]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    run("demo", "--out", str(folder), db=f"sqlite:///{folder / 'cvewatch-demo.sqlite'}")
    return folder / "cvewatch-demo.sqlite"


def _fingerprint(db: str) -> dict[str, int]:
    """Rows per table: a bad command leaves every count as it was."""
    engine = open_engine(db)
    with engine.connect() as conn:
        counts = {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in Base.metadata.tables.items()
        }
    engine.dispose()
    return counts


@pytest.mark.parametrize(("args", "message", "code"), CASES, ids=[" ".join(c[0])[:60] for c in CASES])
def test_a_bad_value_is_one_clear_line_and_stores_nothing(
    demo_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
    code: int,
) -> None:
    for name in ("CVEWATCH_CONFIG", "CVEWATCH_PUBLISHER_NAME", "CVEWATCH_PUBLISHER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    shutil.copyfile(demo_store, tmp_path / "store.sqlite")
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    (tmp_path / "work").mkdir()
    (tmp_path / "a-file").write_text("not a package list\n")
    (tmp_path / "dockerd.txt").write_text(GO_VERSION_M)
    values = {
        "{tmp}": str(tmp_path / "work"),
        "{file}": str(tmp_path / "a-file"),
        "{go}": str(tmp_path / "dockerd.txt"),
    }
    argv = [
        a.replace(k, v)
        for a in args
        for k, v in [next(((k, v) for k, v in values.items() if k in a), ("", ""))]
    ]
    before = _fingerprint(db)
    proc = run(*argv, db=db, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines and lines[-1].startswith("error: ") and message in lines[-1], proc.stderr
    assert [line for line in lines if line.startswith("error: ")] == [lines[-1]]
    assert len(lines) == 1 or all(line.startswith("warning: ") for line in lines[:-1]), proc.stderr
    assert _fingerprint(db) == before
    assert not (tmp_path / "work" / "o").exists()


def test_good_values_are_still_accepted(demo_store: Path, tmp_path: Path) -> None:
    shutil.copyfile(demo_store, tmp_path / "store.sqlite")
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    out = run("triage", "set", CVE, "openssh", "--status", "fixed", "--fixed-in", "0:9.8p1-9.azl3", db=db)
    assert "fixed in 0:9.8p1-9.azl3" in out.stdout
    run(
        "triage", "set", "CVE-2021-3998", "glibc", "--status", "not_affected", "--release", "azl3",
        "--justification", "vulnerable_code_not_in_execute_path", "--author", "tester", db=db,
    )  # fmt: skip
    listed = run("triage", "list", "--json", db=db).stdout
    assert "0:9.8p1-9.azl3" in listed and "vulnerable_code_not_in_execute_path" in listed
    table = run("scan", "--release", "azl3", "--status", "affected", "--status", "fixed", db=db).stdout
    assert "CVE-" in table and "not_affected │" not in table
