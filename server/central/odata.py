"""A form's submissions as ODK Central's OData v4 feed: the service document, the ``$metadata``
(EDMX) document, and the rows of the ``Submissions`` table and of each repeat's table.

Pure: no Flask, no database. It follows central-backend's ``lib/formats/odata.js`` and
``lib/data/odata.js`` so that clients built for Central (pyodk, ruODK, Excel, Power BI) read the
same shapes: field names sanitized the same way, groups as nested objects, repeats as navigation
links (or inline arrays with ``$expand=*``), repeat rows identified by the same SHA-1 of their
position, geopoints as GeoJSON (or WKT with ``$wkt=true``), empty answers as null.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from ..xforms.safexml import local

FQDN_ROOT = "org.opendatakit.user"
# Central's typeMap; any other type (text, selects, files, time) is a string.
EDM_TYPES = {
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
}
SYSTEM_FIELDS = (
    "submissionDate",
    "updatedAt",
    "deletedAt",
    "submitterId",
    "submitterName",
    "attachmentsPresent",
    "attachmentsExpected",
    "status",
    "reviewState",
    "deviceId",
    "edits",
    "formVersion",
)


def sanitize(name: str) -> str:
    """An OData identifier from an XML name, exactly as Central's ``sanitizeOdataIdentifier``."""
    name = re.sub(r"^([^a-z_])", r"_\1", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9_]+", "_", name, flags=re.IGNORECASE)


@dataclass(slots=True)
class Node:
    """One field of the form: a question, a group (a nested object) or a repeat (a table)."""

    name: str  # as in the XML
    kind: str  # field, group, repeat
    type: str
    parts: tuple[str, ...]  # sanitized path below the instance root
    children: list[Node] = field(default_factory=list)

    @property
    def out(self) -> str:
        return sanitize(self.name)


@dataclass(slots=True)
class Schema:
    """The field tree of a form version, with its tables by name."""

    form_id: str
    root: Node
    tables: dict[str, Node]  # "Submissions", "Submissions.member", ...

    @classmethod
    def of(cls, form_id: str, fields: list[dict]) -> Schema:
        root = Node("", "group", "group", ())
        by_path: dict[str, Node] = {}
        tables = {"Submissions": root}
        for f in fields:  # depth-first document order: a parent comes before its children
            parent_path, _, name = f["path"].rpartition("/")
            parent = by_path.get(parent_path, root)
            node = Node(name, f["kind"], f["type"], (*parent.parts, sanitize(name)))
            parent.children.append(node)
            by_path[f["path"]] = node
            if node.kind == "repeat":
                tables[".".join(("Submissions", *node.parts))] = node
        return cls(form_id, root, tables)

    def repeat_parent_id(self, table: str) -> str:
        """The property naming a repeat row's parent row: ``__Submissions-id`` for a repeat at
        the top, ``__Submissions-outer-id`` for one inside the repeat ``outer``."""
        node = self.tables[table]
        enclosing = [
            n
            for name, n in self.tables.items()
            if name != "Submissions" and n is not node and _inside(node.parts, n.parts)
        ]
        parts = max((n.parts for n in enclosing), key=len, default=())
        return f"__{'-'.join(('Submissions', *parts))}-id"


