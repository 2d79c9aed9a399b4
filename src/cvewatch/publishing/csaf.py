"""What every CSAF 2.0 document of ours shares, whatever its profile (VEX today, security advisories next).

Names and paths (section 5.1: the file name is the lower-case ``tracking.id`` with runs of other characters
than ``+``, ``-``, ``a-z``, ``0-9`` as ``_``; one folder per year of the initial release), dates (UTC with
milliseconds, from the record, never the clock), serialization (sorted keys: the same input gives the same
bytes), the source packages as products (one per package EVR, with a purl and a stable id), and the parts
taken from the CVE record: ``cwe`` (only with the catalog's name, which validators compare), ``scores`` (the
NVD-preferred CVSS v3.x and v2 vectors, recomputed so score and severity agree with the vector) and
``references``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import orjson
from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError
from packageurl import PackageURL

from cvewatch.errors import InputError
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Evidence, Status, Verdict
from cvewatch.publishing.interface import Publisher
from cvewatch.versions.rpm import EVR

__all__ = [
    "CSAF_VERSION",
    "GENERATOR_NAME",
    "MAX_REFERENCES",
    "Product",
    "csaf_datetime",
    "csaf_filename",
    "cvss_v2",
    "cvss_v3",
    "cwe",
    "cwe_names",
    "document_path",
    "dumps_csaf",
    "evr",
    "grouped",
    "products",
    "publisher_json",
    "references",
    "rpm_purl",
    "slug",
    "tracking_id",
    "utc",
]

CSAF_VERSION = "2.0"
GENERATOR_NAME = "cvewatch"
MAX_REFERENCES = 20

_CWE_ID_RE = re.compile(r"^CWE-[1-9]\d{0,5}$")
_FILENAME_RUN_RE = re.compile(r"[^+\-a-z0-9]+")
_PRODUCT_ID_RE = re.compile(r"[^A-Za-z0-9._:+~^-]+")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")

# when several verdicts describe the same package EVR, the most cautious status wins
_STATUS_PRIORITY: Mapping[Status, int] = {
    Status.AFFECTED: 0,
    Status.UNDER_INVESTIGATION: 1,
    Status.FIXED: 2,
    Status.NOT_AFFECTED: 3,
}


@cache
def cwe_names() -> Mapping[str, str]:
    """CWE id -> name as the CWE catalog (4.x) gives it (``data/cwe-names.json``, read once): a document
    names a CWE only when its name is known, because the schema needs the name and validators compare it
    with the catalog."""
    text = resources.files("cvewatch.publishing").joinpath("data/cwe-names.json").read_bytes()
    names: dict[str, str] = orjson.loads(text)
    return names


# --- names, paths, dates, bytes -------------------------------------------------------------------------


def csaf_filename(tracking_id_value: str) -> str:
    """The CSAF 2.0 file name of a document (section 5.1): lower-case ``tracking.id``, every run of characters
    other than ``+``, ``-``, ``a-z``, ``0-9`` replaced by one ``_``, then ``.json``."""
    return _FILENAME_RUN_RE.sub("_", tracking_id_value.lower()) + ".json"


def tracking_id(cve: str, release_code: str, prefix: str = "CVEWATCH") -> str:
    """``CVEWATCH-AZL3-CVE-2023-38545`` for ``("CVE-2023-38545", "azl3")``."""
    return f"{prefix}-{release_code.upper()}-{cve}"


def document_path(tracking_id_value: str, initial_release_date: datetime) -> str:
    """``<year of initial_release_date>/<csaf_filename>``, relative and POSIX-style."""
    return f"{utc(initial_release_date).year:04d}/{csaf_filename(tracking_id_value)}"


def dumps_csaf(document: Mapping[str, Any]) -> bytes:
    """Serialize deterministically: sorted keys, two-space indent, final newline."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (NVD's convention)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def csaf_datetime(value: datetime) -> str:
    """``2023-10-18T04:15:11.077Z``: UTC, milliseconds."""
    v = utc(value)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def slug(value: str) -> str:
    """A release name as it appears in ids when no release code is given: ``3.0`` -> ``3-0``."""
    s = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return s or "release"


def evr(text: str, where: str) -> EVR:
    """An rpm EVR of a verdict; :class:`ValueError` (naming ``where``) when it is none."""
    try:
        return EVR.parse(text)
    except InputError as err:
        raise ValueError(f"{where}: {err}") from None


def publisher_json(publisher: Publisher) -> dict[str, str]:
    """``document.publisher``: the issuing party, its optional fields only when set."""
    out: dict[str, str] = {
        "category": publisher.category,
        "name": publisher.name,
        "namespace": publisher.namespace,
    }
    if publisher.contact_details:
        out["contact_details"] = publisher.contact_details
    if publisher.issuing_authority:
        out["issuing_authority"] = publisher.issuing_authority
    return out


# --- products -------------------------------------------------------------------------------------------


