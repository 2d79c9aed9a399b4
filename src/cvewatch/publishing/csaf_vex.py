"""CSAF 2.0 VEX documents: one ``csaf_vex`` document per CVE and release, from the matcher's verdicts.

Profile: CSAF 2.0 section 4.5 (CSAF VEX) and its mandatory tests 6.1.27.x. Structure of a document:

* ``product_tree``: one branch ``vendor`` → ``product_name`` (the release, e.g. "Azure Linux 3.0") →
  ``product_version`` per source package EVR (``curl-0:8.11.1-3.azl3``). Each product carries a purl
  (``pkg:rpm/azurelinux/curl@8.11.1-3.azl3?distro=azurelinux-3.0``, ``&epoch=N`` when the epoch is not 0)
  and a stable id ``<code>-<package>-<epoch:version-release>`` (``azl3-curl-0:8.11.1-3.azl3``).
* ``vulnerabilities[0]``: ``cve``, the description note, ``cwe`` (only when the name is known: the schema
  needs the catalog name and validators compare it), ``scores`` (the NVD-preferred CVSS v3.x and v2 vectors,
  recomputed with the ``cvss`` package so score and severity agree with the vector), ``references``,
  ``product_status``, ``flags``, ``threats`` and ``remediations``.

Status mapping: affected → ``known_affected``, fixed → ``fixed``, not_affected → ``known_not_affected``,
under_investigation → ``under_investigation``.

VEX justification (one flag per known_not_affected product, 6.1.33): the first evidence item whose kind maps
(:data:`JUSTIFICATION_BY_EVIDENCE_KIND`) decides; an evidence item of kind ``justification`` whose detail is a
CSAF label overrides the mapping. The distribution's ``nopatch`` triage and a version outside the vulnerable
range both mean that the shipped code does not contain the flaw, hence ``vulnerable_code_not_present`` (also
the fallback when no evidence kind maps).

Impact statements: every product with evidence gets a ``threats`` entry of category ``impact`` whose details
are its evidence sentences; products with identical sentences share one entry.

Remediations: affected with ``fixed_in`` → ``vendor_fix`` (update to that EVR); affected without →
``none_available``, or ``no_fix_planned`` when an evidence kind says so (``wontfix``, ``no-fix-planned``);
fixed → ``vendor_fix`` naming the fixed EVR; under investigation → ``none_available`` (recommended test
6.2.2 wants a remediation for it too).

Scores apply to the known_affected and under_investigation products only (CSAF 6.2.19: no CVSS for fixed
products); without such products the document has no ``scores``.

Determinism: all dates of a rendered document come from the CVE record (initial release = published, current
release = the later of published and last_modified), there is no generator date, keys are sorted and every
list is sorted, so the same input renders the same bytes. A rendered document is version 1; publishing it
(:meth:`CsafVexPublisher.revise`, :mod:`cvewatch.publishing.revisions`) keeps the bytes published before when
its content is unchanged and gives changed content the next version, with a revision dated at the change.

Publisher: every document names its issuing party (``document.publisher``, the vendor branch, the legal
notice); there is no default: the demo's (:data:`~cvewatch.publishing.interface.DEMO_PUBLISHER`) is for the
demo.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cvss import CVSS2, CVSS3
from cvss.exceptions import CVSSError
from packageurl import PackageURL

from cvewatch.errors import InputError
from cvewatch.model.published import PublishedState
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Evidence, Status, Verdict
from cvewatch.publishing.interface import DocumentPublisher, PublishedDocument, Publisher
from cvewatch.publishing.revisions import revise_document
from cvewatch.versions.rpm import EVR

__all__ = [
    "CWE_NAMES",
    "DEFAULT_LEGAL_NOTICE",
    "JUSTIFICATION_BY_EVIDENCE_KIND",
    "VEX_JUSTIFICATIONS",
    "CsafVexPublisher",
    "csaf_filename",
    "dumps_csaf",
    "justification_for",
    "legal_notice_for",
    "render_vex",
    "rpm_purl",
    "tracking_id",
    "vex_document_path",
]

CSAF_VERSION = "2.0"
GENERATOR_NAME = "cvewatch"
MAX_REFERENCES = 20

COMPONENT_NOT_PRESENT = "component_not_present"
VULNERABLE_CODE_NOT_PRESENT = "vulnerable_code_not_present"
VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY = "vulnerable_code_cannot_be_controlled_by_adversary"
VULNERABLE_CODE_NOT_IN_EXECUTE_PATH = "vulnerable_code_not_in_execute_path"
INLINE_MITIGATIONS_ALREADY_EXIST = "inline_mitigations_already_exist"

#: the CSAF 2.0 flag labels (section 3.2.3.5)
VEX_JUSTIFICATIONS: frozenset[str] = frozenset(
    {
        COMPONENT_NOT_PRESENT,
        VULNERABLE_CODE_NOT_PRESENT,
        VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY,
        VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
        INLINE_MITIGATIONS_ALREADY_EXIST,
    }
)

#: evidence kind → VEX justification for a not_affected verdict
JUSTIFICATION_BY_EVIDENCE_KIND: Mapping[str, str] = {
    # the distribution's triage file (CVE-....nopatch): the CVE does not apply to what is shipped
    "nopatch": VULNERABLE_CODE_NOT_PRESENT,
    # the shipped version is outside the vulnerable range: the flawed code is not in it
    "version-range": VULNERABLE_CODE_NOT_PRESENT,
    # a backported patch or a changelog entry: the flawed code was removed
    "patch": VULNERABLE_CODE_NOT_PRESENT,
    "changelog": VULNERABLE_CODE_NOT_PRESENT,
    # the vulnerable component (a subpackage, a bundled library, a platform) is not built or shipped
    "component-not-present": COMPONENT_NOT_PRESENT,
    "not-shipped": COMPONENT_NOT_PRESENT,
    "platform": COMPONENT_NOT_PRESENT,
    # build configuration leaves the vulnerable code out of the execution path
    "config": VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
    "not-in-execute-path": VULNERABLE_CODE_NOT_IN_EXECUTE_PATH,
    "not-controllable": VULNERABLE_CODE_CANNOT_BE_CONTROLLED_BY_ADVERSARY,
    "mitigation": INLINE_MITIGATIONS_ALREADY_EXIST,
    "hardening": INLINE_MITIGATIONS_ALREADY_EXIST,
}

#: evidence kinds that mean "the distribution will not fix this" for an affected verdict
NO_FIX_PLANNED_KINDS: frozenset[str] = frozenset({"wontfix", "no-fix-planned", "no_fix_planned"})

_STATUS_KEY: Mapping[Status, str] = {
    Status.AFFECTED: "known_affected",
    Status.FIXED: "fixed",
    Status.NOT_AFFECTED: "known_not_affected",
    Status.UNDER_INVESTIGATION: "under_investigation",
}

# when several verdicts describe the same package EVR, the most cautious status wins
_STATUS_PRIORITY: Mapping[Status, int] = {
    Status.AFFECTED: 0,
    Status.UNDER_INVESTIGATION: 1,
    Status.FIXED: 2,
    Status.NOT_AFFECTED: 3,
}

#: CWE names as the CWE catalog (4.x) gives them; validators compare ``cwe.name`` with the catalog
CWE_NAMES: Mapping[str, str] = {
    "CWE-20": "Improper Input Validation",
    "CWE-22": "Improper Limitation of a Pathname to a Restricted Directory ('Path Traversal')",
    "CWE-59": "Improper Link Resolution Before File Access ('Link Following')",
    "CWE-61": "UNIX Symbolic Link (Symlink) Following",
    "CWE-73": "External Control of File Name or Path",
    "CWE-74": (
        "Improper Neutralization of Special Elements in Output Used by a Downstream Component ('Injection')"
    ),
    "CWE-77": "Improper Neutralization of Special Elements used in a Command ('Command Injection')",
    "CWE-78": "Improper Neutralization of Special Elements used in an OS Command ('OS Command Injection')",
    "CWE-79": "Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')",
    "CWE-89": "Improper Neutralization of Special Elements used in an SQL Command ('SQL Injection')",
    "CWE-91": "XML Injection (aka Blind XPath Injection)",
    "CWE-94": "Improper Control of Generation of Code ('Code Injection')",
    "CWE-116": "Improper Encoding or Escaping of Output",
    "CWE-119": "Improper Restriction of Operations within the Bounds of a Memory Buffer",
    "CWE-120": "Buffer Copy without Checking Size of Input ('Classic Buffer Overflow')",
    "CWE-121": "Stack-based Buffer Overflow",
    "CWE-122": "Heap-based Buffer Overflow",
    "CWE-125": "Out-of-bounds Read",
    "CWE-126": "Buffer Over-read",
    "CWE-129": "Improper Validation of Array Index",
    "CWE-131": "Incorrect Calculation of Buffer Size",
    "CWE-134": "Use of Externally-Controlled Format String",
    "CWE-170": "Improper Null Termination",
    "CWE-190": "Integer Overflow or Wraparound",
    "CWE-191": "Integer Underflow (Wrap or Wraparound)",
    "CWE-193": "Off-by-one Error",
    "CWE-200": "Exposure of Sensitive Information to an Unauthorized Actor",
    "CWE-203": "Observable Discrepancy",
    "CWE-208": "Observable Timing Discrepancy",
    "CWE-209": "Generation of Error Message Containing Sensitive Information",
    "CWE-252": "Unchecked Return Value",
    "CWE-256": "Plaintext Storage of a Password",
    "CWE-269": "Improper Privilege Management",
    "CWE-273": "Improper Check for Dropped Privileges",
    "CWE-276": "Incorrect Default Permissions",
    "CWE-284": "Improper Access Control",
    "CWE-285": "Improper Authorization",
    "CWE-287": "Improper Authentication",
    "CWE-290": "Authentication Bypass by Spoofing",
    "CWE-295": "Improper Certificate Validation",
    "CWE-297": "Improper Validation of Certificate with Host Mismatch",
    "CWE-300": "Channel Accessible by Non-Endpoint",
    "CWE-306": "Missing Authentication for Critical Function",
    "CWE-311": "Missing Encryption of Sensitive Data",
    "CWE-312": "Cleartext Storage of Sensitive Information",
    "CWE-319": "Cleartext Transmission of Sensitive Information",
    "CWE-326": "Inadequate Encryption Strength",
    "CWE-327": "Use of a Broken or Risky Cryptographic Algorithm",
    "CWE-328": "Use of Weak Hash",
    "CWE-330": "Use of Insufficiently Random Values",
    "CWE-338": "Use of Cryptographically Weak Pseudo-Random Number Generator (PRNG)",
    "CWE-345": "Insufficient Verification of Data Authenticity",
    "CWE-346": "Origin Validation Error",
    "CWE-347": "Improper Verification of Cryptographic Signature",
    "CWE-352": "Cross-Site Request Forgery (CSRF)",
    "CWE-354": "Improper Validation of Integrity Check Value",
    "CWE-362": "Concurrent Execution using Shared Resource with Improper Synchronization ('Race Condition')",
    "CWE-367": "Time-of-check Time-of-use (TOCTOU) Race Condition",
    "CWE-369": "Divide By Zero",
    "CWE-377": "Insecure Temporary File",
    "CWE-379": "Creation of Temporary File in Directory with Insecure Permissions",
    "CWE-384": "Session Fixation",
    "CWE-400": "Uncontrolled Resource Consumption",
    "CWE-401": "Missing Release of Memory after Effective Lifetime",
    "CWE-404": "Improper Resource Shutdown or Release",
    "CWE-407": "Inefficient Algorithmic Complexity",
    "CWE-415": "Double Free",
    "CWE-416": "Use After Free",
    "CWE-426": "Untrusted Search Path",
    "CWE-427": "Uncontrolled Search Path Element",
    "CWE-428": "Unquoted Search Path or Element",
    "CWE-434": "Unrestricted Upload of File with Dangerous Type",
    "CWE-436": "Interpretation Conflict",
    "CWE-444": "Inconsistent Interpretation of HTTP Requests ('HTTP Request/Response Smuggling')",
    "CWE-457": "Use of Uninitialized Variable",
    "CWE-459": "Incomplete Cleanup",
    "CWE-470": "Use of Externally-Controlled Input to Select Classes or Code ('Unsafe Reflection')",
    "CWE-476": "NULL Pointer Dereference",
    "CWE-502": "Deserialization of Untrusted Data",
    "CWE-506": "Embedded Malicious Code",
    "CWE-522": "Insufficiently Protected Credentials",
    "CWE-532": "Insertion of Sensitive Information into Log File",
    "CWE-552": "Files or Directories Accessible to External Parties",
    "CWE-565": "Reliance on Cookies without Validation and Integrity Checking",
    "CWE-601": "URL Redirection to Untrusted Site ('Open Redirect')",
    "CWE-606": "Unchecked Input for Loop Condition",
    "CWE-610": "Externally Controlled Reference to a Resource in Another Sphere",
    "CWE-611": "Improper Restriction of XML External Entity Reference",
    "CWE-613": "Insufficient Session Expiration",
    "CWE-617": "Reachable Assertion",
    "CWE-639": "Authorization Bypass Through User-Controlled Key",
    "CWE-640": "Weak Password Recovery Mechanism for Forgotten Password",
    "CWE-662": "Improper Synchronization",
    "CWE-665": "Improper Initialization",
    "CWE-667": "Improper Locking",
    "CWE-668": "Exposure of Resource to Wrong Sphere",
    "CWE-669": "Incorrect Resource Transfer Between Spheres",
    "CWE-670": "Always-Incorrect Control Flow Implementation",
    "CWE-674": "Uncontrolled Recursion",
    "CWE-681": "Incorrect Conversion between Numeric Types",
    "CWE-682": "Incorrect Calculation",
    "CWE-693": "Protection Mechanism Failure",
    "CWE-697": "Incorrect Comparison",
    "CWE-703": "Improper Check or Handling of Exceptional Conditions",
    "CWE-704": "Incorrect Type Conversion or Cast",
    "CWE-706": "Use of Incorrectly-Resolved Name or Reference",
    "CWE-732": "Incorrect Permission Assignment for Critical Resource",
    "CWE-754": "Improper Check for Unusual or Exceptional Conditions",
    "CWE-755": "Improper Handling of Exceptional Conditions",
    "CWE-763": "Release of Invalid Pointer or Reference",
    "CWE-770": "Allocation of Resources Without Limits or Throttling",
    "CWE-772": "Missing Release of Resource after Effective Lifetime",
    "CWE-773": "Missing Reference to Active File Descriptor or Handle",
    "CWE-774": "Allocation of File Descriptors or Handles Without Limits or Throttling",
    "CWE-776": "Improper Restriction of Recursive Entity References in DTDs ('XML Entity Expansion')",
    "CWE-787": "Out-of-bounds Write",
    "CWE-789": "Memory Allocation with Excessive Size Value",
    "CWE-798": "Use of Hard-coded Credentials",
    "CWE-823": "Use of Out-of-range Pointer Offset",
    "CWE-824": "Access of Uninitialized Pointer",
    "CWE-825": "Expired Pointer Dereference",
    "CWE-834": "Excessive Iteration",
    "CWE-835": "Loop with Unreachable Exit Condition ('Infinite Loop')",
    "CWE-843": "Access of Resource Using Incompatible Type ('Type Confusion')",
    "CWE-862": "Missing Authorization",
    "CWE-863": "Incorrect Authorization",
    "CWE-908": "Use of Uninitialized Resource",
    "CWE-909": "Missing Initialization of Resource",
    "CWE-913": "Improper Control of Dynamically-Managed Code Resources",
    "CWE-915": "Improperly Controlled Modification of Dynamically-Determined Object Attributes",
    "CWE-916": "Use of Password Hash With Insufficient Computational Effort",
    "CWE-918": "Server-Side Request Forgery (SSRF)",
    "CWE-920": "Improper Restriction of Power Consumption",
    "CWE-924": "Improper Enforcement of Message Integrity During Transmission in a Communication Channel",
    "CWE-940": "Improper Verification of Source of a Communication Channel",
    "CWE-1021": "Improper Restriction of Rendered UI Layers or Frames",
    "CWE-1050": "Excessive Platform Resource Consumption within a Loop",
    "CWE-1188": "Initialization of a Resource with an Insecure Default",
    "CWE-1236": "Improper Neutralization of Formula Elements in a CSV File",
    "CWE-1284": "Improper Validation of Specified Quantity in Input",
    "CWE-1285": "Improper Validation of Specified Index, Position, or Offset in Input",
    "CWE-1286": "Improper Validation of Syntactic Correctness of Input",
    "CWE-1321": "Improperly Controlled Modification of Object Prototype Attributes ('Prototype Pollution')",
    "CWE-1325": "Improperly Controlled Sequential Memory Allocation",
    "CWE-1333": "Inefficient Regular Expression Complexity",
    "CWE-1336": "Improper Neutralization of Special Elements Used in a Template Engine",
    "CWE-1341": "Multiple Releases of Same Resource or Handle",
}

_CWE_ID_RE = re.compile(r"^CWE-[1-9]\d{0,5}$")
_FILENAME_RUN_RE = re.compile(r"[^+\-a-z0-9]+")
_PRODUCT_ID_RE = re.compile(r"[^A-Za-z0-9._:+~^-]+")
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")


def legal_notice_for(publisher_name: str) -> str:
    """The terms of use note of a document issued by ``publisher_name``."""
    return (
        f"This document is provided 'as is' by {publisher_name}, without warranty of any kind. "
        "The statements it makes were derived automatically from public vulnerability records and the "
        "distribution's package sources; check them against your own deployment."
    )


DEFAULT_LEGAL_NOTICE = legal_notice_for("the cvewatch demo distribution")


# --- small public helpers -----------------------------------------------------------------------------------


def csaf_filename(tracking_id_value: str) -> str:
    """The CSAF 2.0 file name of a document (section 5.1): lower-case ``tracking.id``, every run of characters
    other than ``+``, ``-``, ``a-z``, ``0-9`` replaced by one ``_``, then ``.json``."""
    return _FILENAME_RUN_RE.sub("_", tracking_id_value.lower()) + ".json"


def tracking_id(cve: str, release_code: str, prefix: str = "CVEWATCH") -> str:
    """``CVEWATCH-AZL3-CVE-2023-38545`` for ``("CVE-2023-38545", "azl3")``."""
    return f"{prefix}-{release_code.upper()}-{cve}"


def vex_document_path(tracking_id_value: str, initial_release_date: datetime) -> str:
    """``<year of initial_release_date>/<csaf_filename>``, relative and POSIX-style."""
    return f"{_utc(initial_release_date).year:04d}/{csaf_filename(tracking_id_value)}"


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


def justification_for(evidence: Iterable[Evidence]) -> str:
    """The CSAF VEX flag label for a not_affected verdict with this evidence (see the module docstring)."""
    items = tuple(evidence)
    for e in items:
        if e.kind == "justification" and e.detail.strip() in VEX_JUSTIFICATIONS:
            return e.detail.strip()
    for e in items:
        label = JUSTIFICATION_BY_EVIDENCE_KIND.get(e.kind)
        if label is not None:
            return label
    return VULNERABLE_CODE_NOT_PRESENT


def dumps_csaf(document: Mapping[str, Any]) -> bytes:
    """Serialize deterministically: sorted keys, two-space indent, final newline."""
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


# --- internals ----------------------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (NVD's convention)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _csaf_datetime(value: datetime) -> str:
    v = _utc(value)
    return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"


def _evr(text: str, where: str) -> EVR:
    try:
        return EVR.parse(text)
    except InputError as err:
        raise ValueError(f"{where}: {err}") from None


def _slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return slug or "release"


@dataclass(frozen=True, slots=True)
class _Product:
    package: str
    evr: EVR
    evr_text: str  # canonical epoch:version-release
    status: Status
    fixed_in: str | None
    evidence: tuple[Evidence, ...]
    product_id: str


def _merge_verdicts(verdicts: Sequence[Verdict]) -> list[tuple[str, EVR, list[Verdict]]]:
    groups: dict[tuple[str, str], tuple[EVR, list[Verdict]]] = {}
    for v in verdicts:
        evr = _evr(v.version, f"{v.cve} {v.package}")
        key = (v.package, str(evr))
        if key in groups:
            groups[key][1].append(v)
        else:
            groups[key] = (evr, [v])
    return [(pkg, evr, vs) for (pkg, _), (evr, vs) in sorted(groups.items(), key=lambda kv: kv[0])]


def _products(verdicts: Sequence[Verdict], release_code: str) -> list[_Product]:
    out: list[_Product] = []
    seen_ids: dict[str, tuple[str, str]] = {}
    for package, evr, group in _merge_verdicts(verdicts):
        chosen = min(group, key=lambda v: (_STATUS_PRIORITY[v.status], v.fixed_in or ""))
        evidence: list[Evidence] = []
        for v in [chosen, *(g for g in group if g is not chosen)]:
            for e in v.evidence:
                if e not in evidence:
                    evidence.append(e)
        evr_text = str(evr)
        product_id = _PRODUCT_ID_RE.sub("_", f"{release_code}-{package}-{evr_text}")
        if product_id in seen_ids and seen_ids[product_id] != (package, evr_text):
            raise ValueError(f"product id {product_id!r} is not unique: {seen_ids[product_id]} and {package}")
        seen_ids[product_id] = (package, evr_text)
        out.append(
            _Product(
                package=package,
                evr=evr,
                evr_text=evr_text,
                status=chosen.status,
                fixed_in=chosen.fixed_in,
                evidence=tuple(evidence),
                product_id=product_id,
            )
        )
    return out


def _sentence(text: str) -> str:
    t = " ".join(text.split())
    return t if not t or t[-1] in ".!?" else t + "."


def _evidence_text(evidence: Sequence[Evidence]) -> str:
    return " ".join(s for s in (_sentence(e.detail) for e in evidence if e.kind != "justification") if s)


def _cvss_v3(vuln: Vulnerability) -> dict[str, Any] | None:
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


def _cvss_v2(vuln: Vulnerability) -> dict[str, Any] | None:
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


def _cwe(vuln: Vulnerability) -> dict[str, str] | None:
    for w in vuln.weaknesses:
        if _CWE_ID_RE.match(w) and w in CWE_NAMES:
            return {"id": w, "name": CWE_NAMES[w]}
    return None


def _references(vuln: Vulnerability) -> list[dict[str, str]]:
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


def _grouped(entries: Iterable[tuple[tuple[str, ...], str]]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Group product ids by a key, ids sorted, groups ordered by their first product id."""
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for key, pid in entries:
        groups[key].append(pid)
    out = [(key, sorted(pids)) for key, pids in groups.items()]
    out.sort(key=lambda kv: (kv[1][0], kv[0]))
    return out


