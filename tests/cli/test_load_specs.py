"""`inventory load-specs` into an existing release: a partial folder adds or updates, only --replace removes.

Once `load-specs` on a folder of two packages silently removed every other package of the release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from sqlalchemy import select

from cvewatch.store.components import load_components
from cvewatch.store.db import open_engine
from cvewatch.store.inventory import T_SRC, load_release_packages

from ..conftest import SPECS
from .test_cli import run


def _release_size(db: str) -> int:
    rows = json.loads(run("inventory", "releases", "--json", db=db).stdout)
    return int(next(r["packages"] for r in rows if r["release"] == "azl3"))


def test_a_partial_folder_adds_or_updates_and_only_replace_removes(db_url: str, tmp_path: Path) -> None:
    out = run("inventory", "load-specs", str(SPECS), "--release", "azl3", db=db_url).stdout
    whole = _release_size(db_url)
    assert whole > 1500
    engine = open_engine(db_url)
    with engine.connect() as conn:
        components_before = load_components(conn, "azl3")
        changed_before = dict(conn.execute(select(T_SRC.c.name, T_SRC.c.changed_at)).all())

    partial = tmp_path / "SPECS"
    for name in ("curl", "zlib"):
        shutil.copytree(SPECS / name, partial / name)
    spec = partial / "curl" / "curl.spec"
    text = spec.read_text()
    release_line = next(line for line in text.splitlines() if line.startswith("Release:"))
    spec.write_text(text.replace(release_line, "Release:        999%{?dist}"))

    out = run("inventory", "load-specs", str(partial), "--release", "azl3", db=db_url).stdout
    assert _release_size(db_url) == whole
    assert f"release azl3: {whole} source packages (2 specs read from {partial}: " in out
    assert "0 added, 1 changed, 0 removed" in out and f"{whole - 2} not in the folder kept" in out
    with engine.connect() as conn:
        packages = {p.name: p for p in load_release_packages(conn, "azl3")}
        components_after = load_components(conn, "azl3")
        changed_after = dict(conn.execute(select(T_SRC.c.name, T_SRC.c.changed_at)).all())
    assert packages["curl"].release == "999.azl3"
    # every other package is untouched: same row, same components (bundled libraries, toolchains)
    assert {n: t for n, t in changed_after.items() if n != "curl"} == {
        n: t for n, t in changed_before.items() if n != "curl"
    }
    assert {n: c for n, c in components_after.items() if n != "curl"} == {
        n: c for n, c in components_before.items() if n != "curl"
    }

    out = run("inventory", "load-specs", str(partial), "--release", "azl3", "--replace", db=db_url).stdout
    assert f"0 added, 0 changed, {whole - 2} removed" in out
    assert _release_size(db_url) == 2
    engine.dispose()
