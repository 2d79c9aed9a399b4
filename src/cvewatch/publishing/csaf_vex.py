"""CSAF 2.0 VEX documents: one ``csaf_vex`` document per CVE and release, from the matcher's verdicts.

Profile: CSAF 2.0 section 4.5 (CSAF VEX) and its mandatory tests 6.1.27.x. Structure of a document:

* ``product_tree``: one branch ``vendor`` → ``product_name`` (the release, e.g. "Azure Linux 3.0") →
  ``product_version`` per source package EVR (``curl-0:8.11.1-3.azl3``). Each product carries a purl
  (``pkg:rpm/azurelinux/curl@8.11.1-3.azl3?distro=azurelinux-3.0``, ``&epoch=N`` when the epoch is not 0)
  and a stable id ``<code>-<package>-<epoch:version-release>`` (``azl3-curl-0:8.11.1-3.azl3``).
* ``vulnerabilities[0]``: ``cve``, the description note, ``cwe``, ``scores``, ``references`` (the parts
  every CSAF document shares: :mod:`cvewatch.publishing.csaf`), ``product_status``, ``flags``, ``threats``
  and ``remediations``.

Status mapping (:data:`PRODUCT_STATUS`): affected → ``known_affected``, fixed → ``fixed``, not_affected →
``known_not_affected``, under_investigation → ``under_investigation``.

VEX justification (one flag per known_not_affected product, 6.1.33): a triage record's label, else what the
deciding evidence stands for (:func:`cvewatch.model.vex.justification_for`, the one table shared by every
format): the distribution's ``nopatch`` triage and a version outside the vulnerable range both mean that the
shipped code does not contain the flaw, hence ``vulnerable_code_not_present`` (also the fallback).

Impact statements: every product with evidence gets a ``threats`` entry of category ``impact`` whose details
are its evidence sentences (the kinds of :data:`IN_IMPACT_STATEMENT`); products with identical sentences
share one entry.

Action statements (remediations): affected with ``fixed_in`` → ``vendor_fix`` (update to that EVR); affected
without → ``none_available``; fixed → ``vendor_fix`` naming the fixed EVR; under investigation →
``none_available`` (recommended test 6.2.2 wants a remediation for it too).

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

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from cvewatch.model.published import PublishedState
from cvewatch.model.records import Vulnerability
from cvewatch.model.verdicts import Evidence, EvidenceKind, Status, Verdict
from cvewatch.model.vex import JUSTIFICATION_BY_EVIDENCE_KIND, Remediation, justification_for
from cvewatch.publishing.csaf import (
    CSAF_VERSION,
    GENERATOR_NAME,
    Product,
    csaf_datetime,
    cvss_v2,
    cvss_v3,
    cwe,
    document_path,
    dumps_csaf,
    evr,
    grouped,
    products,
    publisher_json,
    references,
    rpm_purl,
    slug,
    tracking_id,
    utc,
)
from cvewatch.publishing.interface import DocumentPublisher, PublishedDocument, Publisher, legal_notice_for
from cvewatch.publishing.revisions import revise_document

__all__ = [
    "IN_IMPACT_STATEMENT",
    "PRODUCT_STATUS",
    "CsafVexOptions",
    "CsafVexPublisher",
    "render_vex",
]

#: verdict status -> the CSAF ``product_status`` list of the product
PRODUCT_STATUS: Mapping[Status, str] = {
    Status.AFFECTED: "known_affected",
    Status.FIXED: "fixed",
    Status.NOT_AFFECTED: "known_not_affected",
    Status.UNDER_INVESTIGATION: "under_investigation",
}

#: evidence kind -> whether its sentence is part of the product's impact statement (``threats``); every kind
#: is here (with :data:`~cvewatch.model.vex.JUSTIFICATION_BY_EVIDENCE_KIND`, the format's whole mapping).
#: A triage record's label is not a sentence: the flag says it.
IN_IMPACT_STATEMENT: Mapping[EvidenceKind, bool] = {
    EvidenceKind.TRIAGE: True,
    EvidenceKind.JUSTIFICATION: False,
    EvidenceKind.NOPATCH: True,
    EvidenceKind.PATCH: True,
    EvidenceKind.CHANGELOG: True,
    EvidenceKind.INSTALLED: True,
    EvidenceKind.COMPONENT: True,
    EvidenceKind.TOOLCHAIN: True,
    EvidenceKind.PROTOCOL: True,
    EvidenceKind.NVD_BACKLOG: True,
    EvidenceKind.CPE_MATCH: True,
    EvidenceKind.CNA_MATCH: True,
    EvidenceKind.CONDITION: True,
    EvidenceKind.VERSION_AFFECTED: True,
    EvidenceKind.VERSION_NOT_AFFECTED: True,
    EvidenceKind.VERSION_UNKNOWN: True,
    EvidenceKind.CVSS: True,
}


@dataclass(frozen=True, slots=True)
class CsafVexOptions:
    """How a release's VEX documents name things.

    ``release`` is the verdicts' release (``"3.0"``), ``product_name`` its human name (``"Azure Linux 3.0"``).
    ``release_code`` (default: ``release`` slugged) names the release in ids: ``azl3`` gives the tracking id
    ``CVEWATCH-AZL3-CVE-2023-38545`` (``id_prefix`` first) and product ids ``azl3-curl-0:8.11.1-3.azl3``.
    purls are ``pkg:rpm/<purl_namespace>/...?distro=<purl_distro>`` (default distro
    ``<purl_namespace>-<release>``). ``vendor_name`` heads the product tree (default: the publisher's name).
    ``base_url`` is where the document folders are served (default ``<publisher namespace>/csaf/vex/``); the
    document's canonical ``self`` reference is ``base_url`` + its path. ``legal_notice`` defaults to
    :func:`~cvewatch.publishing.interface.legal_notice_for` the publisher's name.
    """

    release: str
    product_name: str
    generator_version: str
    publisher: Publisher
    release_code: str | None = None
    purl_namespace: str = "azurelinux"
    purl_distro: str | None = None
    vendor_name: str | None = None
    base_url: str | None = None
    legal_notice: str | None = None
    id_prefix: str = "CVEWATCH"

    @property
    def code(self) -> str:
        return self.release_code if self.release_code is not None else slug(self.release)

    @property
    def distro(self) -> str:
        return self.purl_distro if self.purl_distro is not None else f"{self.purl_namespace}-{self.release}"

    @property
    def vendor(self) -> str:
        return self.vendor_name if self.vendor_name is not None else self.publisher.name

    @property
    def root(self) -> str:
        return (
            self.base_url
            if self.base_url is not None
            else self.publisher.namespace.rstrip("/") + "/csaf/vex/"
        )

    @property
    def notice(self) -> str:
        return self.legal_notice if self.legal_notice is not None else legal_notice_for(self.publisher.name)


# --- rendering ----------------------------------------------------------------------------------------------


def render_vex(vuln: Vulnerability, verdicts: Sequence[Verdict], options: CsafVexOptions) -> dict[str, Any]:
    """Render the CSAF 2.0 VEX document (a JSON-ready dict) for ``vuln`` in ``options.release``. The
    document is version 1; :mod:`cvewatch.publishing.revisions` gives it its revision.

    Raises :class:`ValueError` when there is no verdict, when a verdict is about another CVE or release, when
    a version or ``fixed_in`` is not an rpm EVR, or when evidence is of a kind this format has no mapping for.
    """
    _check(vuln, verdicts, options.release)
    prods = products(verdicts, options.code)
    return {
        "document": _document(vuln, prods, options),
        "product_tree": _product_tree(prods, options),
        "vulnerabilities": [_vulnerability(vuln, prods, options.product_name)],
    }


def _check(vuln: Vulnerability, verdicts: Sequence[Verdict], release: str) -> None:
    if not verdicts:
        raise ValueError(f"{vuln.id}: no verdicts to publish")
    for v in verdicts:
        if v.cve != vuln.id:
            raise ValueError(f"verdict for {v.cve} ({v.package}) passed with {vuln.id}")
        if v.release != release:
            raise ValueError(
                f"{vuln.id}: verdict for release {v.release!r} ({v.package}) passed for {release!r}"
            )
        for e in v.evidence:
            if e.kind not in IN_IMPACT_STATEMENT or e.kind not in JUSTIFICATION_BY_EVIDENCE_KIND:
                raise ValueError(
                    f"{vuln.id} {v.package}: evidence of kind {e.kind!r} has no CSAF VEX mapping"
                )


def _product_tree(prods: Sequence[Product], options: CsafVexOptions) -> dict[str, Any]:
    """vendor → product_name (the release) → product_version per package EVR."""
    version_branches = [
        {
            "category": "product_version",
            "name": f"{p.package}-{p.evr_text}",
            "product": {
                "name": f"{options.product_name} {p.package}-{p.evr_text}",
                "product_id": p.product_id,
                "product_identification_helper": {
                    "purl": rpm_purl(
                        p.package, p.evr, namespace=options.purl_namespace, distro=options.distro
                    )
                },
            },
        }
        for p in prods
    ]
    return {
        "branches": [
            {
                "category": "vendor",
                "name": options.vendor,
                "branches": [
                    {"category": "product_name", "name": options.product_name, "branches": version_branches}
                ],
            }
        ]
    }


def _vulnerability(vuln: Vulnerability, prods: Sequence[Product], product_name: str) -> dict[str, Any]:
    status: dict[str, list[str]] = defaultdict(list)
    for p in prods:
        status[PRODUCT_STATUS[p.status]].append(p.product_id)
    out: dict[str, Any] = {
        "cve": vuln.id,
        "notes": [
            {
                "category": "description",
                "text": vuln.description.strip() or f"No description is available for {vuln.id}.",
                "title": "CVE description",
            }
        ],
        "product_status": {k: sorted(ids) for k, ids in sorted(status.items())},
        "references": references(vuln),
        "release_date": csaf_datetime(vuln.published),
    }
    weakness = cwe(vuln)
    if weakness is not None:
        out["cwe"] = weakness
    score = _score(vuln, prods)
    if score is not None:
        out["scores"] = [score]
    flags = grouped(
        ((justification_for(p.evidence).value,), p.product_id)
        for p in prods
        if p.status is Status.NOT_AFFECTED
    )
    if flags:
        out["flags"] = [{"label": key[0], "product_ids": ids} for key, ids in flags]
    threats = grouped(((text,), p.product_id) for p in prods if (text := _impact_statement(p.evidence)))
    if threats:
        out["threats"] = [
            {"category": "impact", "details": key[0], "product_ids": ids} for key, ids in threats
        ]
    remediations = grouped(
        (rem, p.product_id) for p in prods if (rem := _remediation(p, product_name)) is not None
    )
    if remediations:
        out["remediations"] = [
            {"category": key[0], "details": key[1], "product_ids": ids} for key, ids in remediations
        ]
    return out


def _score(vuln: Vulnerability, prods: Sequence[Product]) -> dict[str, Any] | None:
    """The CVSS scores of the known_affected and under_investigation products (none for the others)."""
    scored = sorted(p.product_id for p in prods if p.status in (Status.AFFECTED, Status.UNDER_INVESTIGATION))
    if not scored:
        return None
    score: dict[str, Any] = {"products": scored}
    v3 = cvss_v3(vuln)
    if v3 is not None:
        score["cvss_v3"] = v3
    v2 = cvss_v2(vuln)
    if v2 is not None:
        score["cvss_v2"] = v2
    return score if len(score) > 1 else None


def _sentence(text: str) -> str:
    t = " ".join(text.split())
    return t if not t or t[-1] in ".!?" else t + "."


def _impact_statement(evidence: Sequence[Evidence]) -> str:
    return " ".join(s for s in (_sentence(e.detail) for e in evidence if IN_IMPACT_STATEMENT[e.kind]) if s)


def _remediation(p: Product, product_name: str) -> tuple[str, str] | None:
    """The action statement for a product: (category, details); None for a not_affected one."""
    if p.status is Status.AFFECTED:
        if p.fixed_in:
            fixed = str(evr(p.fixed_in, f"{p.package} fixed_in"))
            return Remediation.VENDOR_FIX.value, f"Update {p.package} to {fixed} or later ({product_name})."
        return (
            Remediation.NONE_AVAILABLE.value,
            f"No fixed {p.package} package is available for {product_name} yet.",
        )
    if p.status is Status.FIXED:
        fixed = str(evr(p.fixed_in, f"{p.package} fixed_in")) if p.fixed_in else p.evr_text
        if fixed == p.evr_text:
            return Remediation.VENDOR_FIX.value, f"{p.package} {fixed} in {product_name} contains the fix."
        return (
            Remediation.VENDOR_FIX.value,
            f"{p.package} {p.evr_text} in {product_name} contains the fix, first shipped in {fixed}.",
        )
    if p.status is Status.UNDER_INVESTIGATION:
        return (
            Remediation.NONE_AVAILABLE.value,
            f"Whether {p.package} {p.evr_text} is affected is under investigation; no fix is available yet.",
        )
    return None


def _summary(vuln_id: str, product_name: str, prods: Sequence[Product]) -> str:
    counts = {s: sum(1 for p in prods if p.status is s) for s in Status}
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
    n = len(prods)
    noun = "source package version" if n == 1 else "source package versions"
    return (
        f"Vulnerability Exploitability eXchange (VEX) statement on {vuln_id} for {product_name}: "
        f"{n} {noun} assessed ({', '.join(parts)})."
    )


def _document(vuln: Vulnerability, prods: Sequence[Product], options: CsafVexOptions) -> dict[str, Any]:
    """``document``: category, notes, publisher, references, title and tracking (dates from the record)."""
    initial = utc(vuln.published)
    current = max(initial, utc(vuln.last_modified))
    doc_id = tracking_id(vuln.id, options.code, options.id_prefix)
    return {
        "category": "csaf_vex",
        "csaf_version": CSAF_VERSION,
        "distribution": {"tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}},
        "lang": "en",
        "notes": [
            {
                "category": "summary",
                "text": _summary(vuln.id, options.product_name, prods),
                "title": "Summary",
            },
            {"category": "legal_disclaimer", "text": options.notice, "title": "Terms of use"},
        ],
        "publisher": publisher_json(options.publisher),
        "references": [
            {
                "category": "self",
                "summary": "Canonical URL of this document",
                "url": options.root + document_path(doc_id, initial),
            },
            {
                "category": "external",
                "summary": f"NVD entry for {vuln.id}",
                "url": f"https://nvd.nist.gov/vuln/detail/{vuln.id}",
            },
        ],
        "title": f"{options.product_name}: VEX statement for {vuln.id}",
        "tracking": {
            "current_release_date": csaf_datetime(current),
            "generator": {"engine": {"name": GENERATOR_NAME, "version": options.generator_version}},
            "id": doc_id,
            "initial_release_date": csaf_datetime(initial),
            "revision_history": [
                {"date": csaf_datetime(initial), "number": "1", "summary": "Initial version."}
            ],
            "status": "final",
            "version": "1",
        },
    }


class CsafVexPublisher(DocumentPublisher):
    """One CSAF 2.0 VEX document per CVE for one release.

    :meth:`render` keeps only the verdicts for this publisher's release and the given CVE, and renders nothing
    for a rejected CVE or when no verdict is left.
    """

    format_name = "csaf-vex"
    evidence_kinds = frozenset(IN_IMPACT_STATEMENT) & frozenset(JUSTIFICATION_BY_EVIDENCE_KIND)

    def __init__(self, options: CsafVexOptions) -> None:
        self.options = options

    @property
    def release(self) -> str:
        return self.options.release

    def render_document(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        """The document as a dict (all ``verdicts`` must be for ``vuln`` and this release)."""
        return render_vex(vuln, verdicts, self.options)

    def render(self, vuln: Vulnerability, verdicts: Sequence[Verdict]) -> list[PublishedDocument]:
        if vuln.rejected:
            return []
        mine = [v for v in verdicts if v.cve == vuln.id and v.release == self.release]
        if not mine:
            return []
        document = self.render_document(vuln, mine)
        tracking = document["document"]["tracking"]
        path = document_path(tracking["id"], utc(vuln.published))
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
