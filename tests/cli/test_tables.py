"""Every table-printing command at 80 columns into a pipe (CI logs): ids and statuses whole, nothing cut.

Once `scan` at 80 columns cut CVE ids to `CVE-200…` and the summary's `under_investigation` to
`under_investigati…`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from cvewatch.demo.run import DEMO_IMAGE

from ..conftest import SPECS

CLI = [sys.executable, "-m", "cvewatch.cli"]
CVE_RE = re.compile(r"CVE-\d{4}-\d+")
STATUSES = ("affected", "fixed", "not_affected", "under_investigation")


def run80(*args: str, db: str, columns: int = 80) -> str:
    """The command with stdout a pipe (not a terminal) and $COLUMNS=80, as in a CI log."""
    env = {**os.environ, "CVEWATCH_DB": db, "COLUMNS": str(columns)}
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def assert_fits(text: str, columns: int = 80) -> None:
    assert "…" not in text, text
    too_wide = [line for line in text.splitlines() if cell_len(line) > columns]
    assert not too_wide, "\n".join(too_wide)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(store URL, the demo's own printout at 80 columns)."""
    folder = tmp_path_factory.mktemp("demo")
    db = f"sqlite:///{folder / 'cvewatch-demo.sqlite'}"
    printed = run80("demo", "--out", str(folder), db=db)
    return db, printed


def test_the_demo_summary_at_80_columns(demo: tuple[str, str]) -> None:
    _, printed = demo
    # the step lines are one line each (soft-wrapped, for grep); the tables fit
    steps = re.compile(r"^(sync \w+|inventory|scan|store|CSAF VEX documents|every verdict)\b")
    assert_fits("\n".join(line for line in printed.splitlines() if not steps.match(line)))
    for status in STATUSES:
        assert re.search(rf"^{status}\s", printed, re.MULTILINE), status


@pytest.mark.parametrize("scope", [["--release", "azl3"], ["--image", DEMO_IMAGE]])
def test_scan_tables_keep_every_id_and_status_whole(demo: tuple[str, str], scope: list[str]) -> None:
    db, _ = demo
    verdicts = json.loads(run80("scan", *scope, "--json", db=db))
    table = run80("scan", *scope, db=db)
    assert_fits(table)
    assert set(CVE_RE.findall(table)) >= {v["cve"] for v in verdicts}
    words = set(table.split())
    assert {v["package"] for v in verdicts} <= words
    for v in verdicts:  # each verdict's row holds its CVE, package and status whole, on its first line
        assert re.search(
            rf"^{re.escape(v['cve'])}\s+{re.escape(v['package'])}\s.*\b{v['status']}\b", table, re.M
        )
    assert "left out at 80 columns" in table and "why" in table
    wide = run80("scan", *scope, db=db, columns=250)
    assert "left out" not in wide and "severity" in wide


def test_status_filtered_scan(demo: tuple[str, str]) -> None:
    db, _ = demo
    table = run80("scan", "--release", "azl3", "--status", "under_investigation", db=db)
    assert_fits(table)
    rows = [line for line in table.splitlines() if CVE_RE.match(line)]
    assert rows and all(
        line.split()[-1] == "under_investigation" or "under_investigation" in line for line in rows
    )


def test_the_other_tables(demo: tuple[str, str], tmp_path: Path) -> None:
    db, _ = demo
    status = run80("sync", "status", db=db)
    assert_fits(status)
    for run in json.loads(run80("sync", "status", "--json", db=db)):
        assert re.search(rf"^\s*{run['id']}\s+{run['source']}\s+\S+ \S+\s+{run['status']}\s", status, re.M)

    releases = run80("inventory", "releases", db=db)
    assert_fits(releases)
    assert "azl3" in releases.split()

    run80(
        "triage", "set", "CVE-2021-3998", "glibc", "--status", "not_affected",
        "--justification", "vulnerable_code_cannot_be_controlled_by_adversary",
        "--detail", "the vulnerable path is never reached by the host's own services, see the review",
        db=db,
    )  # fmt: skip
    triage = run80("triage", "list", db=db)
    assert_fits(triage)
    assert re.search(r"^CVE-2021-3998\s+glibc\s+all\s+not_affected\s", triage, re.M)

    check = run80("mapping", "check", "--release", "azl3", db=db)
    assert_fits(check)
    suggest = run80("mapping", "suggest", "--release", "azl3", db=db)
    assert_fits(suggest)
    for s in json.loads(run80("mapping", "suggest", "--release", "azl3", "--json", db=db)):
        assert re.search(rf"^{re.escape(s['package'])}\s+{re.escape(s['cpe'])}\s", suggest, re.M)

    plan = run80("rebuild-plan", "--release", "azl3", db=db)
    assert_fits(plan)
    for item in json.loads(run80("rebuild-plan", "--release", "azl3", "--json", db=db))["packages"]:
        assert re.search(rf"^{re.escape(item['package'])}\s", plan, re.M)
        assert set(item["closes"]) | set(item["still_open"]) <= set(CVE_RE.findall(plan))

    env = {**os.environ, "COLUMNS": "80"}
    lint = [*CLI, "lint", str(SPECS / "curl")]
    proc = subprocess.run(lint, capture_output=True, text=True, env=env, check=False)
    # the findings are one line each (for grep); the table after them fits
    finding = re.compile(r"^\S+: (error|warning|info) \[")
    table = "\n".join(line for line in proc.stdout.splitlines() if not finding.match(line))
    assert_fits(table)
    assert re.search(r"\bpatch-without-cve-ref\b\W+0\W+6\W+0\b", table), table