def _inside(parts: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    return len(parts) > len(outer) and parts[: len(outer)] == outer


def service_document(schema: Schema, service_url: str) -> dict:
    return {
        "@odata.context": f"{service_url}/$metadata",
        "value": [{"name": t, "kind": "EntitySet", "url": t} for t in schema.tables],
    }


def metadata_document(schema: Schema) -> str:
    """The EDMX (CSDL XML) document describing every table of the form, as Central writes it."""
    base = f"{FQDN_ROOT}.{sanitize(schema.form_id)}"
    entity_types: list[tuple[str, bool, list[str]]] = []  # (name, primary, property lines)
    complex_types: list[tuple[str, list[str]]] = []

    def walk(node: Node, lines: list[str]) -> None:
        for child in node.children:
            name = quoteattr(child.out)
            type_name = ".".join(child.parts)
            if child.kind == "group":
                inner: list[str] = []
                complex_types.append((type_name, inner))
                lines.append(f'<Property Name={name} Type="{base}.{type_name}"/>')
                walk(child, inner)
            elif child.kind == "repeat":
                table = f"Submissions.{type_name}"
                own = [f'<Property Name="{schema.repeat_parent_id(table)}" Type="Edm.String"/>']
                entity_types.append((table, False, own))
                lines.append(
                    f"<NavigationProperty Name={name} "
                    f'Type="Collection({base}.Submissions.{type_name})"/>'
                )
                walk(child, own)
            else:
                edm = EDM_TYPES.get(child.type, "Edm.String")
                lines.append(f'<Property Name={name} Type="{edm}"/>')

    top: list[str] = []
    entity_types.insert(0, ("Submissions", True, top))
    walk(schema.root, top)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">',
        "<edmx:DataServices>",
        _SUBMISSION_SCHEMA,
        f'<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="{base}">',
    ]
    for name, primary, lines in entity_types:
        out.append(f'<EntityType Name="{name}">')
        out.append('<Key><PropertyRef Name="__id"/></Key><Property Name="__id" Type="Edm.String"/>')
        if primary:
            out.append('<Property Name="__system" Type="org.opendatakit.submission.metadata"/>')
        out.extend(lines)
        out.append("</EntityType>")
    for name, lines in complex_types:
        out.append(f'<ComplexType Name="{name}">')
        out.extend(lines)
        out.append("</ComplexType>")
    out.append(f"<EntityContainer Name={quoteattr(schema.form_id)}>")
    for name, primary, _lines in entity_types:
        out.append(f'<EntitySet Name="{name}" EntityType="{base}.{name}">')
        if primary:
            out.append(_capabilities(top))
        out.append("</EntitySet>")
    out += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(out)


# Central's, with the enum members' values written out: CSDL lets them default to 0, 1, ...,
# but some clients (python-odata) read only explicit values.
_SUBMISSION_SCHEMA = """<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" \
Namespace="org.opendatakit.submission">
<ComplexType Name="metadata">
<Property Name="submissionDate" Type="Edm.DateTimeOffset"/>
<Property Name="updatedAt" Type="Edm.DateTimeOffset"/>
<Property Name="deletedAt" Type="Edm.DateTimeOffset"/>
<Property Name="submitterId" Type="Edm.String"/>
<Property Name="submitterName" Type="Edm.String"/>
<Property Name="attachmentsPresent" Type="Edm.Int64"/>
<Property Name="attachmentsExpected" Type="Edm.Int64"/>
<Property Name="status" Type="org.opendatakit.submission.Status"/>
<Property Name="reviewState" Type="org.opendatakit.submission.ReviewState"/>
<Property Name="deviceId" Type="Edm.String"/>
<Property Name="edits" Type="Edm.Int64"/>
<Property Name="formVersion" Type="Edm.String"/>
</ComplexType>
<EnumType Name="Status"><Member Name="notDecrypted" Value="0"/>\
<Member Name="missingEncryptedFormData" Value="1"/></EnumType>
<EnumType Name="ReviewState"><Member Name="hasIssues" Value="0"/><Member Name="edited" Value="1"/>\
<Member Name="rejected" Value="2"/><Member Name="approved" Value="3"/></EnumType>
</Schema>"""


