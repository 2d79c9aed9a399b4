"""Realistic NVD API 2.0 records at full scale, deterministic from a seed.

The distributions come from the genuine samples in ``../shared/data/nvd`` (the converted 1.1 page, the
merged 2.0 page and the recent folder, one record per id), measured by :func:`measure` and resampled one
dimension at a time: the CVSS versions present per record (with the real metric objects), the configuration
shapes (configurations, nodes, operators, cpeMatch count per node, which matches carry version ranges), the
description length, the references count and tags, the CWE count and vulnStatus. Vendor:product names are
those of the genuine criteria each shape comes from (mix ``sample``, the default), or, in the stress mix
``host-heavy``, partly drawn from a list of container-host products. Versions, ids and dates are new;
the generated records parse without problems.

``python bench/generator.py --count 300000 --out DIR`` writes API 2.0 pages (``page-NNNNNN.json.gz``, 2,000
records each); :func:`ensure_pages` caches them under ``bench/.cache``.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import os
import random
import statistics
import string
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
NVD = ROOT.parent / "shared" / "data" / "nvd"
#: Generated pages (and other benchmarks' stores) are cached here; ``$CVEWATCH_BENCH_CACHE`` moves it.
CACHE = Path(os.environ.get("CVEWATCH_BENCH_CACHE") or ROOT / "bench" / ".cache")
PAGE_SIZE = 2000
METRIC_KEYS = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")

#: Product mixes. ``sample``: every generated criterion names the product of the genuine criterion it is
#: modelled on, so products and their co-occurrence come in the sample's proportions (scanned against the
#: 3.0 tree, the genuine sample links 14.3 % of its records and 0.34 verdicts per record; see
#: docs/BENCHMARKS.md). ``host-heavy``: a stress mix, 15 % of all criteria replaced by a product drawn
#: uniformly from CONTAINER_HOST_PRODUCTS (golang:go as often as the kernel: about 1.75x the sample's
#: linked records and 3.4x its verdicts, most of them Go standard-library verdicts of ~50 Go packages).
MIX_SAMPLE = "sample"
MIX_HOST_HEAVY = "host-heavy"
MIXES = (MIX_SAMPLE, MIX_HOST_HEAVY)
HOST_HEAVY_SHARE = 0.15

#: Products a container host ships (vendor, product as NVD names them).
CONTAINER_HOST_PRODUCTS = [
    ("linux", "linux_kernel"),
    ("openssl", "openssl"),
    ("haxx", "curl"),
    ("haxx", "libcurl"),
    ("openbsd", "openssh"),
    ("gnu", "glibc"),
    ("gnu", "bash"),
    ("systemd_project", "systemd"),
    ("containerd", "containerd"),
    ("mitre", "kerberos_5"),
    ("python", "python"),
    ("golang", "go"),
    ("libexpat_project", "libexpat"),
    ("zlib", "zlib"),
    ("sqlite", "sqlite"),
    ("gnupg", "libgcrypt"),
    ("gnu", "gnutls"),
    ("xmlsoft", "libxml2"),
    ("kubernetes", "kubernetes"),
    ("runc_project", "runc"),
    ("tukaani", "xz"),
    ("sudo_project", "sudo"),
    ("util-linux_project", "util-linux"),
    ("gnu", "tar"),
    ("libarchive", "libarchive"),
    ("vim", "vim"),
    ("rpm", "rpm"),
    ("pam_project", "pam"),
    ("moby", "moby"),
    ("cncf", "cri-o"),
    ("gnu", "coreutils"),
    ("openldap", "openldap"),
]
_WORDS = [
    "a",
    "vulnerability",
    "in",
    "the",
    "allows",
    "remote",
    "attackers",
    "to",
    "cause",
    "denial",
    "of",
    "service",
    "via",
    "crafted",
    "buffer",
    "overflow",
    "heap",
    "use-after-free",
    "out-of-bounds",
    "read",
    "write",
    "in",
    "function",
    "when",
    "parsing",
    "input",
    "leads",
    "to",
    "memory",
    "corruption",
    "privilege",
    "escalation",
    "authentication",
    "bypass",
    "arbitrary",
    "code",
    "execution",
    "local",
    "users",
    "may",
    "obtain",
    "sensitive",
    "information",
    "because",
    "of",
    "improper",
    "validation",
    "integer",
    "overflow",
    "null",
    "pointer",
    "dereference",
]


@dataclass
class Profile:
    """Empirical distributions of the real records (each list is sampled uniformly)."""

    records: int = 0
    metric_sets: list[tuple[str, ...]] = field(default_factory=list)
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    config_shapes: list[list[dict[str, Any]]] = field(default_factory=list)
    description_lengths: list[int] = field(default_factory=list)
    reference_counts: list[int] = field(default_factory=list)
    reference_tags: list[list[str]] = field(default_factory=list)
    cwe_counts: list[int] = field(default_factory=list)
    cwes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    products: list[tuple[str, str, str]] = field(default_factory=list)  # (part, vendor, product)
    versions: list[str] = field(default_factory=list)
    cpe_match_counts: list[int] = field(default_factory=list)
    range_share: float = 0.0
    record_bytes: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        n = self.records
        per_version = Counter(k for s in self.metric_sets for k in s)
        return {
            "records": n,
            "records per CVSS version": {k: f"{per_version[k] / n:.1%}" for k in METRIC_KEYS},
            "records without CVSS": f"{sum(not s for s in self.metric_sets) / n:.1%}",
            "cpeMatch per record (mean / median / max)": (
                round(statistics.mean(self.cpe_match_counts), 2),
                statistics.median(self.cpe_match_counts),
                max(self.cpe_match_counts),
            ),
            "records without configurations": f"{sum(c == 0 for c in self.cpe_match_counts) / n:.1%}",
            "cpeMatch with a version range": f"{self.range_share:.1%}",
            "description length (mean / median)": (
                round(statistics.mean(self.description_lengths)),
                statistics.median(self.description_lengths),
            ),
            "references per record (mean / median)": (
                round(statistics.mean(self.reference_counts), 1),
                statistics.median(self.reference_counts),
            ),
            "record JSON bytes (mean / median)": (
                round(statistics.mean(self.record_bytes)),
                statistics.median(self.record_bytes),
            ),
            "vulnStatus": dict(Counter(self.statuses).most_common()),
        }


def _split_cpe(criteria: str) -> list[str]:
    return criteria.split(":")


def real_records(nvd: Path = NVD) -> list[dict[str, Any]]:
    """The genuine sample records as ``cve`` objects, one per id (newest lastModified wins)."""
    cves: list[dict[str, Any]] = []
    for page in ("converted-from-1.1-sample.json.gz", "genuine-api2.0-sample.json.gz"):
        doc = orjson.loads(gzip.decompress((nvd / "api2.0-shape" / page).read_bytes()))
        cves.extend(item["cve"] for item in doc["vulnerabilities"])
    cves.extend(orjson.loads(p.read_bytes()) for p in sorted((nvd / "recent").glob("CVE-*.json")))
    newest: dict[str, dict[str, Any]] = {}
    for c in cves:
        kept = newest.get(c["id"])
        if kept is None or c["lastModified"] >= kept["lastModified"]:
            newest[c["id"]] = c
    return list(newest.values())


def measure(records: list[dict[str, Any]]) -> Profile:
    prof = Profile(records=len(records))
    ranged = total = 0
    metric_pool: dict[str, list[dict[str, Any]]] = {k: [] for k in METRIC_KEYS}
    for cve in records:
        prof.record_bytes.append(len(orjson.dumps(cve)))
        metrics = cve.get("metrics") or {}
        prof.metric_sets.append(tuple(k for k in METRIC_KEYS if metrics.get(k)))
        for k in METRIC_KEYS:
            metric_pool[k].extend(metrics.get(k) or [])
        prof.config_shapes.append(cve.get("configurations") or [])
        count = 0
        for conf in cve.get("configurations") or []:
            for node in conf.get("nodes") or []:
                for m in node.get("cpeMatch") or []:
                    count += 1
                    total += 1
                    ranged += any(k.startswith("version") for k in m)
                    parts = _split_cpe(m["criteria"])
                    if len(parts) > 5 and "\\" not in m["criteria"]:
                        prof.products.append((parts[2], parts[3], parts[4]))
                        if parts[5] not in ("*", "-"):
                            prof.versions.append(parts[5])
        prof.cpe_match_counts.append(count)
        en = [d["value"] for d in cve.get("descriptions") or [] if d.get("lang") == "en"]
        prof.description_lengths.append(len(en[0]) if en else 0)
        refs = cve.get("references") or []
        prof.reference_counts.append(len(refs))
        prof.reference_tags.extend(r.get("tags") or [] for r in refs)
        cwes = [d["value"] for w in cve.get("weaknesses") or [] for d in w.get("description") or []]
        prof.cwe_counts.append(len(cwes))
        prof.cwes.extend(cwes)
        prof.statuses.append(cve.get("vulnStatus") or "Analyzed")
    prof.metrics = {k: v for k, v in metric_pool.items() if v}
    prof.metric_sets = [s for s in prof.metric_sets if all(k in prof.metrics for k in s)]
    prof.range_share = ranged / total if total else 0.0
    prof.products.extend(("a", v, p) for v, p in CONTAINER_HOST_PRODUCTS)
    prof.cwes = prof.cwes or ["NVD-CWE-noinfo"]
    return prof


def _nvd_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _version(rng: random.Random, prof: Profile) -> str:
    if prof.versions and rng.random() < 0.6:
        return rng.choice(prof.versions)
    return ".".join(str(rng.randint(0, 20)) for _ in range(rng.choice((2, 3, 3, 4))))


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        w = rng.choice(_WORDS)
        words.append(w)
        size += len(w) + 1
    return " ".join(words)[: max(length, 1)].capitalize()


def _configurations(rng: random.Random, prof: Profile, mix: str) -> list[dict[str, Any]]:
    shape = rng.choice(prof.config_shapes)
    out: list[dict[str, Any]] = []
    for conf in shape:
        nodes = []
        for node in conf.get("nodes") or []:
            matches = []
            for m in node.get("cpeMatch") or []:
                parts = _split_cpe(m["criteria"])
                if mix == MIX_HOST_HEAVY:
                    if rng.random() < HOST_HEAVY_SHARE:
                        part, vendor, product = ("a", *rng.choice(CONTAINER_HOST_PRODUCTS))
                    else:
                        part, vendor, product = rng.choice(prof.products)
                elif len(parts) > 5 and "\\" not in m["criteria"]:
                    part, vendor, product = parts[2], parts[3], parts[4]  # the genuine record's product
                else:
                    part, vendor, product = rng.choice(prof.products)
                ranged = any(k.startswith("version") for k in m)
                version = "*" if ranged else rng.choice(("-", _version(rng, prof)))
                new: dict[str, Any] = {
                    "vulnerable": m.get("vulnerable", True),
                    "criteria": f"cpe:2.3:{part}:{vendor}:{product}:{version}:*:*:*:*:*:*:*",
                    "matchCriteriaId": "".join(rng.choices("0123456789ABCDEF", k=32)),
                }
                for key in m:
                    if key.startswith("version"):
                        new[key] = _version(rng, prof)
                matches.append(new)
            nodes.append(
                {
                    "operator": node.get("operator", "OR"),
                    "negate": node.get("negate", False),
                    "cpeMatch": matches,
                }
            )
        item: dict[str, Any] = {"nodes": nodes}
        if "operator" in conf:
            item["operator"] = conf["operator"]
        out.append(item)
    return out


def generate(
    count: int, seed: int = 1, *, profile: Profile | None = None, mix: str = MIX_SAMPLE
) -> Iterator[dict[str, Any]]:
    """``count`` records (``cve`` objects) in (published, id) order, the same for the same (seed, mix)."""
    if mix not in MIXES:
        raise ValueError(f"unknown product mix {mix!r} (one of {', '.join(MIXES)})")
    prof = profile or measure(real_records())
    rng = random.Random(seed)
    first, last = datetime(1999, 1, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC)
    span = (last - first).total_seconds()
    for i in range(count):
        # more CVEs in recent years, as in NVD: published time grows like the square root of the index
        published = first + timedelta(seconds=span * ((i + 0.5) / count) ** 0.5)
        modified = min(last, published + timedelta(days=rng.expovariate(1 / 400)))
        year = published.year
        status = rng.choice(prof.statuses)
        metrics: dict[str, list[dict[str, Any]]] = {}
        for key in rng.choice(prof.metric_sets):
            metrics[key] = [copy.deepcopy(rng.choice(prof.metrics[key]))]
        cve: dict[str, Any] = {
            "id": f"CVE-{year}-{100000 + i}",
            "sourceIdentifier": rng.choice(("cve@mitre.org", "secalert@redhat.com", "security@ubuntu.com")),
            "published": _nvd_time(published),
            "lastModified": _nvd_time(modified),
            "vulnStatus": status,
            "descriptions": [{"lang": "en", "value": _text(rng, rng.choice(prof.description_lengths))}],
            "metrics": metrics,
            "weaknesses": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "description": [{"lang": "en", "value": rng.choice(prof.cwes)} for _ in range(n)],
                }
                for n in [rng.choice(prof.cwe_counts)]
                if n
            ],
            "configurations": [] if status == "Rejected" else _configurations(rng, prof, mix),
            "references": [
                {
                    "url": f"https://example.org/advisories/{year}/{i}/{k}-"
                    + "".join(rng.choices(string.ascii_lowercase, k=12)),
                    "source": "cve@mitre.org",
                    "tags": rng.choice(prof.reference_tags) if prof.reference_tags else [],
                }
                for k in range(rng.choice(prof.reference_counts))
            ],
        }
        yield cve


def write_pages(
    out: Path, count: int, seed: int = 1, page_size: int = PAGE_SIZE, mix: str = MIX_SAMPLE
) -> list[Path]:
    """Write ``count`` generated records as API 2.0 pages ``page-NNNNNN.json.gz`` (gzip level 1)."""
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    page: list[bytes] = []
    start = 0

    def flush() -> None:
        nonlocal start
        head = orjson.dumps(
            {
                "resultsPerPage": len(page),
                "startIndex": start,
                "totalResults": count,
                "format": "NVD_CVE",
                "version": "2.0",
                "timestamp": "2026-10-01T00:00:00.000",
            }
        )
        body = head[:-1] + b',"vulnerabilities":[' + b",".join(page) + b"]}"
        path = out / f"page-{start:06d}.json.gz"
        path.write_bytes(gzip.compress(body, compresslevel=1))
        paths.append(path)
        start += len(page)
        page.clear()

    for cve in generate(count, seed, mix=mix):
        page.append(orjson.dumps({"cve": cve}))
        if len(page) >= page_size:
            flush()
    if page:
        flush()
    return paths


def ensure_pages(count: int, seed: int = 1, mix: str = MIX_SAMPLE) -> Path:
    """The folder of cached pages for (count, seed), generated on first use."""
    folder = CACHE / f"nvd-{count}-seed{seed}-{mix}"
    done = folder / "COMPLETE"
    if not done.exists():
        for old in folder.glob("page-*.json.gz"):
            old.unlink()
        write_pages(folder, count, seed, mix=mix)
        done.write_text(f"{count} records, seed {seed}, mix {mix}\n")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", choices=MIXES, default=MIX_SAMPLE, help="product mix (see MIXES)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--measure", action="store_true", help="print the measured distributions and stop")
    args = parser.parse_args()
    if args.measure:
        sys.stdout.write(
            orjson.dumps(measure(real_records()).summary(), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
        return 0
    out = args.out or CACHE / f"nvd-{args.count}-seed{args.seed}-{args.mix}"
    paths = write_pages(out, args.count, args.seed, mix=args.mix)
    sys.stdout.write(f"{len(paths)} pages in {out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
