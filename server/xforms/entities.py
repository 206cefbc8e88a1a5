"""What an XForm says about entities, and what a submission of it sends (ODK XForms Entities spec,
2022.1 to 2025.1: https://getodk.github.io/xforms-spec/entities).

A form declares an entity with ``<meta><entity dataset="households" create="1" update="1"
id="" baseVersion="" trunkVersion="" branchId=""><label/></entity></meta>`` in its primary
instance (pyxform writes it from the XLSForm ``entities`` sheet) and names the properties with
``entities:saveto`` on the binds of the questions that fill them. The ``meta`` sits in the root or,
since 2025.1, in a repeat: each repeat instance is then an entity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from .safexml import attr, local, parse_stored

SAVETO = "{http://www.opendatakit.org/xforms/entities}saveto"


@dataclass(frozen=True, slots=True)
class Declaration:
    list_name: str
    container: str  # "/data", or the repeat whose instances are the entities
    may_create: bool
    may_update: bool
    properties: dict[str, str] = field(default_factory=dict)  # property -> path under container


@dataclass(slots=True)
class Sent:
    """One entity as a submission sends it."""

    list_name: str
    uuid: str
    create: bool
    update: bool
    label: str | None
    data: dict[str, str]
    base_version: str | None
    trunk_version: str | None
    branch_id: str | None


def declarations(xml: bytes) -> list[Declaration]:
    """The entity lists an XForm creates or updates, with their properties."""
    root = parse_stored(xml)
    model = next((e for e in root.iter() if local(e.tag) == "model"), None)
    if model is None:
        return []
    instance = next((e for e in model if local(e.tag) == "instance"), None)
    primary = next((e for e in instance if isinstance(e.tag, str)), None) if instance else None
    if primary is None:
        return []
    found: dict[str, Element] = {}
    _find_entities(primary, "/" + local(primary.tag), found)
    saveto = {
        b.get("nodeset"): b.get(SAVETO)
        for b in model
        if local(b.tag) == "bind" and b.get(SAVETO) and b.get("nodeset")
    }
    containers = sorted(found, key=len, reverse=True)
    props: dict[str, dict[str, str]] = {c: {} for c in containers}
    for path, name in saveto.items():
        owner = next((c for c in containers if path.startswith(c + "/")), None)
        if owner is not None:
            props[owner][name] = path[len(owner) + 1 :]
    return [
        Declaration(
            list_name=element.get("dataset", ""),
            container=container,
            may_create=element.get("create") is not None,
            may_update=element.get("update") is not None,
            properties=props[container],
        )
        for container, element in found.items()
    ]


def _find_entities(element: Element, path: str, out: dict[str, Element]) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        if name == "meta":
            entity = next((e for e in child if local(e.tag) == "entity"), None)
            if entity is not None and entity.get("dataset") is not None:
                out.setdefault(path, entity)
        else:  # a repeat's template and its first instance give the same path
            _find_entities(child, f"{path}/{name}", out)


def sent(root: Element, declared: list[Declaration]) -> list[Sent]:
    """The entities a submission (its parsed root) creates or updates, in document order."""
    out: list[Sent] = []
    for d in declared:
        for holder in _instances(root, d.container):
            meta = next((e for e in holder if local(e.tag) == "meta"), None)
            entity = (
                next((e for e in meta if local(e.tag) == "entity"), None)
                if meta is not None
                else None
            )
            if entity is None:
                continue
            label_el = next((e for e in entity if local(e.tag) == "label"), None)
            data = {}
            for prop, rel in d.properties.items():
                node = _find(holder, rel)
                if node is not None:
                    data[prop] = (node.text or "").strip()
            out.append(
                Sent(
                    list_name=attr(entity, "dataset") or d.list_name,
                    uuid=(attr(entity, "id") or "").strip(),
                    create=_true(attr(entity, "create")),
                    update=_true(attr(entity, "update")),
                    label=(label_el.text or "").strip() if label_el is not None else None,
                    data=data,
                    base_version=_blank(attr(entity, "baseVersion")),
                    trunk_version=_blank(attr(entity, "trunkVersion")),
                    branch_id=_blank(attr(entity, "branchId")),
                )
            )
    return out


def _instances(root: Element, container: str) -> list[Element]:
    steps = container.strip("/").split("/")[1:]
    level = [root]
    for step in steps:
        level = [c for e in level for c in e if isinstance(c.tag, str) and local(c.tag) == step]
    return level


def _find(holder: Element, rel: str) -> Element | None:
    node = holder
    for step in rel.split("/"):
        node = next((c for c in node if isinstance(c.tag, str) and local(c.tag) == step), None)
        if node is None:
            return None
    return node


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def _blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None
