"""The demo's printout, `inventory releases`, `sync status` and the README agree.

Once the demo printed 244 source packages where `inventory releases` said 240, and "0 problems" beside
counts `sync status` did not show; the README named the image `aks-202608.20.0`, the demo
`AKSAzureLinuxV3-gen2-202608.20.0`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cvewatch.demo.run import DEMO_IMAGE

from ..conftest import ROOT
from .test_cli import run

SYNC_LINE = re.compile(
    r"^sync (?P<step>nvd|cve5): run (?P<run>\d+) (?P<status>\w+), (?P<read>\d+) .* read.*: "
    r"(?P<new>\d+) new, (?P<updated>\d+) updated, (?P<unchanged>\d+) unchanged, "
    r"(?P<rejected>\d+) rejected, (?P<errors>\d+) problems$",
    re.M,
)


def test_the_demo_prints_what_the_store_says(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()  # a store named by --db is never given a folder (only the default one)
    db = f"sqlite:///{tmp_path / 'demo' / 'cvewatch-demo.sqlite'}"
    printed = run("demo", "--out", str(tmp_path / "demo"), db=db).stdout

    releases = {
        r["release"]: r["packages"] for r in json.loads(run("inventory", "releases", "--json", db=db).stdout)
    }
    m = re.search(r"^inventory: release (\S+), (\d+) source packages .*, (\d+) problems$", printed, re.M)
    assert m is not None, printed
    assert releases == {m[1]: int(m[2])}
    table = run("inventory", "releases", db=db).stdout
    assert re.search(rf"\b{m[1]}\b.*\b{m[2]}\b", table)

    runs = {r["id"]: r for r in json.loads(run("sync", "status", "--json", db=db).stdout)}
    lines = list(SYNC_LINE.finditer(printed))
    assert [x["step"] for x in lines] == ["nvd", "cve5"], printed
    for x in lines:
        r = runs[int(x["run"])]
        assert r["source"] == {"nvd": "nvd-files", "cve5": "cve5"}[x["step"]]
        assert r["status"] == x["status"]
        for key in ("new", "updated", "unchanged", "rejected", "errors"):
            assert r[key] == int(x[key]), (x["step"], key)

    m = re.search(rf"^inventory: node image {re.escape(DEMO_IMAGE)}, (\d+) installed packages", printed, re.M)
    assert m is not None, printed
    installed = int(m[1])
    m = re.search(
        rf"^scan: (\d+) verdicts for release azl3, (\d+) for image {re.escape(DEMO_IMAGE)}$", printed, re.M
    )
    assert m is not None, printed
    assert len(json.loads(run("scan", "--release", "azl3", "--json", db=db).stdout)) == int(m[1])
    assert len(json.loads(run("scan", "--image", DEMO_IMAGE, "--json", db=db).stdout)) == int(m[2])

    readme = (ROOT / "README.md").read_text()
    assert DEMO_IMAGE in readme
    assert not re.search(r"(?<![\w-])aks-\d{6}", readme), "the README names an image the demo does not have"
    assert (
        f"{releases['azl3']}\n   source packages" in readme or f"{releases['azl3']} source packages" in readme
    )
    assert f"{installed} installed RPMs" in readme
