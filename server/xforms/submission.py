"""Read what a submission's XML says about itself: form, version, instance IDs, files it refers to."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from .. import errors
from .safexml import XmlLimits, attr, child, local, parse


@dataclass(frozen=True, slots=True)
class SubmissionInfo:
    root: Element
    form_id: str
    version: str
    instance_id: str
    deprecated_id: str | None
    instance_name: str | None

    def referenced_files(self, binary_paths: set[str]) -> list[str]:
        """File names the XML names in the form's binary fields, in document order, once each."""
        names: dict[str, None] = {}
        _collect(self.root, f"/{local(self.root.tag)}", binary_paths, names)
        return list(names)


def read_submission(xml: bytes, limits: XmlLimits = XmlLimits()) -> SubmissionInfo:  # noqa: B008
    """What the XML says about itself; ``limits`` are the server's caps on what arrives."""
    root = parse(xml, limits)
    form_id = (root.get("id") or "").strip()
    if not form_id:
        raise errors.FORM_ID_MISSING()
    meta = child(root, "meta")
    instance_id = _text(meta, "instanceID") or _text(root, "instanceID")
    if not instance_id:
        # Without an instanceID a resend could not be recognised; the content itself is the
        # identity, so sending the same XML twice still stores it once.
        instance_id = "sha256:" + hashlib.sha256(xml).hexdigest()
    return SubmissionInfo(
        root=root,
        form_id=form_id,
        version=(attr(root, "version") or "").strip(),
        instance_id=instance_id,
        deprecated_id=_text(meta, "deprecatedID"),
        instance_name=_text(meta, "instanceName"),
    )


def _text(parent: Element | None, name: str) -> str | None:
    if parent is None:
        return None
    el = child(parent, name)
    value = (el.text or "").strip() if el is not None else ""
    return value or None


def _collect(element: Element, path: str, wanted: set[str], out: dict[str, None]) -> None:
    for node in element:
        if not isinstance(node.tag, str):
            continue
        node_path = f"{path}/{local(node.tag)}"
        if node_path in wanted:
            name = (node.text or "").strip()
            if name:
                out[name] = None
        elif len(node):
            _collect(node, node_path, wanted, out)
