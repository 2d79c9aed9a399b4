"""A hostile spec tree: symlinks out of the tree, FIFOs, a link to /dev/zero, oversize files.

Reading such a tree used to put ``/etc/passwd`` into the store as a triage justification, block for ever on a
FIFO and read ``/dev/zero`` until memory ran out. The loads here run in a subprocess with a timeout and a
memory limit, so that a regression fails the test instead of hanging CI.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cvewatch.errors import InputError
from cvewatch.inventory.specfile import parse_spec
from cvewatch.inventory.treefiles import SpecTree
from cvewatch.limits import MAX_NOPATCH_BYTES, MAX_TREE_FILE_BYTES
from cvewatch.store.db import open_engine
from cvewatch.store.models import SourcePackageRow, TriageFileRow

SPEC = """\
Name:           {name}
Version:        1.0
Release:        1%{{?dist}}
License:        MIT
Summary:        test
{patches}
%description
test

%changelog
* Mon Jan 01 2024 A Person <a@example.org> - 1.0-1
- first
"""


def _spec(name: str, *patches: str) -> str:
    return SPEC.format(name=name, patches="\n".join(f"Patch{k}: {p}" for k, p in enumerate(patches)))


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_guarded(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A command in a subprocess that cannot hang or exhaust the machine: 60 s, 2 GB of address space."""
    try:
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(args[:4])}… did not finish in 60 s (a FIFO or /dev/zero was read?): {exc}")


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """SPECS/ with one good package whose folder holds every kind of hostile file, and more around it."""
    root = tmp_path / "SPECS"
    good = root / "good"
    good.mkdir(parents=True)
    # the patch named by Patch0 is a link to /dev/zero: its header would be read
    (good / "good.spec").write_text(_spec("good", "CVE-2024-0003.patch", "fine.patch"))
    (good / "fine.patch").write_text("Subject: fix\nCVE: CVE-2024-0010\n\ndiff --git a/x b/x\n")
    os.symlink("/etc/passwd", good / "CVE-2024-0001.nopatch")
    os.mkfifo(good / "CVE-2024-0002.nopatch")
    os.symlink("/dev/zero", good / "CVE-2024-0003.patch")
    os.symlink("/dev/zero", good / "CVE-2024-0004.nopatch")
    with (good / "CVE-2024-0005.nopatch").open("wb") as fh:  # a justification of 1 MiB: over its limit
        fh.truncate(MAX_NOPATCH_BYTES + 1)
    os.mkfifo(good / "zzz.spec")  # a FIFO named like a spec
    # a link inside the tree to a file inside the tree is followed
    (root / "notes").mkdir()
    (root / "notes" / "why.txt").write_text("the vulnerable code is not built\n")
    os.symlink("../notes/why.txt", good / "CVE-2024-0006.nopatch")
    # a spec over the size limit (sparse: no disk used), a folder linked out of the tree, a spec linked out
    big = root / "big"
    big.mkdir()
    with (big / "big.spec").open("wb") as fh:
        fh.truncate(MAX_TREE_FILE_BYTES + 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.spec").write_text(_spec("evil"))
    os.symlink(outside, root / "evil")
    (root / "linked").mkdir()
    os.symlink(outside / "evil.spec", root / "linked" / "linked.spec")
    return root


def _check(problems: list[str]) -> None:
    text = "\n".join(problems)
    for needle in (
        "good/CVE-2024-0001.nopatch: a symlink to '/etc/passwd', outside the tree: skipped",
        "good/CVE-2024-0002.nopatch: a FIFO, not a regular file: skipped",
        "good/CVE-2024-0003.patch: a symlink to '/dev/zero', outside the tree: skipped",
        "good/CVE-2024-0004.nopatch: a symlink to '/dev/zero', outside the tree: skipped",
        "good/CVE-2024-0005.nopatch: larger than the limit of 64 KiB (cvewatch.limits): skipped",
        "good/zzz.spec: a FIFO, not a regular file: skipped",
        "big/big.spec: larger than the limit of 16 MiB (cvewatch.limits): skipped",
        "SPECS/evil: a symlink to",
        "linked/linked.spec: a symlink to",
    ):
        assert needle in text, f"{needle!r} not reported in:\n{text}"


_LOAD = """
import json, sys
from pathlib import Path
from cvewatch.inventory.tree import load_spec_tree
r = load_spec_tree(Path(sys.argv[1]))
print(json.dumps({
    "packages": {p.name: {"triage": [[t.cve, t.justification] for t in p.triage],
                          "patches": [[x.filename, x.present, list(x.cves)] for x in p.patches]}
                 for p in r.packages},
    "problems": [str(p) for p in r.problems],
}))
"""


def test_a_hostile_tree_loads_without_reading_what_is_not_a_file_of_the_tree(hostile: Path) -> None:
    proc = run_guarded(sys.executable, "-c", _LOAD, str(hostile))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert sorted(out["packages"]) == ["good"]  # not evil (outside), not big (too large)
    good = out["packages"]["good"]
    # only the link inside the tree is a triage record; nothing of /etc/passwd, /dev/zero or the FIFO
    assert good["triage"] == [["CVE-2024-0006", "the vulnerable code is not built"]]
    assert good["patches"] == [
        ["CVE-2024-0003.patch", False, ["CVE-2024-0003"]],  # the /dev/zero link is not a patch file
        ["fine.patch", True, ["CVE-2024-0010"]],
    ]
    assert "root:" not in proc.stdout
    _check(out["problems"])


def test_load_specs_stores_nothing_foreign(hostile: Path, db_url: str) -> None:
    proc = run_guarded(
        sys.executable,
        "-m",
        "cvewatch.cli",
        "inventory",
        "load-specs",
        str(hostile),
        "--release",
        "azl3",
        env={"CVEWATCH_DB": db_url},
    )
    assert proc.returncode == 0, proc.stderr
    assert "release azl3: 1 source packages" in proc.stdout
    assert "Traceback" not in proc.stderr
    _check(proc.stderr.replace("\n", " ").split("warning: "))
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(select(SourcePackageRow.name)).scalars().all()
            triage = conn.execute(select(TriageFileRow.cve, TriageFileRow.justification)).all()
    finally:
        engine.dispose()
    assert names == ["good"]
    assert [tuple(t) for t in triage] == [("CVE-2024-0006", "the vulnerable code is not built")]


def test_lint_reports_every_skipped_file_as_an_error(hostile: Path) -> None:
    code = (
        "import json, sys; from pathlib import Path; from cvewatch.inventory.lint import lint_tree; "
        "print(json.dumps([f.to_dict() for f in lint_tree(Path(sys.argv[1])).findings]))"
    )
    proc = run_guarded(sys.executable, "-c", code, str(hostile))
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)
    assert all(f["severity"] == "error" for f in findings if f["rule"] in ("skipped-file", "unreadable-spec"))
    assert [f["path"] for f in findings if f["rule"] == "unreadable-spec"] == ["big/big.spec"]
    skipped = {f["path"]: f["message"] for f in findings if f["rule"] == "skipped-file"}
    assert sorted(skipped) == [
        "evil",
        "good/CVE-2024-0001.nopatch",
        "good/CVE-2024-0002.nopatch",
        "good/CVE-2024-0003.patch",
        "good/CVE-2024-0004.nopatch",
        "good/CVE-2024-0005.nopatch",
        "good/zzz.spec",
        "linked/linked.spec",
    ]
    assert "root:" not in proc.stdout


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of blocking for ever on a FIFO (a blocking open() is interrupted by the alarm)."""

    def fire(signum: int, frame: object) -> None:
        raise TimeoutError("blocked on a FIFO")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_file_swapped_for_a_fifo_after_the_listing_is_refused_without_blocking(
    tmp_path: Path, alarm: None
) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "CVE-2024-0001.nopatch").write_text("fixed upstream\n")
    listing = SpecTree(tmp_path).folder(folder)
    assert listing.read("CVE-2024-0001.nopatch", max_bytes=100) == b"fixed upstream\n"
    (folder / "CVE-2024-0001.nopatch").unlink()
    os.mkfifo(folder / "CVE-2024-0001.nopatch")
    with pytest.raises(InputError, match="a FIFO, not a regular file"):
        listing.read("CVE-2024-0001.nopatch", max_bytes=100)
    (folder / "CVE-2024-0001.nopatch").unlink()
    os.symlink("/etc/passwd", folder / "CVE-2024-0001.nopatch")
    with pytest.raises(InputError, match="cannot read"):  # O_NOFOLLOW: a link is not opened
        listing.read("CVE-2024-0001.nopatch", max_bytes=100)


def test_one_spec_read_alone_is_a_tree_of_its_own_folder(hostile: Path, alarm: None) -> None:
    result = parse_spec(hostile / "good" / "good.spec")
    assert result.package is not None
    assert [t.cve for t in result.package.triage] == []  # the link to ../notes leaves this one-folder tree
    assert any(
        "CVE-2024-0006.nopatch: a symlink to '../notes/why.txt', outside" in str(p) for p in result.problems
    )
    assert parse_spec(hostile / "good" / "zzz.spec").package is None
