"""Credentials in URLs (a user name and password, ``apiKey=``, tokens) never reach the store or the output.

The syncs run against real loopback HTTP servers; the URLs given carry a user name, a password and secret
query parameters, which the servers ignore. What is checked is what ``sync_runs`` holds and what
``sync status --json``, problems and errors show.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, insert, select, text

from cvewatch.errors import InputError
from cvewatch.model.records import RecordProblem
from cvewatch.redact import redact_text, redact_url
from cvewatch.sources.cve5 import Cve5Source, import_cve5, read_record
from cvewatch.sources.epss import import_epss
from cvewatch.sources.kev import import_kev
from cvewatch.store.db import open_engine
from cvewatch.store.models import SyncRunRow
from cvewatch.store.sync_runs import recent_runs

from .nvd_server import FakeNvd, load_dataset, serve

SECRETS = ("hunter2", "alice", "S3CR3T-KEY", "tok-123", "sig-456")


def leaks(value: str) -> list[str]:
    return [s for s in SECRETS if s in value]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://alice:hunter2@services.nvd.nist.gov/rest/json/cves/2.0?apiKey=S3CR3T-KEY&resultsPerPage=5",
            "https://***@services.nvd.nist.gov/rest/json/cves/2.0?apiKey=***&resultsPerPage=5",
        ),
        ("http://alice@127.0.0.1:8080/x", "http://***@127.0.0.1:8080/x"),
        (
            "https://h/feed.json?access_token=tok-123&X-Amz-Signature=sig-456&keywordSearch=curl&apikey=1",
            "https://h/feed.json?access_token=***&X-Amz-Signature=***&keywordSearch=curl&apikey=***",
        ),
        (
            "https://h/a?sig=sig-456&se=2026&API_KEY=x&password=p",
            "https://h/a?sig=***&se=2026&API_KEY=***&password=***",
        ),
        ("https://h/p#access_token=tok-123&state=1", "https://h/p#access_token=***&state=1"),
        (
            "https://services.nvd.nist.gov/rest/json/cves/2.0",
            "https://services.nvd.nist.gov/rest/json/cves/2.0",
        ),
        ("/var/lib/feeds/nvdcve-2.0-2024.json.gz", "/var/lib/feeds/nvdcve-2.0-2024.json.gz"),
        ("http://alice:hunter2@[::1", "http://***@[::1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_redacts_every_url_in_a_message() -> None:
    message = (
        "FetchError: http://alice:hunter2@127.0.0.1/rest?apiKey=S3CR3T-KEY startIndex=0: giving up "
        "(redirected to 'https://mirror.example/x?token=tok-123')"
    )
    shown = redact_text(message)
    assert leaks(shown) == []
    assert "http://***@127.0.0.1/rest?apiKey=*** startIndex=0" in shown
    assert "https://mirror.example/x?token=***'" in shown


# --- the NVD API sync, from the command line ---


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NVD_API_KEY"}
    env.update({"CVEWATCH_DB": db, "COLUMNS": "200"})
    return subprocess.run(
        [sys.executable, "-m", "cvewatch.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _with_credentials(url: str) -> str:
    parts = urlsplit(url)
    return f"http://alice:hunter2@{parts.netloc}{parts.path}?apiKey=S3CR3T-KEY&token=tok-123"


def test_api_url_credentials_are_never_stored_or_printed(tmp_path: Path, nvd_data: Path) -> None:
    cves = load_dataset(nvd_data)[:30]
    broken = copy.deepcopy(cves[3])
    broken["metrics"] = {"cvssMetricV31": [{"source": "x", "type": "Primary", "cvssData": {"baseScore": 1}}]}
    db = f"sqlite:///{tmp_path / 's.sqlite'}"
    with serve(FakeNvd.of([*cves[:3], broken, *cves[4:]])) as url:
        proc = _cli(db, "sync", "nvd", "--api-url", _with_credentials(url), "--rate-limit", "off")
    assert proc.returncode == 0, proc.stderr
    assert "problems" in proc.stdout and "1 problems" in proc.stdout
    assert leaks(proc.stdout + proc.stderr) == []
    assert "***@127.0.0.1" in proc.stderr  # the problem names the (redacted) origin
    engine = open_engine(db)
    try:
        with engine.begin() as conn:
            origin, messages = conn.execute(select(SyncRunRow.origin, SyncRunRow.messages)).one()
            assert leaks(origin) == [] and leaks(json.dumps(messages)) == []
            assert origin.startswith("http://***@127.0.0.1:") and "apiKey=***" in origin
            # a row written by an older version, with the URL as it was given, is redacted when read
            conn.execute(
                insert(SyncRunRow).values(
                    source="nvd-api",
                    origin="http://alice:hunter2@old.example/rest?apiKey=S3CR3T-KEY (full load)",
                    started=datetime(2026, 1, 1, tzinfo=UTC),
                    status="failed",
                    messages=["FetchError: http://alice:hunter2@old.example/rest?token=tok-123: HTTP 500"],
                )
            )
    finally:
        engine.dispose()
    status = _cli(db, "sync", "status", "--json")
    assert status.returncode == 0, status.stderr
    runs = json.loads(status.stdout)
    assert len(runs) == 2 and leaks(status.stdout) == []
    assert {r["origin"].split(" ")[0].split("?")[0] for r in runs} >= {"http://***@old.example/rest"}


# --- CVE JSON 5, KEV and EPSS over HTTP ---


@contextmanager
def serve_files(files: dict[str, bytes]) -> Iterator[str]:
    """A loopback HTTP server answering ``GET /<name>`` (any query) with ``files[name]``, else 404."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = files.get(urlsplit(self.path).path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