def _capabilities(lines: list[str]) -> str:
    """What a client may ask of the Submissions set (Central's annotations): count, filter on
    __system fields only, no sorting, no $expand other than *."""
    names = re.findall(r'Name="([^"]+)"', "".join(lines))
    paths = "".join(f"<PropertyPath>{escape(n)}</PropertyPath>" for n in names)
    cap = "Org.OData.Capabilities.V1"
    return (
        f'<Annotation Term="{cap}.ConformanceLevel" EnumMember="{cap}.ConformanceLevelType/Minimal"/>'
        f'<Annotation Term="{cap}.BatchSupported" Bool="false"/>'
        f'<Annotation Term="{cap}.CountRestrictions"><Record>'
        '<PropertyValue Property="Countable" Bool="true"/></Record></Annotation>'
        f'<Annotation Term="{cap}.FilterRestrictions"><Record>'
        '<PropertyValue Property="Filterable" Bool="true"/>'
        '<PropertyValue Property="RequiresFilter" Bool="false"/>'
        f'<PropertyValue Property="NonFilterableProperties"><Collection>{paths}</Collection>'
        "</PropertyValue></Record></Annotation>"
        f'<Annotation Term="{cap}.SortRestrictions"><Record>'
        '<PropertyValue Property="Sortable" Bool="false"/></Record></Annotation>'
        f'<Annotation Term="{cap}.ExpandRestrictions"><Record>'
        '<PropertyValue Property="Expandable" Bool="false"/></Record></Annotation>'
    )


@dataclass(frozen=True, slots=True)
class Options:
    wkt: bool = False
    expand: bool = False
    select: tuple[str, ...] | None = None  # None: every property


def rows_of(schema: Schema, table: str, instance_id: str, root: Element, system: dict | None):
    """The rows one submission contributes to ``table``, in document order, each with its
    repeats kept as lists (``render`` turns them into links or inline arrays)."""
    target = schema.tables[table]
    walk = _Walk(instance_id, target, [], None)
    if target is not schema.root:
        walk.parent_key = schema.repeat_parent_id(table)
    top: dict = {"__id": instance_id}
    if system is not None:
        top["__system"] = system
    top.update(_frame(schema.root))
    if target is schema.root:
        walk.found.append(top)
    walk.fill(schema.root, root, top, [], {}, instance_id, navigation_root(instance_id))
    return walk.found


def _frame(node: Node) -> dict:
    """Every question of a level as null, every group as its own frame (Central's data frame)."""
    out: dict = {}
    for child in node.children:
        if child.kind == "field":
            out[child.out] = None
        elif child.kind == "group":
            out[child.out] = _frame(child)
    return out


@dataclass(slots=True)
class _Walk:
    instance_id: str
    target: Node
    found: list[dict]
    parent_key: str | None

    def fill(self, node, element, bag, stack, counters, parent_id, link) -> None:
        """Write the answers in ``element`` (the XML of ``node``) into ``bag``. ``stack`` holds
        the groups and repeat iterations entered ("name#", "name#3"): the parts of Central's row
        id; ``counters`` counts the iterations of each repeat within the current iteration."""
        children = {c.name: c for c in node.children}
        for child_el in element:
            if not isinstance(child_el.tag, str):
                continue
            child = children.get(local(child_el.tag))
            if child is None:
                continue
            if child.kind == "field":
                bag[child.out] = _value(child, child_el.text)
            elif child.kind == "group":
                inner = bag[child.out]
                here = [*stack, f"{child.out}#"]
                self.fill(child, child_el, inner, here, counters, parent_id, f"{link}/{child.out}")
            else:  # a repeat: each iteration is a row of its own table
                index = counters.get(child.parts, 0)
                counters[child.parts] = index + 1
                here = [*stack, f"{child.out}#{index}"]
                row = {"__id": _hash(self.instance_id, here), **_frame(child)}
                bag[f"{child.out}@odata.navigationLink"] = f"{link}/{child.out}"
                bag.setdefault(child.out, []).append(row)
                if child is self.target:
                    row[self.parent_key] = parent_id
                    self.found.append(row)
                row_link = f"{link}/{child.out}('{row['__id']}')"
                self.fill(child, child_el, row, here, {}, row["__id"], row_link)


def _hash(instance_id: str, stack: list[str]) -> str:
    parts = [f"Submissions#{instance_id}", *stack]
    return hashlib.sha1("%%".join(parts).encode(), usedforsecurity=False).hexdigest()


