"""Read an XForm once, at publish: its identity, its fields, and the media files it refers to.

The field schema is read from the XForm XML (binds and body), never from pyxform's internals, so any
XForm works, as in ODK Central's ``lib/data/schema.js``. Fields are kept in depth-first document
order, which is the order people read the form in.

Besides the binds, each question records what ingest needs to check an answer against the form
(``khudan.xforms.validate``): its body ``control`` (``input``, ``select1``, ``select``, ``upload``,
``range``, ``rank``, ``trigger``), the form's own messages (``constraint_msg``, ``required_msg``,
``{language: text}`` like labels) and, for selects, its ``choices``:

- ``{"values": [...]}``: inline ``<item>``s;
- ``{"instance": id, "nodeset": ..., "value": ref, "values": [...]}``: an itemset over a secondary
  instance inside the XForm, plus ``"items"`` (every column of every item) when the items carry
  more than a value and a label, so a ``choice_filter`` or an ``instance()`` look-up can be
  evaluated again at ingest;
- ``{"instance": id, "nodeset": ..., "value": ref, "media": "x.csv"}``: an itemset over a media
  file (``jr://file-csv/x.csv``, ``jr://file/x.xml``), whose values are read from the file at
  ingest;
- ``{"nodeset": ..., "value": ref}``: any other itemset (e.g. choices from a repeat of the form).
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
_OUTPUT = re.compile(r"\$\{[^}]*\}")
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
    itext = _itext(model)
    fields: list[dict] = []
    _walk(primary, "", None, binds, repeats, fields, itext)
    labels = _labels(itext, body)
    controls = _controls(body, _secondary_instances(model)) if body is not None else {}
    for f in fields:
        if f["path"] in labels:
            written = labels[f["path"]]
            f["label"] = {lang: plain(text) for lang, text in written.items()}
            if written != f["label"]:  # it shows answers: kept for the pages to fill in
                f["label_template"] = written
        if f["kind"] == "field" and f["path"] in controls:
            f.update(controls[f["path"]])

    media = sorted({m.rsplit("/", 1)[-1] for m in _MEDIA_REF.findall(xml.decode("utf-8"))})
    return XFormInfo(
        form_id=form_id,
        version=(attr(primary, "version") or "").strip(),
        title=title or form_id,
        fields=fields,
        media_expected=media,
    )


def _walk(element: Element, parent: str, repeat: str | None, binds, repeats, out, itext) -> None:
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
            for key, attribute in (
                ("constraint_msg", "constraintMsg"),
                ("required_msg", "requiredMsg"),
            ):
                text = (bind.get(f"{{{JR}}}{attribute}") or "").strip()
                if text:
                    match = _ITEXT_REF.match(text)
                    entry[key] = (
                        _plain(itext.get(match.group(1), {})) if match else {"default": text}
                    )
        out.append(entry)
        if has_children:
            _walk(node, path, path if is_repeat else repeat, binds, repeats, out, itext)


def _itext(model: Element) -> dict[str, dict[str, str]]:
    """itext id -> {language: text}.

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
                itext.setdefault(text.get("id"), {})[lang] = _words(value)
    return itext


def _words(element: Element) -> str:
    """The text of a label, each ``<output value="…"/>`` (an XLSForm ``${field}``) written as
    ``${…}`` with its XPath, for the pages to fill with the answer as Collect does."""
    parts = [element.text or ""]
    for node in element:
        if isinstance(node.tag, str) and local(node.tag) == "output":
            parts.append("${" + (node.get("value") or "").strip() + "}")
        elif isinstance(node.tag, str):
            parts.append(_words(node))
        parts.append(node.tail or "")
    return "".join(parts).strip()


def plain(text: str) -> str:
    """A label without its ``${…}`` outputs, where there are no answers to fill them with."""
    return _OUTPUT.sub("", text)


def _plain(texts: dict[str, str]) -> dict[str, str]:
    return {lang: plain(text) for lang, text in texts.items()}


def _labels(itext: dict[str, dict[str, str]], body: Element | None) -> dict[str, dict[str, str]]:
    """path -> {language: label} from the body's controls, translated through itext."""
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
            out[ref] = {"default": _words(label)}
    return out


def _lang_code(name: str) -> str:
    match = re.search(r"\(([^)]+)\)\s*$", name)
    return match.group(1) if match else name


def _bind_type(bind: Element | None) -> str:
    if bind is None or not bind.get("type"):
        return "string"
    return local(bind.get("type"))


_CONTROLS = frozenset({"input", "select1", "select", "upload", "range", "rank", "trigger"})
_SELECTS = frozenset({"select1", "select", "rank"})
_INSTANCE_NODESET = re.compile(
    r"""^\s*instance\(\s*['"]([^'"]+)['"]\s*\)((?:/[\w.:-]+)+)(.*)$""", re.S
)
_NAME = re.compile(r"^[\w.-]+$")


def _secondary_instances(model: Element) -> dict[str, Element | str]:
    """Secondary instance id -> its element, or the media file name it is read from."""
    out: dict[str, Element | str] = {}
    for instance in model:
        if local(instance.tag) != "instance" or not instance.get("id"):
            continue
        src = instance.get("src") or ""
        out[instance.get("id")] = src.rsplit("/", 1)[-1] if src else instance
    return out


