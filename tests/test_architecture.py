"""The import contract (pyproject.toml, ``[tool.importlinter]``): the pipeline's packages form a one-way
layered graph, checked by import-linter on the real tree, imports inside functions included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the ``cvewatch`` package found first in ``src``, with the project's contract."""
    shutil.copy(ROOT / "pyproject.toml", cwd / "pyproject.toml")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_layers_point_one_way(tmp_path: Path) -> None:
    ran = _lint_imports(ROOT / "src", tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Contracts: 1 kept, 0 broken." in ran.stdout


def test_a_forbidden_import_breaks_the_contract(tmp_path: Path) -> None:
    """The model importing the store, inside a function as imports dodging a cycle used to be: refused."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "cvewatch", src / "cvewatch", ignore=shutil.ignore_patterns("__pycache__"))
    records = src / "cvewatch" / "model" / "records.py"
    records.write_text(
        records.read_text() + "\n\ndef _sneaky() -> None:\n    from cvewatch.store import db  # noqa: F401\n"
    )
    ran = _lint_imports(src, tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "cvewatch.model is not allowed to import cvewatch.store" in ran.stdout
    assert "cvewatch.model.records -> cvewatch.store.db" in ran.stdout