def navigation_root(instance_id: str) -> str:
    return f"Submissions('{quote(instance_id, safe='')}')"


def _value(node: Node, text: str | None):
    text = (text or "").strip()
    if not text:
        return None
    kind = node.type
    try:
        if kind == "int":
            return int(text)
        if kind == "decimal":
            return float(text)
    except ValueError:
        return None
    if kind == "boolean":
        return text in ("true", "1")
    if kind == "dateTime" and re.search(r"[+-]\d\d$", text):
        return f"{text}:00"  # JavaRosa writes +07; OData clients need +07:00
    if kind in ("geopoint", "geotrace", "geoshape"):
        return {"geo": kind, "text": text}  # turned into GeoJSON or WKT by ``render``
    return text


def _points(text: str) -> list[list[float]]:
    out = []
    for part in re.split(r";\s*", text):
        numbers = []
        for raw in part.split():
            try:
                numbers.append(float(raw))
            except ValueError:
                break
        if len(numbers) >= 2:
            out.append(numbers[:4])
    return out


def _geo(value: dict, wkt: bool):
    points = _points(value["text"])
    if not points:
        return None
    coords = [[p[1], p[0], *p[2:3]] for p in points]  # lon, lat[, altitude]
    accuracies = [p[3] if len(p) > 3 else None for p in points]
    if value["geo"] == "geopoint":
        if wkt:
            return f"POINT ({' '.join(_num(c) for c in coords[0])})"
        out = {"type": "Point", "coordinates": coords[0]}
        if accuracies[0] is not None:
            out["properties"] = {"accuracy": accuracies[0]}
        return out
    line = ",".join(" ".join(_num(c) for c in point) for point in coords)
    if value["geo"] == "geotrace":
        if wkt:
            return f"LINESTRING ({line})"
        out = {"type": "LineString", "coordinates": coords}
    else:
        if wkt:
            return f"POLYGON (({line}))"
        out = {"type": "Polygon", "coordinates": [coords]}
    if any(a is not None for a in accuracies):
        out["properties"] = {"accuracies": accuracies}
    return out


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def render(row: dict, options: Options) -> dict:
    """A row as sent: geo values in the asked format, repeats inline only with ``$expand=*``,
    and only the ``$select``ed properties."""
    out = _render(row, options)
    if options.select is not None:
        out = select(out, options.select)
    return out


def _render(bag: dict, options: Options) -> dict:
    out: dict = {}
    for key, value in bag.items():
        if isinstance(value, list):
            if options.expand:
                out[key] = [_render(item, options) for item in value]
        elif isinstance(value, dict) and "geo" in value and "text" in value:
            out[key] = _geo(value, options.wkt)
        elif isinstance(value, dict) and key != "__system":
            out[key] = _render(value, options)
        else:
            out[key] = value
    return out


def selectable(schema: Schema, table: str) -> set[str]:
    """The paths ``$select`` may name for a table: its properties, groups, group members."""
    out = {"__id", "__system", *(f"__system/{name}" for name in SYSTEM_FIELDS)}
    if table != "Submissions":
        out = {"__id", schema.repeat_parent_id(table)}

    def walk(node: Node, prefix: str) -> None:
        for child in node.children:
            path = f"{prefix}{child.out}"
            out.add(path)
            if child.kind == "group":
                walk(child, f"{path}/")

    walk(schema.tables[table], "")
    return out


def select(row: dict, paths: tuple[str, ...]) -> dict:
    """Keep only the named properties; ``meta/instanceID`` keeps that member of the group."""
    out: dict = {}
    for path in paths:
        head, _, rest = path.partition("/")
        if head not in row:
            continue
        if rest and isinstance(row[head], dict):
            picked = select(row[head], (rest,))
            out.setdefault(head, {}).update(picked)
        else:
            out[head] = row[head]
    return out
