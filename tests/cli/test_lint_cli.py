"""`cvewatch lint` reports what `inventory load-specs` rejects: the same reader, a finding per rejected file,
exit status 1. It used to report nothing, exit 0, for an empty or binary spec and for an unterminated
``%if`` or ``%{``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cvewatch.cli import app
from cvewatch.inventory.tree import load_spec_tree

GOOD = """\
Name:           {name}
Version:        1.0
Release:        1%{{?dist}}
License:        MIT
Summary:        test

%description
test

%changelog
* Mon Jan 01 2024 A Person <a@example.org> - 1.0-1
- first
"""

# an unterminated %if before the header tags: every tag is in the false branch, nothing is read
OPEN_IF = "%if 0%{?with_docs}\n" + GOOD.format(name="openif")
# an unterminated %{ in Version
OPEN_BRACE = GOOD.format(name="openbrace").replace("Version:        1.0", "Version:        %{ver")
BINARY = bytes(range(256)) * 8

BAD = {
    "empty": (b"", "an empty file, not a spec"),
    "blank": (b"  \n\n\t\n", "an empty file, not a spec"),
    "binary": (BINARY, "a binary file (NUL bytes), not a spec"),
    "openif": (OPEN_IF.encode(), "%if without %endif"),
    "openbrace": (OPEN_BRACE.encode(), "unterminated %{ left literal"),
}


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def tree(root: Path, specs: dict[str, bytes]) -> Path:
    for name, body in specs.items():
        (root / name).mkdir(parents=True)
        (root / name / f"{name}.spec").write_bytes(body)
    return root


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_spec_the_loader_rejects_is_an_error_finding(tmp_path: Path, kind: str) -> None:
    body, why = BAD[kind]
    root = tree(tmp_path / "SPECS", {kind: body, "good": GOOD.format(name="good").encode()})
    loaded = load_spec_tree(root)
    assert [p.name for p in loaded.packages] == ["good"]  # what load-specs rejects ...
    code, output = lint(str(root), "--json")
    assert code == 1  # ... makes lint exit 1
    findings = [f for f in json.loads(output) if f["rule"] == "unreadable-spec"]
    assert {f["path"] for f in findings} == {f"{kind}/{kind}.spec"}
    assert all(f["severity"] == "error" for f in findings)
    assert any(why in f["message"] for f in findings), findings
    assert any("rejects it" in f["message"] or "not a readable spec" in f["message"] for f in findings)


def test_text_output_names_the_file_and_counts_the_rule(tmp_path: Path) -> None:
    root = tree(tmp_path / "SPECS", {"empty": b"", "binary": BINARY})
    code, output = lint(str(root))
    assert code == 1
    assert (
        "empty/empty.spec: error [unreadable-spec] not a readable spec: an empty file, not a spec" in output
    )
    assert "binary/binary.spec: error [unreadable-spec] not a readable spec: a binary file" in output
    row = next(line for line in output.splitlines() if "unreadable-spec" in line and "│" in line)
    assert row.split("│")[2].strip() == "2"  # the error column


def test_an_unclosed_if_that_the_loader_reads_past_is_still_an_error(tmp_path: Path) -> None:
    """rpmbuild stops on an unclosed %if ("Unclosed %if"); the loader reads on, so the lint says it."""
    spec = GOOD.format(name="late") + "%if 0%{?with_docs}\n%files\n"
    root = tree(tmp_path / "SPECS", {"late": spec.encode()})
    assert [p.name for p in load_spec_tree(root).packages] == ["late"]
    code, output = lint(str(root / "late"), "--json")
    assert code == 1
    (finding,) = [f for f in json.loads(output) if f["rule"] == "unreadable-spec"]
    assert finding["line"] == 13 and finding["message"] == "rpm refuses it: %if without %endif"


def test_a_clean_folder_still_exits_0(tmp_path: Path) -> None:
    root = tree(tmp_path / "SPECS", {"good": GOOD.format(name="good").encode()})
    code, output = lint(str(root), "--json")
    assert code == 0 and json.loads(output) == []
