"""Input limits (cvewatch.limits): a user-given file beyond one is one clear error naming the file and limit.

Deeply nested JSON used to end in a RecursionError traceback, a huge or endless file (``/dev/zero``) was read
until memory ran out. Reads that could hang or exhaust memory if the limits broke run in a subprocess with a
timeout and a memory limit.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvewatch.cli import app
from cvewatch.errors import InputError
from cvewatch.inventory.components import parse_component_text, read_component_file
from cvewatch.inventory.gobuildinfo import parse_go_version_m
from cvewatch.inventory.imagelist import parse_image_list, parse_package_list, parse_package_text
from cvewatch.inventory.snapshot import load_snapshot
from cvewatch.limits import MAX_INPUT_BYTES, MAX_JSON_DEPTH, MAX_RECORDS, read_input
from cvewatch.sources.cve5 import read_location, read_record
from cvewatch.sources.kev import read_catalog
from cvewatch.sources.nvd_files import read_file

DEEP = 100_000
DEEP_ARRAY = "[" * DEEP + "]" * DEEP
DEEP_OBJECT = '{"a":' * DEEP + "1" + "}" * DEEP
NESTED = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def run_guarded(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Python code in a subprocess that cannot hang or exhaust the machine: 60 s, 2 GB of address space."""
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_limit_memory,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"did not finish in 60 s: {exc}")


