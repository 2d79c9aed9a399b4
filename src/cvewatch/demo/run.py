"""The demo: the whole chain on data shipped inside the package, into a fresh SQLite store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import orjson

from cvewatch import __version__
from cvewatch.inventory.imagelist import parse_image_list
from cvewatch.inventory.load import store_release
from cvewatch.inventory.snapshot import load_snapshot
from cvewatch.matching.runner import run_scan
from cvewatch.matching.verdict import Verdict
from cvewatch.publishing.csaf_vex import CsafVexPublisher
from cvewatch.publishing.interface import DEMO_PUBLISHER
from cvewatch.publishing.run import publish_release
from cvewatch.sources.cve5 import Cve5Source, import_cve5
from cvewatch.sources.importer import import_source
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
        say(
            f"sync nvd: {report.read} genuine NVD records ({report.stats.new} new), "
            f"{len(report.problems)} problems"
        )
        cve5 = import_cve5(engine, Cve5Source(data_dir / "cve5"), origin="demo data: cve5")
        say(f"sync cve5: {cve5.read} genuine CVE JSON 5 records (CNA and ADP data for NVD's backlog)")
        release, dist, packages = load_snapshot((data_dir / SNAPSHOT_FILE).read_bytes(), SNAPSHOT_FILE)
        store_release(engine, packages, release=release, dist=dist)
        say(f"inventory: release {release}, {len(packages)} source packages (from the Azure Linux 3.0 specs)")
        image_file = data_dir / IMAGE_FILE
        image = parse_image_list(image_file.read_text("utf-8"), path=IMAGE_FILE)
        with engine.begin() as conn:
            replace_image(conn, DEMO_IMAGE, release, image.packages, kernel=image.kernel)
        say(f"inventory: node image {DEMO_IMAGE}, {len(image.packages)} installed packages")
    release_scan = run_scan(engine, release=release)
    image_scan = run_scan(engine, image=DEMO_IMAGE)
    say(
        f"scan: {len(release_scan.verdicts)} verdicts for release {release}, "
        f"{len(image_scan.verdicts)} for image {DEMO_IMAGE}"
    )
    publisher = CsafVexPublisher(
        release=release,
        product_name="Azure Linux 3.0",
        generator_version=__version__,
        publisher=DEMO_PUBLISHER,  # the demo's own; `cvewatch publish csaf` needs a configured publisher
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