def _remediation(p: _Product, product_name: str) -> tuple[str, str] | None:
    if p.status is Status.AFFECTED:
        if p.fixed_in:
            fixed = str(_evr(p.fixed_in, f"{p.package} fixed_in"))
            return "vendor_fix", f"Update {p.package} to {fixed} or later ({product_name})."
        if any(e.kind in NO_FIX_PLANNED_KINDS for e in p.evidence):
            return (
                "no_fix_planned",
                f"No fix is planned for {p.package} {p.evr_text} in {product_name}.",
            )
        return "none_available", f"No fixed {p.package} package is available for {product_name} yet."
    if p.status is Status.FIXED:
        fixed = str(_evr(p.fixed_in, f"{p.package} fixed_in")) if p.fixed_in else p.evr_text
        if fixed == p.evr_text:
            return "vendor_fix", f"{p.package} {fixed} in {product_name} contains the fix."
        return (
            "vendor_fix",
            f"{p.package} {p.evr_text} in {product_name} contains the fix, first shipped in {fixed}.",
        )
    if p.status is Status.UNDER_INVESTIGATION:
        return (
            "none_available",
            f"Whether {p.package} {p.evr_text} is affected is under investigation; no fix is available yet.",
        )
    return None


def _summary(vuln_id: str, product_name: str, products: Sequence[_Product]) -> str:
    counts = {s: sum(1 for p in products if p.status is s) for s in Status}
    parts = [
        f"{counts[s]} {label}"
        for s, label in (
            (Status.AFFECTED, "affected"),
            (Status.FIXED, "fixed"),
            (Status.NOT_AFFECTED, "not affected"),
            (Status.UNDER_INVESTIGATION, "under investigation"),
        )
        if counts[s]
    ]
    n = len(products)
    noun = "source package version" if n == 1 else "source package versions"
    return (
        f"Vulnerability Exploitability eXchange (VEX) statement on {vuln_id} for {product_name}: "
        f"{n} {noun} assessed ({', '.join(parts)})."
    )