KEV = {
    "title": "CISA Catalog of Known Exploited Vulnerabilities",
    "catalogVersion": "2026.11.27",
    "dateReleased": "2026-11-27T17:00:00.000Z",
    "count": 1,
    "vulnerabilities": [
        {
            "cveID": "CVE-2021-44228",
            "vendorProject": "Apache",
            "product": "Log4j2",
            "vulnerabilityName": "Apache Log4j2 Remote Code Execution Vulnerability",
            "dateAdded": "2021-12-10",
            "shortDescription": "Apache Log4j2 JNDI features do not protect against attacker-controlled "
            "endpoints.",
            "requiredAction": "Apply updates per vendor instructions.",
            "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known",
            "notes": "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
            "cwes": ["CWE-502"],
        }
    ],
}
EPSS = (
    b"#model_version:v2025.03.14,score_date:2026-11-27T12:55:00Z\n"
    b"cve,epss,percentile\nCVE-2021-44228,0.94358,0.99961\n"
)


def test_kev_epss_and_cve5_urls_are_recorded_and_reported_without_credentials(
    engine: Engine, cve5_data: Path
) -> None:
    record = (cve5_data / "recent" / "CVE-2023-4806.json").read_bytes()
    files = {
        "kev.json": json.dumps(KEV).encode(),
        "epss.csv.gz": gzip.compress(EPSS),
        "cves/2023/4xxx/CVE-2023-4806.json": record,
        "delta.json": json.dumps({"new": [{"cveId": "CVE-2023-4806"}], "updated": []}).encode(),
    }
    with serve_files(files) as host:
        auth = f"http://alice:hunter2@{host}"
        import_kev(engine, f"{auth}/kev.json?token=tok-123")
        import_epss(engine, f"{auth}/epss.csv.gz?X-Amz-Signature=sig-456")
        source = Cve5Source(None, delta=f"{auth}/delta.json?token=tok-123", base_url=auth)
        report = import_cve5(engine, source)
        assert report.read == 1 and not report.problems
        missing = read_record(f"{auth}/nope.json?apiKey=S3CR3T-KEY")
        with pytest.raises(InputError) as failed:
            import_kev(engine, f"{auth}/gone.json?apiKey=S3CR3T-KEY")
    assert isinstance(missing, RecordProblem) and leaks(str(missing)) == []
    assert "http://***@127.0.0.1" in str(missing) and "HTTP 404" in str(missing)
    assert leaks(str(failed.value)) == [] and "apiKey=***" in str(failed.value)
    with engine.connect() as conn:
        runs = recent_runs(conn)
        raw = conn.execute(text("SELECT origin, messages FROM sync_runs")).all()
    assert {r.source for r in runs} == {"kev", "epss", "cve5"}
    assert all(leaks(str(row)) == [] for row in raw)
    assert any("http://***@127.0.0.1" in r.origin for r in runs if r.source == "kev")
