"""Rebuild the demo data shipped in src/cvewatch/demo/data from ../shared/data (run from the repo root).

It copies genuine NVD records and one real AKS node-image package list, and derives a release snapshot
(source package facts, no spec or patch contents) for the source packages that image installs, with the
project's own spec parser. Provenance goes to src/cvewatch/demo/data/PROVENANCE.md (kept by hand).
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

from cvewatch.inventory.binaries import BinaryIndex
from cvewatch.inventory.imagelist import parse_image_list
from cvewatch.inventory.snapshot import dump_snapshot
from cvewatch.inventory.tree import load_spec_tree

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "cvewatch" / "demo" / "data"
IMAGE = SHARED / "azurelinux/aks-node-images/AKSAzureLinuxV3-gen2/202608.20.0.txt"


def main() -> int:
    nvd_out = OUT / "nvd"
    if nvd_out.exists():
        shutil.rmtree(nvd_out)
    nvd_out.mkdir(parents=True)
    # genuine NVD API 2.0 records: recent container-host CVEs, fkie-cad and osv.dev test records
    records = []
    for folder in ("nvd/recent", "nvd/nvd-2.0-records/fkie"):
        for f in sorted((SHARED / folder).glob("CVE-*.json")):
            records.append(json.loads(f.read_text()))
    page = {
        "resultsPerPage": len(records),
        "startIndex": 0,
        "totalResults": len(records),
        "format": "NVD_CVE",
        "version": "2.0",
        "vulnerabilities": [{"cve": r} for r in records],
    }
    # mtime=0: the same records give a byte-identical file
    data = json.dumps(page, sort_keys=True).encode()
    with gzip.GzipFile(nvd_out / "container-host-recent.json.gz", "wb", mtime=0) as fh:
        fh.write(data)
    shutil.copyfile(
        SHARED / "nvd/api2.0-shape/genuine-api2.0-sample.json.gz", nvd_out / "genuine-api2.0-sample.json.gz"
    )
    shutil.copyfile(
        SHARED / "nvd/api2.0-shape/converted-from-1.1-sample.json.gz",
        nvd_out / "converted-from-1.1-sample.json.gz",
    )
    shutil.copyfile(IMAGE, OUT / "aks-node-image-202608.20.0.txt")
    tree = load_spec_tree(SHARED / "azurelinux/SPECS-3.0", dist=".azl3")
    image = parse_image_list(IMAGE.read_text(), path=str(IMAGE))
    used = BinaryIndex(tree.packages).group(image.packages).installed
    # the toolchains too: packages built with them link their standard library (docs/matching.md §6)
    toolchains = {"golang", "msft-golang", "rust"}
    keep = [p for p in tree.packages if p.name in used or p.name in toolchains]
    cve5_out = OUT / "cve5"
    if cve5_out.exists():
        shutil.rmtree(cve5_out)
    cve5_out.mkdir()
    for f in sorted((SHARED / "cve5/recent").glob("CVE-*.json")):
        shutil.copyfile(f, cve5_out / f.name)
    (OUT / "azl3-release-snapshot.json").write_bytes(
        dump_snapshot(
            "azl3",
            ".azl3",
            keep,
            "derived by tools/build_demo_data.py from microsoft/azurelinux SPECS (3.0, 2026-04-28), MIT",
        )
    )
    print(
        f"{len(records)} records, {len(keep)} source packages of {len(tree.packages)}, "
        f"{len(list(cve5_out.glob('*.json')))} CVE JSON 5 records",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