# --- rendering ----------------------------------------------------------------------------------------------


def render_vex(
    vuln: Vulnerability,
    verdicts: Sequence[Verdict],
    *,
    release: str,
    publisher: Publisher,
    product_name: str,
    generator_version: str,
    release_code: str | None = None,
    purl_namespace: str = "azurelinux",
    purl_distro: str | None = None,
    vendor_name: str | None = None,
    base_url: str | None = None,
    legal_notice: str | None = None,
    id_prefix: str = "CVEWATCH",
) -> dict[str, Any]:
    """Render the CSAF 2.0 VEX document (a JSON-ready dict) for ``vuln`` in one release.

    ``release`` is the verdicts' release (``"3.0"``), ``product_name`` its human name (``"Azure Linux 3.0"``).
    ``release_code`` (default: ``release`` slugged) names the release in ids: ``azl3`` gives the tracking id
    ``CVEWATCH-AZL3-CVE-2023-38545`` and product ids ``azl3-curl-0:8.11.1-3.azl3``. purls are
    ``pkg:rpm/<purl_namespace>/...?distro=<purl_distro>`` (default distro ``<purl_namespace>-<release>``).
    ``vendor_name`` heads the product tree (default: the publisher's name). ``base_url`` is where the
    document folders are served (default ``<publisher namespace>/csaf/vex/``); the document's canonical
    ``self`` reference is ``base_url`` + its path. ``legal_notice`` defaults to :func:`legal_notice_for` the
    publisher's name. The document is version 1; :mod:`cvewatch.publishing.revisions` gives it its revision.

    Raises :class:`ValueError` when there is no verdict, when a verdict is about another CVE or release, or
    when a version or ``fixed_in`` is not an rpm EVR.
    """
    if not verdicts:
        raise ValueError(f"{vuln.id}: no verdicts to publish")
    for v in verdicts:
        if v.cve != vuln.id:
            raise ValueError(f"verdict for {v.cve} ({v.package}) passed with {vuln.id}")
        if v.release != release:
            raise ValueError(
                f"{vuln.id}: verdict for release {v.release!r} ({v.package}) passed for {release!r}"
            )

    code = release_code if release_code is not None else _slug(release)
    distro = purl_distro if purl_distro is not None else f"{purl_namespace}-{release}"
    products = _products(verdicts, code)

    initial = _utc(vuln.published)
    current = max(initial, _utc(vuln.last_modified))
    doc_id = tracking_id(vuln.id, code, id_prefix)
    path = vex_document_path(doc_id, initial)
    root = base_url if base_url is not None else publisher.namespace.rstrip("/") + "/csaf/vex/"

    # product tree: vendor → product_name (the release) → product_version per package EVR
    version_branches = [
        {
            "category": "product_version",
            "name": f"{p.package}-{p.evr_text}",
            "product": {
                "name": f"{product_name} {p.package}-{p.evr_text}",
                "product_id": p.product_id,
                "product_identification_helper": {
                    "purl": rpm_purl(p.package, p.evr, namespace=purl_namespace, distro=distro)
                },
            },
        }
        for p in products
    ]
    product_tree = {
        "branches": [
            {
                "category": "vendor",
                "name": vendor_name if vendor_name is not None else publisher.name,
                "branches": [
                    {"category": "product_name", "name": product_name, "branches": version_branches}
                ],
            }
        ]
    }

    status: dict[str, list[str]] = defaultdict(list)
    for p in products:
        status[_STATUS_KEY[p.status]].append(p.product_id)
    product_status = {k: sorted(ids) for k, ids in sorted(status.items())}

    vulnerability: dict[str, Any] = {
        "cve": vuln.id,
        "notes": [
            {
                "category": "description",
                "text": vuln.description.strip() or f"No description is available for {vuln.id}.",
                "title": "CVE description",
            }
        ],
        "product_status": product_status,
        "references": _references(vuln),
        "release_date": _csaf_datetime(vuln.published),
    }

    cwe = _cwe(vuln)
    if cwe is not None:
        vulnerability["cwe"] = cwe

    scored = sorted(
        p.product_id for p in products if p.status in (Status.AFFECTED, Status.UNDER_INVESTIGATION)
    )
    if scored:
        score: dict[str, Any] = {"products": scored}
        v3 = _cvss_v3(vuln)
        if v3 is not None:
            score["cvss_v3"] = v3
        v2 = _cvss_v2(vuln)
        if v2 is not None:
            score["cvss_v2"] = v2
        if len(score) > 1:
            vulnerability["scores"] = [score]

    flags = _grouped(
        ((justification_for(p.evidence),), p.product_id) for p in products if p.status is Status.NOT_AFFECTED
    )
    if flags:
        vulnerability["flags"] = [{"label": key[0], "product_ids": ids} for key, ids in flags]

    threats = _grouped(((text,), p.product_id) for p in products if (text := _evidence_text(p.evidence)))
    if threats:
        vulnerability["threats"] = [
            {"category": "impact", "details": key[0], "product_ids": ids} for key, ids in threats
        ]

    remediations = _grouped(
        (rem, p.product_id) for p in products if (rem := _remediation(p, product_name)) is not None
    )
    if remediations:
        vulnerability["remediations"] = [
            {"category": key[0], "details": key[1], "product_ids": ids} for key, ids in remediations
        ]

    publisher_json: dict[str, str] = {
        "category": publisher.category,
        "name": publisher.name,
        "namespace": publisher.namespace,
    }
    if publisher.contact_details:
        publisher_json["contact_details"] = publisher.contact_details
    if publisher.issuing_authority:
        publisher_json["issuing_authority"] = publisher.issuing_authority

    document: dict[str, Any] = {
        "category": "csaf_vex",
        "csaf_version": CSAF_VERSION,
        "distribution": {"tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}},
        "lang": "en",
        "notes": [
            {"category": "summary", "text": _summary(vuln.id, product_name, products), "title": "Summary"},
            {
                "category": "legal_disclaimer",
                "text": legal_notice if legal_notice is not None else legal_notice_for(publisher.name),
                "title": "Terms of use",
            },
        ],
        "publisher": publisher_json,
        "references": [
            {"category": "self", "summary": "Canonical URL of this document", "url": root + path},
            {
                "category": "external",
                "summary": f"NVD entry for {vuln.id}",
                "url": f"https://nvd.nist.gov/vuln/detail/{vuln.id}",
            },
        ],
        "title": f"{product_name}: VEX statement for {vuln.id}",
        "tracking": {
            "current_release_date": _csaf_datetime(current),
            "generator": {"engine": {"name": GENERATOR_NAME, "version": generator_version}},
            "id": doc_id,
            "initial_release_date": _csaf_datetime(initial),
            "revision_history": [
                {"date": _csaf_datetime(initial), "number": "1", "summary": "Initial version."}
            ],
            "status": "final",
            "version": "1",
        },
    }
    return {"document": document, "product_tree": product_tree, "vulnerabilities": [vulnerability]}


class CsafVexPublisher(DocumentPublisher):
    """One CSAF 2.0 VEX document per CVE for one release.

    :meth:`render` keeps only the verdicts for this publisher's release and the given CVE, and renders nothing
    for a rejected CVE or when no verdict is left.
    """

    format_name = "csaf-vex"

    def __init__(
        self,
        *,
        release: str,
        product_name: str,
        generator_version: str,
        publisher: Publisher,
        release_code: str | None = None,
        purl_namespace: str = "azurelinux",
        purl_distro: str | None = None,
        vendor_name: str | None = None,
        base_url: str | None = None,
        legal_notice: str | None = None,
        id_prefix: str = "CVEWATCH",
    ) -> None:
        self.release = release
        self.product_name = product_name
        self.generator_version = generator_version
        self.publisher = publisher
        self.release_code = release_code
        self.purl_namespace = purl_namespace
        self.purl_distro = purl_distro
        self.vendor_name = vendor_name
        self.base_url = base_url
        self.legal_notice = legal_notice
        self.id_prefix = id_prefix

    def render_document(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        """The document as a dict (all ``verdicts`` must be for ``vuln`` and this release)."""
        return render_vex(
            vuln,
            verdicts,
            release=self.release,
            publisher=self.publisher,
            product_name=self.product_name,
            generator_version=self.generator_version,
            release_code=self.release_code,
            purl_namespace=self.purl_namespace,
            purl_distro=self.purl_distro,
            vendor_name=self.vendor_name,
            base_url=self.base_url,
            legal_notice=self.legal_notice,
            id_prefix=self.id_prefix,
        )

    def render(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> list[PublishedDocument]:
        if vuln.rejected:
            return []
        mine = [v for v in verdicts if v.cve == vuln.id and v.release == self.release]
        if not mine:
            return []
        document = self.render_document(vuln, mine)
        tracking = document["document"]["tracking"]
        path = vex_document_path(tracking["id"], _utc(vuln.published))
        return [PublishedDocument(path=path, content=dumps_csaf(document), document_id=tracking["id"])]

    def revise(
        self, doc: PublishedDocument, previous: PublishedState | None, now: datetime
    ) -> tuple[PublishedDocument, PublishedState | None]:
        """Version 1 when new, the bytes published before when unchanged, the next version when changed
        (:mod:`cvewatch.publishing.revisions`)."""
        document, state = revise_document(
            orjson.loads(doc.content), previous, now, path=doc.path, format_name=self.format_name
        )
        return PublishedDocument(doc.path, dumps_csaf(document), state.document_id), state
