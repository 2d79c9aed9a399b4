"""Parsing XML from outside: no DTD, no entity expansion, no network, no huge trees.

A JUnit report never needs a DOCTYPE, so any document that declares one is refused before anything is
expanded (XXE, "billion laughs"). The lxml parser itself is also configured safe: entities are not
resolved, no DTD is loaded, the network is off and libxml2's size limits stay on.
"""

from __future__ import annotations

from lxml import etree

from cvewatch.errors import InputError


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, source: str) -> etree._Element:
    """The root element of ``data``; a DOCTYPE, an entity or malformed XML is an :class:`InputError`."""
    if not data.strip():
        raise InputError("empty XML document", source)
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise InputError(
            "XML with a DOCTYPE or entity declarations is refused (XXE / entity expansion)", source
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise InputError(f"malformed or truncated XML: {exc.msg}", source) from None
    if root.getroottree().docinfo.doctype:
        raise InputError("XML with a DOCTYPE is refused", source)
    return root