def rpm_purl(package: str, evr: EVR, *, namespace: str, distro: str) -> str:
    """The purl of a source package EVR: ``pkg:rpm/<namespace>/<name>@<version>-<release>?distro=<distro>``,
    with ``&epoch=N`` when the epoch is not 0."""
    qualifiers = {"distro": distro}
    if evr.epoch:
        qualifiers["epoch"] = str(evr.epoch)
    version = f"{evr.version}-{evr.release}" if evr.release else evr.version
    purl: str = PackageURL(
        type="rpm", namespace=namespace, name=package, version=version, qualifiers=qualifiers
    ).to_string()
    return purl


@dataclass(frozen=True, slots=True)
class Product:
    """One source package EVR of the release, as a CSAF product: the verdicts about it merged (the most
    cautious status, every evidence item once, the deciding verdict's first)."""

    package: str
    evr: EVR
    evr_text: str  # canonical epoch:version-release
    status: Status
    fixed_in: str | None
    evidence: tuple[Evidence, ...]
    product_id: str


def _by_package_evr(verdicts: Sequence[Verdict]) -> list[tuple[str, EVR, list[Verdict]]]:
    groups: dict[tuple[str, str], tuple[EVR, list[Verdict]]] = {}
    for v in verdicts:
        parsed = evr(v.version, f"{v.cve} {v.package}")
        key = (v.package, str(parsed))
        if key in groups:
            groups[key][1].append(v)
        else:
            groups[key] = (parsed, [v])
    return [(pkg, e, vs) for (pkg, _), (e, vs) in sorted(groups.items(), key=lambda kv: kv[0])]


def products(verdicts: Sequence[Verdict], release_code: str) -> list[Product]:
    """The products of ``verdicts`` in (package, EVR) order, with ids ``<code>-<package>-<e:v-r>``
    (characters CSAF ids do not allow as ``_``); two products with one id are a :class:`ValueError`."""
    out: list[Product] = []
    seen_ids: dict[str, tuple[str, str]] = {}
    for package, parsed, group in _by_package_evr(verdicts):
        chosen = min(group, key=lambda v: (_STATUS_PRIORITY[v.status], v.fixed_in or ""))
        evidence: list[Evidence] = []
        for v in [chosen, *(g for g in group if g is not chosen)]:
            for e in v.evidence:
                if e not in evidence:
                    evidence.append(e)
        evr_text = str(parsed)
        product_id = _PRODUCT_ID_RE.sub("_", f"{release_code}-{package}-{evr_text}")
        if product_id in seen_ids and seen_ids[product_id] != (package, evr_text):
            raise ValueError(f"product id {product_id!r} is not unique: {seen_ids[product_id]} and {package}")
        seen_ids[product_id] = (package, evr_text)
        out.append(
            Product(package, parsed, evr_text, chosen.status, chosen.fixed_in, tuple(evidence), product_id)
        )
    return out


def grouped(entries: Iterable[tuple[tuple[str, ...], str]]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Group product ids by a key, ids sorted, groups ordered by their first product id."""
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for key, pid in entries:
        groups[key].append(pid)
    out = [(key, sorted(pids)) for key, pids in groups.items()]
    out.sort(key=lambda kv: (kv[1][0], kv[0]))
    return out


# --- from the CVE record --------------------------------------------------------------------------------


def cvss_v3(vuln: Vulnerability) -> dict[str, Any] | None:
    """The preferred CVSS v3.x assessment (NVD's own first, then v3.1 first), recomputed from its vector."""
    candidates = sorted(
        (m for m in vuln.metrics if m.version in ("3.0", "3.1")),
        key=lambda m: (m.type != "Primary", m.version != "3.1", m.source, m.vector),
    )
    for m in candidates:
        try:
            data: dict[str, Any] = CVSS3(m.vector).as_json(minimal=True)
        except CVSSError:
            continue
        if data.get("version") == m.version:
            return data
    return None


def cvss_v2(vuln: Vulnerability) -> dict[str, Any] | None:
    """The preferred CVSS v2 assessment (NVD's own first), recomputed from its vector."""
    candidates = sorted(
        (m for m in vuln.metrics if m.version == "2.0"),
        key=lambda m: (m.type != "Primary", m.source, m.vector),
    )
    for m in candidates:
        try:
            data: dict[str, Any] = CVSS2(m.vector).as_json(minimal=True)
        except CVSSError:
            continue
        return data
    return None


def cwe(vuln: Vulnerability) -> dict[str, str] | None:
    """The record's first weakness with a known catalog name (see :func:`cwe_names`)."""
    names = cwe_names()
    for w in vuln.weaknesses:
        if _CWE_ID_RE.match(w) and w in names:
            return {"id": w, "name": names[w]}
    return None


def references(vuln: Vulnerability) -> list[dict[str, str]]:
    """The NVD entry, then the record's references with a valid URL, once each, at most
    :data:`MAX_REFERENCES` in all."""
    refs: list[dict[str, str]] = [
        {
            "category": "external",
            "summary": f"NVD entry for {vuln.id}",
            "url": f"https://nvd.nist.gov/vuln/detail/{vuln.id}",
        }
    ]
    seen = {refs[0]["url"]}
    for r in vuln.references:
        if len(refs) >= MAX_REFERENCES:
            break
        if r.url in seen or not _URI_RE.match(r.url):
            continue
        seen.add(r.url)
        summary = ", ".join(r.tags) if r.tags else "External reference"
        refs.append({"category": "external", "summary": summary, "url": r.url})
    return refs
