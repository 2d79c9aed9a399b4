"""The demo: the whole chain on data shipped inside the package, into a fresh SQLite store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import orjson

from cvewatch import __version__
from cvewatch.inventory.imagelist import parse_image_list
from cvewatch.inventory.snapshot import load_snapshot
from cvewatch.model.verdicts import Verdict
from cvewatch.publishing.csaf_vex import CsafVexOptions, CsafVexPublisher
from cvewatch.publishing.interface import DEMO_LEGAL_NOTICE, DEMO_PUBLISHER
from cvewatch.services.inventory import store_release
from cvewatch.services.publish import publish_release
from cvewatch.services.scan import run_scan
from cvewatch.sources.cve5 import Cve5Source, import_cve5
from cvewatch.sources.importer import ImportReport, import_source
from cvewatch.sources.nvd_files import NvdFileSource
from cvewatch.store.db import open_engine
from cvewatch.store.inventory import replace_image

DEMO_IMAGE = "AKSAzureLinuxV3-gen2-202608.20.0"
IMAGE_FILE = "aks-node-image-202608.20.0.txt"
SNAPSHOT_FILE = "azl3-release-snapshot.json"


@dataclass(frozen=True)
class DemoResult:
    release: str
    image: str
    db_url: str
    verdicts: list[Verdict]
    image_verdicts: list[Verdict]
    documents: list[Path]
    csaf_dir: Path
    verdicts_json: Path


def _sync_line(step: str, what: str, report: ImportReport) -> str:
    """What `cvewatch sync status` shows for the run, with the records read."""
    s = report.stats
    repeated = report.read - s.new - s.updated - s.unchanged
    again = f" ({repeated} repeated across the files, the newest kept)" if repeated > 0 else ""
    return (
        f"{step}: run {report.run_id} {report.status}, {report.read} {what} read{again}: {s.new} new, "
        f"{s.updated} updated, {s.unchanged} unchanged, {s.rejected} rejected, "
        f"{len(report.problems)} problems"
    )


def run_demo(out_dir: Path, *, db_url: str | None = None, say: Callable[[str], None] = print) -> DemoResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    if db_url is None:
        db_file = out_dir / "cvewatch-demo.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        db_url = f"sqlite:///{db_file}"
    engine = open_engine(db_url)
    data = resources.files("cvewatch.demo").joinpath("data")
    with resources.as_file(data) as data_dir:
        report = import_source(engine, NvdFileSource(data_dir / "nvd"), origin="demo data: nvd")
        say(_sync_line("sync nvd", "genuine NVD records", report))
        cve5 = import_cve5(engine, Cve5Source(data_dir / "cve5"), origin="demo data: cve5")
        say(_sync_line("sync cve5", "genuine CVE JSON 5 records (CNA and ADP data for NVD's backlog)", cve5))
        release, dist, packages = load_snapshot((data_dir / SNAPSHOT_FILE).read_bytes(), SNAPSHOT_FILE)
        loaded = store_release(engine, packages, release=release, dist=dist)
        shared = sorted(n for n, c in Counter(p.name for p in packages).items() if c > 1)
        say(
            f"inventory: release {release}, {loaded.stored} source packages ({len(packages)} specs of the "
            f"Azure Linux 3.0 tree; {', '.join(shared) or 'none'} have several specs, stored once each), "
            f"{len(loaded.problems)} problems"
        )
        image_file = data_dir / IMAGE_FILE
        image = parse_image_list(image_file.read_text("utf-8"), path=IMAGE_FILE)
        with engine.begin() as conn:
            replace_image(conn, DEMO_IMAGE, release, image.packages, kernel=image.kernel)
        say(
            f"inventory: node image {DEMO_IMAGE}, {len(image.packages)} installed packages, "
            f"{len(image.problems)} problems"
        )
    release_scan = run_scan(engine, release=release)
    image_scan = run_scan(engine, image=DEMO_IMAGE)
    say(
        f"scan: {len(release_scan.verdicts)} verdicts for release {release}, "
        f"{len(image_scan.verdicts)} for image {DEMO_IMAGE}"
    )
    publisher = CsafVexPublisher(
        CsafVexOptions(
            release=release,
            product_name="Azure Linux 3.0",
            generator_version=__version__,
            publisher=DEMO_PUBLISHER,  # the demo's own; `cvewatch publish csaf` needs a configured publisher
            legal_notice=DEMO_LEGAL_NOTICE,
        )
    )
    csaf_dir = out_dir / "csaf"
    documents = publish_release(engine, release, publisher, csaf_dir).paths
    verdicts_json = out_dir / "verdicts.json"
    verdicts_json.write_bytes(
        orjson.dumps(
            [v.to_json() for v in release_scan.verdicts + image_scan.verdicts],
            option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
        )
    )
    engine.dispose()
    return DemoResult(
        release,
        DEMO_IMAGE,
        db_url,
        release_scan.verdicts,
        image_scan.verdicts,
        documents,
        csaf_dir,
        verdicts_json,
    )
