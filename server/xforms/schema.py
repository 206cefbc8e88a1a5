"""Read an XForm once, at publish: its identity, its fields, and the media files it refers to.

The field schema is read from the XForm XML (binds and body), never from pyxform's internals, so any
XForm works, as in ODK Central's ``lib/data/schema.js``. Fields are kept in depth-first document
order, which is the order people read the form in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from .. import errors
from .safexml import attr, child, local, parse

XFORMS = "http://www.w3.org/2002/xforms"
XHTML = "http://www.w3.org/1999/xhtml"
JR = "http://openrosa.org/javarosa"

# jr://images/x.png, jr://file-csv/areas.csv ... Collect stores media by base name only.
_ITEXT_REF = re.compile(r"jr:itext\('([^']+)'\)")
_MEDIA_REF = re.compile(r"jr://(?:images|audio|video|file|file-csv)/([^\"'<>\s]+)")


@dataclass(frozen=True, slots=True)
class XFormInfo:
    form_id: str
    version: str
    title: str
    fields: list[dict]
    media_expected: list[str]

    @property
    def binary_paths(self) -> set[str]:
        return {f["path"] for f in self.fields if f["type"] == "binary"}


def read_xform(xml: bytes) -> XFormInfo:
    root = parse(xml)
    head = child(root, "head")
    model = child(head, "model") if head is not None else None
    if model is None:
        raise errors.XFORM_INVALID(reason="no <h:head><model> element: this is not an XForm")
    instance = child(model, "instance")
    primary = None
    if instance is not None:
        primary = next((e for e in instance if isinstance(e.tag, str)), None)
    if primary is None:
        raise errors.XFORM_INVALID(reason="the model has no primary instance")
    form_id = (primary.get("id") or "").strip()
    if not form_id:
        raise errors.XFORM_INVALID(reason="the primary instance root has no id attribute")
    title_el = child(head, "title")
    title = (title_el.text or "").strip() if title_el is not None else ""

    binds = {b.get("nodeset"): b for b in model if local(b.tag) == "bind" and b.get("nodeset")}
    body = child(root, "body")
    repeats = (
        {r.get("nodeset") for r in body.iter(f"{{{XFORMS}}}repeat")} if body is not None else set()
    )
    fields: list[dict] = []
    _walk(primary, "", None, binds, repeats, fields)
    labels = _labels(model, body)
    for f in fields:
        if f["path"] in labels:
            f["label"] = labels[f["path"]]

    media = sorted({m.rsplit("/", 1)[-1] for m in _MEDIA_REF.findall(xml.decode("utf-8"))})
    return XFormInfo(
        form_id=form_id,
        version=(attr(primary, "version") or "").strip(),
        title=title or form_id,
        fields=fields,
        media_expected=media,
    )


def _walk(element: Element, parent: str, repeat: str | None, binds, repeats, out) -> None:
    seen: set[str] = set()
    for node in element:
        if not isinstance(node.tag, str):
            continue
        name = local(node.tag)
        if name in seen:  # the template and the first instance of a repeat: describe it once
            continue
        seen.add(name)
        path = f"{parent}/{name}" if parent else f"/{local(element.tag)}/{name}"
        is_repeat = path in repeats or any(local(k) == "template" for k in node.attrib)
        has_children = any(isinstance(c.tag, str) for c in node)
        bind = binds.get(path)
        kind = "repeat" if is_repeat else "group" if has_children else "field"
        entry = {
            "path": path,
            "name": name,
            "kind": kind,
            "type": _bind_type(bind) if kind == "field" else kind,
            "repeat": repeat,
        }
        if bind is not None:
            for key in ("required", "relevant", "constraint", "calculate", "readonly"):
                if bind.get(key):
                    entry[key] = bind.get(key).strip()
            if bind.get(f"{{{JR}}}preload"):
                entry["preload"] = bind.get(f"{{{JR}}}preload")
        out.append(entry)
        if has_children:
            _walk(node, path, path if is_repeat else repeat, binds, repeats, out)


def _labels(model: Element, body: Element | None) -> dict[str, dict[str, str]]:
    """path -> {language: label} from the body's controls, translated through itext.

    Languages are keyed by the code in parentheses ("Tiếng Việt (vi)" -> "vi"); a form with one
    language and no itext gets the key "default".
    """
    itext: dict[str, dict[str, str]] = {}
    block = child(model, "itext")
    for translation in block if block is not None else []:
        lang = _lang_code(translation.get("lang") or "default")
        for text in translation:
            value = next((v for v in text if local(v.tag) == "value" and not v.get("form")), None)
            if value is not None:
                words = "".join(value.itertext()).strip()
                itext.setdefault(text.get("id"), {})[lang] = words
    out: dict[str, dict[str, str]] = {}
    for control in body.iter() if body is not None else []:
        ref = control.get("ref") or control.get("nodeset")
        label = child(control, "label")
        if not ref or label is None or ref in out:
            continue
        match = _ITEXT_REF.match(label.get("ref") or "")
        if match:
            out[ref] = itext.get(match.group(1), {})
        elif (label.text or "").strip():
            out[ref] = {"default": "".join(label.itertext()).strip()}
    return out


def _lang_code(name: str) -> str:
    match = re.search(r"\(([^)]+)\)\s*$", name)
    return match.group(1) if match else name


def _bind_type(bind: Element | None) -> str:
    if bind is None or not bind.get("type"):
        return "string"
    return local(bind.get("type"))
