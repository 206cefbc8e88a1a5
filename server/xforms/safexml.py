"""Parse XML from outside without ever expanding an entity or fetching a DTD.

Any DOCTYPE is refused outright: no XForm or submission needs one, and refusing it closes XXE and
"billion laughs" in one rule.

A submission is parsed on every POST, so the common case takes a faster road: a document of at
most ``FAST_BYTES`` in UTF-8 (or ASCII) with no ``<!DOCTYPE`` or ``<!ENTITY`` in its bytes cannot
declare an entity, and is read by the C parser in one call (three times faster than a parser
that calls back into Python for every element); its limits are checked on the tree it built,
which that size keeps small. Anything else (a DOCTYPE, another encoding, in which those bytes
could be spelled differently, a big document) goes through the defused parser, which stops at
the first element past a limit.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError, TreeBuilder
from xml.etree.ElementTree import fromstring as _c_fromstring

import defusedxml
from defusedxml.ElementTree import DefusedXMLParser

from .. import errors

# Deeper than any form nests (a few groups in a repeat in a group); far from where the readers'
# recursion would fail (5,000 nested elements answered 500 with a RecursionError).
DEFAULT_MAX_DEPTH = 100
FAST_BYTES = 256 * 1024  # a poverty review with five members is about 6 KB
# An XML declaration naming an encoding other than UTF-8 or ASCII sends a document the slow way.
_DECLARED_ENCODING = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)"""
)


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """What a document may hold: nesting depth, elements in all, and same-named siblings (the
    members of one repeat); ``None`` for no limit."""

    max_depth: int = DEFAULT_MAX_DEPTH
    max_nodes: int | None = None
    max_siblings: int | None = None


class _LimitedBuilder(TreeBuilder):
    """A tree builder that stops the parse as soon as the document passes a limit, before the
    rest is read or built."""

    def __init__(self, limits: XmlLimits):
        super().__init__()
        self.limits = limits
        self.depth = 0
        self.nodes = 0
        self.siblings: list[dict[str, int]] = [{}]

    def start(self, tag, attrs):
        limits = self.limits
        self.depth += 1
        self.nodes += 1
        if self.depth > limits.max_depth:
            raise errors.XML_TOO_DEEP(limit=limits.max_depth)
        if limits.max_nodes is not None and self.nodes > limits.max_nodes:
            raise errors.XML_TOO_MANY_NODES(limit=limits.max_nodes)
        if limits.max_siblings is not None:
            counts = self.siblings[-1]
            counts[tag] = counts.get(tag, 0) + 1
            if counts[tag] > limits.max_siblings:
                raise errors.REPEAT_TOO_LONG(name=local(tag), limit=limits.max_siblings)
            self.siblings.append({})
        return super().start(tag, attrs)

    def end(self, tag):
        self.depth -= 1
        if self.limits.max_siblings is not None:
            self.siblings.pop()
        return super().end(tag)


def parse(data: bytes, limits: XmlLimits = XmlLimits()) -> Element:
    if not data or not data.strip():
        raise errors.XML_MALFORMED(reason="empty document")
    if _plain(data):
        try:
            root = _c_fromstring(data)  # noqa: S314 (no DTD can be declared: see the docstring)
        except ParseError as exc:
            raise errors.XML_MALFORMED(reason=str(exc)) from None
        _check(root, limits)
        return root
    parser = DefusedXMLParser(
        target=_LimitedBuilder(limits), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        return parser.close()
    except defusedxml.DefusedXmlException:
        raise errors.XML_DTD_FORBIDDEN() from None
    except ParseError as exc:
        raise errors.XML_MALFORMED(reason=str(exc)) from None


def _plain(data: bytes) -> bool:
    """Small, UTF-8 or ASCII (no NUL byte: not UTF-16 or UTF-32), no DOCTYPE, no ENTITY."""
    if len(data) > FAST_BYTES or b"\x00" in data or b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return False
    declared = _DECLARED_ENCODING.match(data)
    return declared is None or declared.group(1).lower() in (b"utf-8", b"utf8", b"us-ascii")


def _check(root: Element, limits: XmlLimits) -> None:
    """The limits ``_LimitedBuilder`` enforces while parsing, on a tree already built (level by
    level: the depth is the number of levels)."""
    level, depth, nodes = [root], 1, 0
    most = limits.max_siblings
    while level:
        nodes += len(level)
        if depth > limits.max_depth:
            raise errors.XML_TOO_DEEP(limit=limits.max_depth)
        if limits.max_nodes is not None and nodes > limits.max_nodes:
            raise errors.XML_TOO_MANY_NODES(limit=limits.max_nodes)
        below: list[Element] = []
        for element in level:
            if most is not None and len(element) > most:
                tag, count = Counter(c.tag for c in element).most_common(1)[0]
                if count > most:
                    raise errors.REPEAT_TOO_LONG(name=local(tag), limit=most)
            below.extend(element)
        level, depth = below, depth + 1


def parse_stored(data: bytes) -> Element:
    """Parse XML that ``parse`` accepted when it arrived (a stored submission) with the C parser
    directly: three times faster, which counts when an export reads 100,000 of them. Without a
    DOCTYPE there is no entity to expand; anything with one still goes through ``parse``, which
    refuses it."""
    if b"<!DOCTYPE" in data:
        return parse(data)
    try:
        return _c_fromstring(data)  # noqa: S314 (no DOCTYPE: nothing to expand)
    except ParseError as exc:
        raise errors.XML_MALFORMED(reason=str(exc)) from None


def local(tag: str) -> str:
    """``{namespace}name`` -> ``name``; ``prefix:name`` -> ``name``."""
    if "}" not in tag and ":" not in tag:  # most names of a submission (called for each node)
        return tag
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def attr(element: Element, name: str) -> str | None:
    """An attribute by local name, whatever its namespace (``version`` or ``orx:version``)."""
    for key, value in element.attrib.items():
        if local(key) == name:
            return value
    return None


def child(element: Element, name: str) -> Element | None:
    for c in element:
        if isinstance(c.tag, str) and local(c.tag) == name:
            return c
    return None