def _controls(body: Element, instances: dict[str, Element | str]) -> dict[str, dict]:
    """path -> what the body says about the question: control, choices, range bounds."""
    out: dict[str, dict] = {}

    def visit(element: Element, context: str) -> None:
        for node in element:
            if not isinstance(node.tag, str):
                continue
            name = local(node.tag)
            ref = node.get("ref") or node.get("nodeset")
            path = _absolute(ref, context) if ref else context
            if name in _CONTROLS and ref:
                entry: dict = {"control": name}
                if name in _SELECTS:
                    choices = _choices(node, instances)
                    if choices is not None:
                        entry["choices"] = choices
                if name == "range":
                    entry["range"] = {
                        key: node.get(key) for key in ("start", "end", "step") if node.get(key)
                    }
                out.setdefault(path, entry)
            elif name in ("group", "repeat"):
                visit(node, path)

    visit(body, "")
    return out


def _absolute(ref: str, context: str) -> str:
    ref = ref.strip()
    if ref.startswith("/") or not context:
        return ref
    parts = context.split("/")
    for step in ref.split("/"):
        if step == "..":
            parts.pop()
        elif step not in (".", ""):
            parts.append(step)
    return "/".join(parts)


def _choices(control: Element, instances: dict[str, Element | str]) -> dict | None:
    items = [c for c in control if isinstance(c.tag, str) and local(c.tag) == "item"]
    if items:
        values = []
        for item in items:
            value = child(item, "value")
            values.append((value.text or "").strip() if value is not None else "")
        return {"values": values}
    itemset = child(control, "itemset")
    if itemset is None or not itemset.get("nodeset"):
        return None
    nodeset = itemset.get("nodeset").strip()
    value = child(itemset, "value")
    ref = (value.get("ref") if value is not None else None) or "value"
    out: dict = {"nodeset": nodeset, "value": ref}
    match = _INSTANCE_NODESET.match(nodeset)
    if match is None or match.group(1) not in instances:
        return out
    instance_id, steps, rest = match.groups()
    out = {"instance": instance_id, **out}
    source = instances[instance_id]
    if isinstance(source, str):
        out["media"] = source
        return out
    if not _NAME.match(ref):
        return out  # a computed value ref: checked against the instance at ingest, if at all
    found = [source]
    for step in steps.strip("/").split("/"):
        found = [c for e in found for c in e if isinstance(c.tag, str) and local(c.tag) == step]
    rows = [
        {local(c.tag): "".join(c.itertext()).strip() for c in e if isinstance(c.tag, str)}
        for e in found
    ]
    out["values"] = [row.get(ref, "") for row in rows]
    if rest.strip() or any(set(row) - {ref, "label", "itextId"} for row in rows):
        out["items"] = [{k: v for k, v in row.items() if k != "itextId"} for row in rows]
    return out


def read_choice_labels(xml: bytes) -> dict[str, dict[str, dict[str, str]]]:
    """path -> {choice value -> {language: label}} for each select whose labels the XForm holds:
    inline items, and itemsets over an instance inside the XForm (labels given directly or
    through itext). What exports show with ``?labels=vi``. Choices read from media files (a CSV
    list) have no labels here; their values are shown as they are."""
    root = parse(xml)
    head = child(root, "head")
    model = child(head, "model") if head is not None else None
    body = child(root, "body")
    if model is None or body is None:
        return {}
    itext = _itext(model)
    instances = _secondary_instances(model)
    out: dict[str, dict[str, dict[str, str]]] = {}

    def visit(element: Element, context: str) -> None:
        for node in element:
            if not isinstance(node.tag, str):
                continue
            name = local(node.tag)
            ref = node.get("ref") or node.get("nodeset")
            path = _absolute(ref, context) if ref else context
            if name in _SELECTS and ref:
                labels = _choice_labels(node, instances, itext)
                if labels:
                    out.setdefault(path, labels)
            elif name in ("group", "repeat"):
                visit(node, path)

    visit(body, "")
    return out


def _choice_labels(control: Element, instances, itext) -> dict[str, dict[str, str]]:
    labels: dict[str, dict[str, str]] = {}
    for item in control:
        if isinstance(item.tag, str) and local(item.tag) == "item":
            value, label = child(item, "value"), child(item, "label")
            if value is not None and label is not None:
                labels[(value.text or "").strip()] = _label_text(label, itext)
    itemset = child(control, "itemset")
    if itemset is None:
        return labels
    match = _INSTANCE_NODESET.match(itemset.get("nodeset") or "")
    value_el, label_el = child(itemset, "value"), child(itemset, "label")
    if match is None or label_el is None or not isinstance(instances.get(match.group(1)), Element):
        return labels
    value_ref = (value_el.get("ref") if value_el is not None else None) or "value"
    label_ref = (label_el.get("ref") or "").strip()
    by_itext = label_ref.replace(" ", "") == "jr:itext(itextId)"
    if not (_NAME.match(value_ref) and (by_itext or _NAME.match(label_ref))):
        return labels
    found = [instances[match.group(1)]]
    for step in match.group(2).strip("/").split("/"):
        found = [c for e in found for c in e if isinstance(c.tag, str) and local(c.tag) == step]
    for item in found:
        cells = {
            local(c.tag): "".join(c.itertext()).strip() for c in item if isinstance(c.tag, str)
        }
        if by_itext:
            labels[cells.get(value_ref, "")] = _plain(itext.get(cells.get("itextId", ""), {}))
        elif label_ref in cells:
            labels[cells.get(value_ref, "")] = {"default": cells[label_ref]}
    return labels


def _label_text(label: Element, itext) -> dict[str, str]:
    match = _ITEXT_REF.match(label.get("ref") or "")
    if match:
        return _plain(itext.get(match.group(1), {}))
    return {"default": "".join(label.itertext()).strip()}
