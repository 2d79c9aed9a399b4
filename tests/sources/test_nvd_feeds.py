"""NVD 2.0 feed files (with .meta) from a folder and from a URL: sha256 checked before anything is stored,
unchanged feeds skipped."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine

from cvewatch.errors import InputError
from cvewatch.model.records import Vulnerability
from cvewatch.sources.nvd_feeds import feed_state_key, parse_meta, sync_nvd_feeds
from cvewatch.sources.nvd_json import parse_cve
from cvewatch.store.sync_runs import load_cursor, recent_runs
from cvewatch.store.vulnerabilities import load_vulnerabilities

from .nvd_server import load_dataset


@pytest.fixture(scope="module")
def dataset(nvd_data: Path) -> list[dict[str, Any]]:
    return load_dataset(nvd_data)


def write_feed(folder: Path, name: str, cves: list[dict[str, Any]], *, sha256: str | None = None) -> str:
    """Write ``name``.json.gz and ``name``.meta (CRLF, as NVD serves it); returns the true sha256."""
    doc = {
        "resultsPerPage": len(cves),
        "startIndex": 0,
        "totalResults": len(cves),
        "format": "NVD_CVE",
        "version": "2.0",
        "timestamp": "2026-10-01T00:00:00.000",
        "vulnerabilities": [{"cve": c} for c in cves],
    }
    data = orjson.dumps(doc)
    packed = gzip.compress(data)
    (folder / f"{name}.json.gz").write_bytes(packed)
    digest = hashlib.sha256(data).hexdigest().upper()
    meta = (
        f"lastModifiedDate:2026-10-01T03:00:01-04:00\r\nsize:{len(data)}\r\nzipSize:{len(packed) + 100}\r\n"
        f"gzSize:{len(packed)}\r\nsha256:{sha256 or digest}\r\n"
    )
    (folder / f"{name}.meta").write_text(meta, newline="")
    return digest.lower()


@pytest.fixture
def feeds(tmp_path: Path, dataset: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "feeds"
    folder.mkdir()
    write_feed(folder, "nvdcve-2.0-2019", [c for c in dataset if c["published"].startswith("2019")])
    write_feed(folder, "nvdcve-2.0-2022", [c for c in dataset if c["published"].startswith("2022")])
    write_feed(folder, "nvdcve-2.0-modified", [c for c in dataset if c["lastModified"] >= "2025"])
    return folder


def in_feeds(dataset: list[dict[str, Any]]) -> list[Vulnerability]:
    chosen = [
        c for c in dataset if c["published"].startswith(("2019", "2022")) or c["lastModified"] >= "2025"
    ]
    return sorted((parse_cve(c) for c in chosen), key=lambda v: v.id)


def stored(engine: Engine) -> list[Vulnerability]:
    with engine.connect() as conn:
        return list(load_vulnerabilities(conn))


def test_the_real_meta_examples_parse(nvd_data: Path) -> None:
    folder = nvd_data / "feed-meta-examples"
    meta = parse_meta(
        (folder / "nvdcve-1.1-modified.meta.from-jeffpound-NVD-JSON-Feeds").read_text(),
        origin="modified.meta",
    )
    assert meta.size == 6449444 and meta.gz_size == 467736 and meta.zip_size == 467880
    assert meta.sha256 == "94eda0ed04555f046bbe69716f13a0efc2952f3a2234e654f7d55c9a7d28c567"
    assert meta.last_modified == "2025-02-24T20:00:01-05:00"
    with pytest.raises(InputError, match="lacks sha256"):
        parse_meta("lastModifiedDate:x\nsize:1\n", origin="bad.meta")


def test_feeds_import_then_unchanged_feeds_are_skipped(
    engine: Engine, feeds: Path, dataset: list[dict[str, Any]]
) -> None:
    first = sync_nvd_feeds(engine, str(feeds))
    assert [(r.name, r.status) for r in first.feeds] == [
        ("nvdcve-2.0-2019", "imported"),
        ("nvdcve-2.0-2022", "imported"),
        ("nvdcve-2.0-modified", "imported"),
    ]
    assert stored(engine) == in_feeds(dataset)
    with engine.connect() as conn:
        sha = (load_cursor(conn, feed_state_key("nvdcve-2.0-2019")) or {}).get("sha256")
    assert sha == first.feeds[0].sha256
    second = sync_nvd_feeds(engine, str(feeds))
    assert {r.status for r in second.feeds} == {"skipped"}
    assert stored(engine) == in_feeds(dataset)
    with engine.connect() as conn:
        runs = recent_runs(conn)
    assert (runs[0].status, runs[0].pages, runs[0].new) == ("ok", 0, 0)
    assert (runs[1].status, runs[1].pages, runs[1].new) == ("ok", 3, len(in_feeds(dataset)))


def test_a_changed_feed_is_imported_again(engine: Engine, feeds: Path, dataset: list[dict[str, Any]]) -> None:
    sync_nvd_feeds(engine, str(feeds))
    changed = dict(next(c for c in dataset if c["lastModified"] >= "2025"))
    changed["lastModified"] = "2026-10-01T00:00:00.000"
    changed["vulnStatus"] = "Rejected"
    write_feed(feeds, "nvdcve-2.0-modified", [changed])
    report = sync_nvd_feeds(engine, str(feeds))
    assert [r.status for r in report.feeds] == ["skipped", "skipped", "imported"]
    assert (report.feeds[2].updated, report.feeds[2].rejected) == (1, 1)


def test_a_wrong_sha256_is_refused_and_nothing_is_stored(
    engine: Engine, tmp_path: Path, dataset: list[dict[str, Any]]
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    write_feed(folder, "nvdcve-2.0-2019", dataset[:50], sha256="0" * 64)
    with pytest.raises(InputError, match=r"feed nvdcve-2\.0-2019: the uncompressed data does not match"):
        sync_nvd_feeds(engine, str(folder))
    assert stored(engine) == []
    with engine.connect() as conn:
        assert load_cursor(conn, feed_state_key("nvdcve-2.0-2019")) is None
        assert recent_runs(conn)[0].status == "failed"


def test_a_corrupt_gzip_is_refused(engine: Engine, tmp_path: Path, dataset: list[dict[str, Any]]) -> None:
    folder = tmp_path / "cut"
    folder.mkdir()
    write_feed(folder, "nvdcve-2.0-recent", dataset[:50])
    data = (folder / "nvdcve-2.0-recent.json.gz").read_bytes()
    (folder / "nvdcve-2.0-recent.json.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        sync_nvd_feeds(engine, str(folder))
    assert stored(engine) == []


@pytest.fixture
def feed_url(feeds: Path) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(feeds)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feeds/json/cve/2.0"
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:
        return super().translate_path(path.replace("/feeds/json/cve/2.0", "", 1))

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_feeds_from_a_url(sqlite_store: Engine, feed_url: str, dataset: list[dict[str, Any]]) -> None:
    names = ["nvdcve-2.0-2019", "nvdcve-2.0-2022", "nvdcve-2.0-modified"]
    report = sync_nvd_feeds(sqlite_store, feed_url, names=names)
    assert [r.status for r in report.feeds] == ["imported"] * 3
    assert stored(sqlite_store) == in_feeds(dataset)
    again = sync_nvd_feeds(sqlite_store, feed_url, names=names)
    assert [r.status for r in again.feeds] == ["skipped"] * 3


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Engine]:
    from cvewatch.store.db import open_engine

    eng = open_engine(f"sqlite:///{tmp_path / 'feeds.sqlite'}")
    yield eng
    eng.dispose()


def test_the_cli_names_the_feed_and_exits_non_zero_on_a_mismatch(
    tmp_path: Path, feeds: Path, dataset: list[dict[str, Any]]
) -> None:
    env = {**os.environ, "CVEWATCH_DB": f"sqlite:///{tmp_path / 'cli.sqlite'}", "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "cvewatch.cli", "sync", "nvd-feed", str(feeds)]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "nvdcve-2.0-2019:" in ok.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert again.stdout.count("skipped") == 3
    write_feed(feeds, "nvdcve-2.0-2022", dataset[:5], sha256="A" * 64)
    bad = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
    assert "nvdcve-2.0-2022" in bad.stderr and "does not match" in bad.stderr