def cli(*args: str, db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--db", f"sqlite:///{db}", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("text", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_to_load_image_and_diff_is_one_clear_error(tmp_path: Path, text: str) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(text)
    good = tmp_path / "good.txt"
    good.write_text("curl-8.11.1-11.azl3.x86_64\n")
    specs = tmp_path / "SPECS" / "curl"
    specs.mkdir(parents=True)
    (specs / "curl.spec").write_text(
        "Name: curl\nVersion: 8.11.1\nRelease: 11%{?dist}\nSummary: s\nLicense: MIT\n%description\nd\n"
    )
    loaded = cli(
        "inventory",
        "load-specs",
        str(specs.parent),
        "--release",
        "azl3",
        "--dist",
        ".azl3",
        db=tmp_path / "s.sqlite",
    )
    assert loaded[0] == 0, loaded[1]
    for args in (
        ("inventory", "load-image", str(deep), "--name", "x", "--release", "azl3"),
        ("inventory", "diff", str(good), str(deep)),
    ):
        code, output = cli(*args, db=tmp_path / "s.sqlite")
        assert code == 1
        assert "Traceback" not in output and "RecursionError" not in output
        assert f"{deep}: {NESTED}" in " ".join(output.split())


def test_nested_components_within_the_limit_are_read(tmp_path: Path) -> None:
    """500 levels of nested CycloneDX components (1,000 JSON levels): read, not a RecursionError."""
    leaf = '{"type": "library", "name": "zlib", "purl": "pkg:rpm/azurelinux/zlib@1.3-1.azl3"}'
    wrap = '{"type": "library", "name": "wrap", "components": ['
    text = '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ['
    text += wrap * 499 + leaf + "]}" * 499 + "]}"  # json.dumps itself cannot write this deep
    result = parse_package_text(text, path="deep.cdx.json")
    assert [p.nevra for p in result.packages] == ["zlib-1.3-1.azl3"]
    parts = parse_component_text(
        text.replace("pkg:rpm/azurelinux/zlib", "pkg:generic/zlib").encode(), path="d"
    )
    assert [c.name for c in parts.components] == ["zlib"]
    # a bad element that deep is named by its first levels, not by a name of 500 levels
    bad = text.replace("pkg:rpm/azurelinux/zlib@1.3-1.azl3", "pkg:rpm/azurelinux/zlib@1.3")
    (problem,) = parse_package_text(bad, path="deep.cdx.json").problems[:1]
    assert problem.message.startswith("components[0].components[0]") and len(problem.message) < 400


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:  # sparse: no disk used
        fh.truncate(MAX_INPUT_BYTES + 1)
    for read in (parse_package_list, read_component_file, read_input):
        with pytest.raises(
            InputError, match=r"big\.txt: larger than the limit of 256 MiB \(cvewatch\.limits\)"
        ):
            read(big)
    code, output = cli("inventory", "diff", str(big), str(big), db=tmp_path / "s")
    assert code == 1 and "larger than the limit of 256 MiB" in output


_DEVICE = """
import sys
from pathlib import Path
from cvewatch.errors import InputError
from cvewatch.inventory.imagelist import parse_package_list
from cvewatch.inventory.components import read_component_file
from cvewatch.sources.cve5 import read_location
from cvewatch.sources.nvd_files import read_file
for read in (parse_package_list, read_component_file, lambda p: read_location(str(p)), read_file):
    try:
        out = read(Path(sys.argv[1]))
        out = list(out) if read is read_file else out
    except InputError as exc:
        print("InputError:", exc)
    else:
        print("returned:", str(out)[:200])
"""


def test_a_device_is_never_read() -> None:
    proc = run_guarded(_DEVICE, "/dev/zero")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["InputError: /dev/zero: cannot read: a character device, not a regular file"] * 3
    assert "cannot read: a character device, not a regular file" in lines[3]  # a RecordProblem of the file


def test_more_lines_or_elements_than_the_limit_are_refused() -> None:
    lines = "x\n" * (MAX_RECORDS + 1)
    with pytest.raises(InputError, match=r"list\.txt: more than 1,000,000 lines \(the limit"):
        parse_image_list(lines, path="list.txt")
    with pytest.raises(InputError, match="more than 1,000,000 lines"):
        parse_package_text("\r" * (MAX_RECORDS + 1), path="list.txt")  # every line break counts
    with pytest.raises(InputError, match=r"go\.txt: more than 1,000,000 lines"):
        parse_go_version_m("/usr/bin/x: go1.22.5\n" + "\tbuild\tx=y\n" * MAX_RECORDS, path="go.txt")
    spdx = '{"spdxVersion": "SPDX-2.3", "packages": [' + ",".join(["{}"] * (MAX_RECORDS + 1)) + "]}"
    with pytest.raises(InputError, match=r"sbom\.json: more than 1,000,000 SBOM elements"):
        parse_package_text(spdx, path="sbom.json")
    with pytest.raises(InputError, match=r"sbom\.json: more than 1,000,000 SBOM elements"):
        parse_component_text(spdx.encode(), path="sbom.json")
    cdx = '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [' + ",".join(
        ["{}"] * (MAX_RECORDS + 1)
    )
    with pytest.raises(InputError, match=r"sbom\.json: more than 1,000,000 SBOM elements"):
        parse_package_text(cdx + "]}", path="sbom.json")


def test_a_snapshot_beyond_the_limits_is_an_input_error() -> None:
    with pytest.raises(InputError, match=rf"snap\.json: {NESTED}"):
        load_snapshot(DEEP_ARRAY.encode(), "snap.json")
    many = {"format": "cvewatch-release-snapshot/1", "release": "r", "packages": [{}] * (MAX_RECORDS + 1)}
    with pytest.raises(InputError, match=r"snap\.json: more than 1,000,000 packages"):
        load_snapshot(json.dumps(many).encode(), "snap.json")


def test_the_json_files_of_sources_name_the_nesting_limit(tmp_path: Path) -> None:
    deep = tmp_path / "CVE-2024-0001.json"
    deep.write_text(DEEP_OBJECT)
    (problem,) = read_file(deep)
    assert problem.message == f"invalid JSON: {NESTED} (the limit, cvewatch.limits.MAX_JSON_DEPTH)"  # type: ignore[union-attr]
    gz = tmp_path / "page.json.gz"
    gz.write_bytes(gzip.compress(DEEP_ARRAY.encode()))
    (problem,) = read_file(gz)
    assert NESTED in problem.message  # type: ignore[union-attr]
    record = read_record(str(deep))
    assert NESTED in record.message  # type: ignore[union-attr]
    with pytest.raises(InputError, match=NESTED):
        read_catalog(deep)
    with pytest.raises(InputError, match="no such file"):
        read_location(str(tmp_path / "missing.json"))


def test_a_pipe_named_on_the_command_line_is_read(tmp_path: Path) -> None:
    """``load-image <(rpm -qa)`` reads a pipe: allowed, up to the limit (only a tree refuses FIFOs)."""
    r, w = os.pipe()
    os.write(w, b"curl-8.11.1-11.azl3.x86_64\n")
    os.close(w)
    try:
        result = parse_package_list(Path(f"/dev/fd/{r}"))
    finally:
        os.close(r)
    assert [p.name for p in result.packages] == ["curl"]
