"""`publish csaf` issues documents as the configured publisher, never silently as the demo's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cvewatch.store.db import open_engine
from cvewatch.store.published import T_PUBLISHED

from .test_cli import run

PUBLISHER_ENV = (
    "CVEWATCH_CONFIG",
    "CVEWATCH_PUBLISHER_NAME",
    "CVEWATCH_PUBLISHER_NAMESPACE",
    "CVEWATCH_PUBLISHER_CATEGORY",
    "CVEWATCH_PUBLISHER_CONTACT",
    "CVEWATCH_PUBLISHER_AUTHORITY",
)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's store (the demo publishes once, as the demo publisher)."""
    folder = tmp_path_factory.mktemp("demo")
    run("demo", "--out", str(folder), db=f"sqlite:///{folder / 'cvewatch-demo.sqlite'}")
    return folder / "cvewatch-demo.sqlite"


@pytest.fixture
def demo_db(demo_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the demo's store, and no publisher in the environment."""
    for name in PUBLISHER_ENV:
        monkeypatch.delenv(name, raising=False)
    shutil.copyfile(demo_store, tmp_path / "store.sqlite")
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


def _published_rows(db: str) -> int:
    engine = open_engine(db)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(T_PUBLISHED)).scalar_one())
    engine.dispose()
    return n


def _first_document(folder: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads(sorted(folder.rglob("*.json"))[0].read_text())
    return doc


def test_no_publisher_configured_is_one_clear_error_and_writes_nothing(demo_db: str, tmp_path: Path) -> None:
    rows = _published_rows(demo_db)
    proc = run(
        "publish", "csaf", "--release", "azl3", "--out", str(tmp_path / "out"), db=demo_db, check=False
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no publisher configured" in lines[0] and "--publisher-name" in lines[0]
    assert not (tmp_path / "out").exists() and _published_rows(demo_db) == rows


def test_the_publisher_comes_from_options_or_settings(demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run(
        "publish", "csaf", "--release", "azl3", "--out", str(out), "--product-name", "Example Linux 3",
        "--publisher-name", "Example Linux", "--publisher-namespace", "https://security.example.com/",
        "--publisher-contact", "security@example.com",
        db=demo_db,
    )  # fmt: skip
    assert "as Example Linux" in proc.stdout and "revised" in proc.stdout
    doc = _first_document(out)["document"]
    assert isinstance(doc, dict)
    assert doc["publisher"] == {
        "category": "vendor",
        "contact_details": "security@example.com",
        "name": "Example Linux",
        "namespace": "https://security.example.com/",
    }
    assert "by Example Linux," in json.dumps(doc["notes"]) and "demo" not in json.dumps(doc["notes"])
    assert doc["references"][0]["url"].startswith("https://security.example.com/csaf/vex/")
    # another publisher: the content changed, so version 2
    assert doc["tracking"]["version"] == "2"

    config = tmp_path / "cvewatch.toml"
    config.write_text(
        '[publisher]\nname = "Settings Linux"\nnamespace = "https://settings.example.org/"\n'
        'category = "other"\n'
    )
    out2 = tmp_path / "out2"
    run("publish", "csaf", "--release", "azl3", "--out", str(out2), "--config", str(config), db=demo_db)
    doc2 = _first_document(out2)["document"]
    assert isinstance(doc2, dict)
    assert doc2["publisher"] == {
        "category": "other",
        "name": "Settings Linux",
        "namespace": "https://settings.example.org/",
    }
    out3 = tmp_path / "out3"  # an option wins over the file
    run(
        "publish", "csaf", "--release", "azl3", "--out", str(out3), "--config", str(config),
        "--publisher-name", "Option Linux", db=demo_db,
    )  # fmt: skip
    doc3 = _first_document(out3)["document"]
    assert isinstance(doc3, dict)
    assert doc3["publisher"]["name"] == "Option Linux"  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--publisher-name", "X", "--publisher-namespace", "not a url"], "must be an http(s) URL"),
        (["--publisher-name", "X", "--publisher-namespace", "ftp://x.example/"], "must be an http(s) URL"),
        (["--publisher-namespace", "https://x.example/"], "no publisher configured (no name)"),
        (
            [
                "--publisher-name",
                "X",
                "--publisher-namespace",
                "https://x.example/",
                "--publisher-category",
                "boss",
            ],
            "Invalid value for '--publisher-category'",  # a click choice: a usage error
        ),
        (["--publisher-name", " ", "--publisher-namespace", "https://x.example/"], "no publisher configured"),
    ],
)
def test_bad_publisher_values(demo_db: str, tmp_path: Path, args: list[str], message: str) -> None:
    rows = _published_rows(demo_db)
    proc = run(
        "publish", "csaf", "--release", "azl3", "--out", str(tmp_path / "o"), *args, db=demo_db, check=False
    )
    assert proc.returncode == (2 if "Invalid value" in message else 1) and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists() and _published_rows(demo_db) == rows
