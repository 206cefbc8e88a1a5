"""Refuse an uploaded XForm that carries anything a browser could run.

A raw XForm (uploaded as XML, not converted from XLSForm) is served back on khudan's origin; an
``<h:script>``, an ``onload`` attribute or an ``<?xml-stylesheet?>`` in it would run with the
session of whoever opens the form URL. ODK defines a small vocabulary, so anything outside it
is refused, naming the element and its line: XForms, JavaRosa, ODK, OpenRosa and Entities
elements; of XHTML only ``html``, ``head``, ``title`` and ``body``; and ``ev:event`` style
attributes. Inside ``<instance>`` (the form's data) any namespace may appear, except the ones
a browser renders actively (XHTML, SVG, MathML, XLink, XSLT).
"""

from __future__ import annotations

from xml.parsers import expat

from .. import errors

XFORMS = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
ODK_NAMESPACES = frozenset(
    {
        XFORMS,
        "http://openrosa.org/javarosa",
        "http://www.opendatakit.org/xforms",
        "http://openrosa.org/xforms",
        "http://www.opendatakit.org/xforms/entities",
    }
)
XHTML_ALLOWED = frozenset({"html", "head", "title", "body"})
ACTIVE_NAMESPACES = frozenset(
    {
        XHTML,
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/1999/XSL/Transform",
    }
)
_SEP = "\x1f"


def check(xml: bytes) -> None:
    """Raise 422.9 for the first thing in ``xml`` that ODK does not define and a browser could
    run. The XML has already been parsed safely (no DTD, no entities) by ``read_xform``."""
    parser = expat.ParserCreate(namespace_separator=_SEP)
    depth_in_instance = 0

    def refuse(what: str) -> None:
        raise errors.XFORM_UNSAFE(what=what, line=parser.CurrentLineNumber)

    def start(name: str, attrs: dict) -> None:
        nonlocal depth_in_instance
        ns, local = _split(name)
        if depth_in_instance:
            depth_in_instance += 1
            if ns in ACTIVE_NAMESPACES:
                refuse(f"<{local}> ({ns})")
        elif ns == XHTML:
            if local not in XHTML_ALLOWED:
                refuse(f"<h:{local}>")
        elif ns not in ODK_NAMESPACES:
            refuse(f"<{local}>" + (f" ({ns})" if ns else " (no namespace)"))
        elif ns == XFORMS and local == "instance":
            depth_in_instance = 1
        for key in attrs:
            attr_ns, attr_local = _split(key)
            if attr_ns in ACTIVE_NAMESPACES - {XHTML}:
                refuse(f"the attribute {attr_local} ({attr_ns}) on <{local}>")
            if attr_local.lower().startswith("on") and (
                ns in ACTIVE_NAMESPACES or not depth_in_instance
            ):
                refuse(f"the event handler {attr_local}= on <{local}>")

    def end(_name: str) -> None:
        nonlocal depth_in_instance
        if depth_in_instance:
            depth_in_instance -= 1

    def instruction(target: str, _data: str) -> None:
        refuse(f"<?{target} ...?>")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.ProcessingInstructionHandler = instruction
    parser.Parse(xml, True)


def _split(name: str) -> tuple[str, str]:
    ns, _, local = name.rpartition(_SEP)
    return ns, local
