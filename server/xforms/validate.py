"""Check a submission against its form, as ODK Collect would have on the phone.

Phones run old form versions, forms get edited, and other clients send data, so ingest checks
every answer again against the field schema read at publish (``khudan.xforms.schema``):

- ``type``: the value has its field's type (int, decimal, date, dateTime, time, geopoint,
  geotrace, geoshape, boolean, binary file name; one choice for select_one);
- ``choice``: every selected value is one of the question's choices: inline items, a secondary
  instance of the XForm, or a CSV/XML media file passed in ``media``. A ``choice_filter``
  (cascade) is evaluated for the chosen item only; membership in the whole list is the baseline;
- ``required``: an unanswered required question, only when it and all its groups and repeats are
  relevant (relevance is evaluated, and inherited, node by node);
- ``constraint``: the question's constraint (only for answered questions, as JavaRosa does) and
  a range question's bounds; the message is the form's own ``constraint_msg`` when it has one.

Relevance, required and constraints are evaluated by ``khudan.xforms.xpath`` against the
submission itself, each relative to its own node, so ``..`` in a repeat means that repeat
instance. Questions the phone left out because they were not relevant are put back empty first
(JavaRosa's model has every node while a form is filled). An expression the server cannot
evaluate gives one ``not-checked`` issue per field and expression: listed for supervisors, never
a crash and never a fault of the submission (``Issue.checked`` is False).

Calculated and preloaded fields are checked for type only: nobody answers them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import math
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from xml.etree.ElementTree import Element, ElementTree, SubElement

from elementpath import get_node_tree
from elementpath.xpath_nodes import ElementNode

from .. import errors
from ..domain.checks import Issue
from .safexml import local, parse
from .xpath import Evaluator, Node, Unsupported, boolean, string

__all__ = ["Issue", "validate"]

log = logging.getLogger(__name__)

MAX_VALUE = 1000  # characters of an answer kept in an issue

_INT = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)?"
_TIME = re.compile(rf"^(\d{{2}}):(\d{{2}})(?::(\d{{2}})(?:\.\d+)?)?{_ZONE}$")
_DATETIME = re.compile(
    rf"^(\d{{4}}-\d{{2}}-\d{{2}})T(\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?{_ZONE})$"
)
_XML_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")
_NODESET = re.compile(
    r"""^\s*instance\(\s*['"]([^'"]+)['"]\s*\)((?:/[\w.:-]+)+)\s*(.*?)\s*$""", re.S
)

# type -> (Vietnamese, English) names for messages
_TYPE_NAMES = {
    "int": ("số nguyên", "whole number"),
    "decimal": ("số", "number"),
    "date": ("ngày (YYYY-MM-DD)", "date (YYYY-MM-DD)"),
    "dateTime": ("ngày giờ", "date and time"),
    "time": ("giờ", "time"),
    "geopoint": ("tọa độ (vĩ độ kinh độ)", "location (latitude longitude)"),
    "geotrace": ("đường (từ 2 tọa độ)", "line (2 or more locations)"),
    "geoshape": ("vùng (từ 3 tọa độ)", "shape (3 or more locations)"),
    "boolean": ("đúng/sai", "true/false"),
    "binary": ("tên tệp", "file name"),
    "select_one": ("một lựa chọn", "single choice"),
    "rank": ("thứ tự các lựa chọn", "ranking of the choices"),
}
_WHAT = {
    "relevant": ("điều kiện hiển thị", "relevance"),
    "required": ("điều kiện bắt buộc", "required condition"),
    "constraint": ("ràng buộc", "constraint"),
    "choices": ("danh sách lựa chọn", "choices"),
}


def validate(
    root: Element,
    fields: Sequence[Mapping],
    *,
    media: Mapping[str, bytes] | None = None,
    today: dt.date,
) -> list[Issue]:
    """Every issue of a submission (its parsed root element) against the form's field schema.

    ``media`` maps form media file names to their bytes (e.g. the ``areas.csv`` khudan writes);
    choices read from a file not given are "not checked". ``today`` is what ``today()`` returns.
    """
    if not fields:
        return []
    validation = _Validation(root, fields, media or {}, today)
    try:
        return validation.run()
    except Exception as exc:  # a fault here must never cost a collector their submission
        log.exception("validation of a submission stopped")
        top = fields[0]["path"].split("/")[1]
        return [
            *validation.issues,
            Issue(
                f"/{top}",
                "not-checked",
                None,
                f"Máy chủ không kiểm tra hết được phiếu này ({type(exc).__name__}).",
                f"The server could not finish checking this submission ({type(exc).__name__}).",
            ),
        ]


# -- the submission as JavaRosa's model: every node of the form present ------------------------


@dataclass(slots=True)
class _Node:
    field: Mapping
    item: Node  # what the form's expressions see
    parent: _Node | None
    base: str  # the parent's path, or /data for the top level (its own path is built if needed)
    index: int = 0  # 1, 2...: the instance of a repeat
    relevant: bool | None = None  # None: not known (an expression the server cannot evaluate)

    @property
    def path(self) -> str:
        """With repeat indexes: /data/member[2]/m_age (only an issue needs it)."""
        base = self.base if self.parent is None else self.parent.path
        name = self.field["name"]
        return f"{base}/{name}[{self.index}]" if self.index else f"{base}/{name}"


@dataclass(slots=True)
class _Model:
    root: Node  # the document
    nodes: list[_Node] = field(default_factory=list)


# The fields under each group path, by schema (the form cache keeps one list of fields a form
# version, so this is worked out once a form version, not for every submission).
_Plan = dict[str, list[tuple[str, str, Mapping]]]
_PLANS: dict[int, tuple[Sequence[Mapping], _Plan]] = {}


def _plan(fields: Sequence[Mapping]) -> _Plan:
    known = _PLANS.get(id(fields))
    if known is not None and known[0] is fields:
        return known[1]
    plan: _Plan = {}
    for f in fields:
        plan.setdefault(f["path"].rsplit("/", 1)[0], []).append((f["name"], f["kind"], f))
    if len(_PLANS) >= 64:
        _PLANS.clear()
    _PLANS[id(fields)] = (fields, plan)  # the list is kept, so its id is not reused
    return plan


def _model(submission: Element, fields: Sequence[Mapping]) -> _Model:
    plan = _plan(fields)
    top = fields[0]["path"].split("/")[1]
    base = f"/{top}"
    model = _Model(Node(None, None))
    nodes = model.nodes

    def walk(source: Element | None, path: str, out: Node, parent: _Node | None) -> None:
        by_name: dict[str, list[Element]] = {}
        for c in source if source is not None else ():
            if isinstance(c.tag, str) and not (c.attrib and _is_template(c)):
                by_name.setdefault(local(c.tag), []).append(c)
        for name, kind, f in plan.get(path, ()):
            found = by_name.get(name, ())
            if kind == "repeat":
                for index, instance in enumerate(found, start=1):
                    item = Node(name, out)
                    node = _Node(f, item, parent, base, index)
                    nodes.append(node)
                    walk(instance, f["path"], item, node)
                continue
            source_node = found[0] if found else None
            item = Node(name, out)
            node = _Node(f, item, parent, base)
            nodes.append(node)
            if kind == "group":
                walk(source_node, f["path"], item, node)
            elif source_node is None:
                item.text = ""
            elif len(source_node):  # an answer with markup in it: its text, as XPath reads it
                item.text = "".join(source_node.itertext())
            else:
                item.text = source_node.text or ""

    walk(submission, base, Node(top, model.root), None)
    return model


def _is_template(element: Element) -> bool:
    return any(local(k) == "template" for k in element.attrib)


# -- the checks -----------------------------------------------------------------------------------


class _Validation:
    def __init__(self, root: Element, fields: Sequence[Mapping], media, today: dt.date):
        self.fields = fields
        self.media = media
        self.model = _model(root, fields)
        self.evaluator = Evaluator(self.model.root, today, self._instance_root)
        self.issues: list[Issue] = []
        self._noted: set[tuple[str, str, str]] = set()
        has_controls = any("control" in f for f in fields)
        # A schema read before controls were recorded: anything not computed is a question.
        self.is_question: Callable[[Mapping], bool] = (
            (lambda f: "control" in f)
            if has_controls
            else (lambda f: "calculate" not in f and "preload" not in f)
        )

    def run(self) -> list[Issue]:
        for node in self.model.nodes:
            node.relevant = self._relevance(node)
            if node.field["kind"] == "field" and node.relevant is not False:
                self._check(node)
        return self.issues

    # relevance ---------------------------------------------------------------------------------

    def _relevance(self, node: _Node) -> bool | None:
        inherited = node.parent.relevant if node.parent is not None else True
        expression = node.field.get("relevant")
        if inherited is False or not expression:
            return inherited
        try:
            own = boolean(self.evaluator.evaluate(expression, node.item))
        except Unsupported as exc:
            self._not_checked(node, "relevant", expression, str(exc))
            return None
        if not own:
            return False
        return inherited

    # one answer --------------------------------------------------------------------------------

    def _check(self, node: _Node) -> None:
        f = node.field
        raw = node.item.text
        value = raw.strip()
        question = self.is_question(f) and f.get("readonly") != "true()"
        if not value:
            if question and node.relevant is True and self._required(node):
                vi, en = _message(f.get("required_msg"))
                self._issue(
                    node,
                    "required",
                    None,
                    vi or f"{_label(f, 'vi')}: câu hỏi bắt buộc chưa được trả lời.",
                    en or f"{_label(f, 'en')}: a required question has no answer.",
                )
            return
        kind = _kind(f)
        if not _TYPE_CHECKS.get(kind, _anything)(value):
            vi, en = _TYPE_NAMES.get(kind, (kind, kind))
            self._issue(
                node,
                "type",
                raw,
                f"{_label(f, 'vi')}: '{_short(raw)}' không phải {vi}.",
                f"{_label(f, 'en')}: '{_short(raw)}' is not a {en}.",
            )
            return
        if "choices" in f:
            self._choices(node, value)
        if question and f.get("constraint"):
            self._constraint(node, raw)
        if f.get("range"):
            self._range(node, value)

    def _required(self, node: _Node) -> bool:
        expression = (node.field.get("required") or "").strip()
        if expression in ("", "false()"):
            return False
        if expression == "true()":
            return True
        try:
            return boolean(self.evaluator.evaluate(expression, node.item))
        except Unsupported as exc:
            self._not_checked(node, "required", expression, str(exc))
            return False

    def _constraint(self, node: _Node, raw: str) -> None:
        f = node.field
        expression = f["constraint"]
        try:
            ok = boolean(self.evaluator.evaluate(expression, node.item))
        except Unsupported as exc:
            self._not_checked(node, "constraint", expression, str(exc))
            return
        if ok:
            return
        vi, en = _message(f.get("constraint_msg"))
        self._issue(
            node,
            "constraint",
            raw,
            vi or f"{_label(f, 'vi')}: '{_short(raw)}' không thỏa ràng buộc {expression}.",
            en or f"{_label(f, 'en')}: '{_short(raw)}' breaks the constraint {expression}.",
        )

    def _range(self, node: _Node, value: str) -> None:
        bounds = node.field["range"]
        try:
            number = float(value)
            start, end = (float(bounds[k]) if k in bounds else None for k in ("start", "end"))
        except ValueError:
            return
        low, high = (None, None) if start is None or end is None else sorted((start, end))
        if low is None or low <= number <= high:
            return
        f = node.field
        self._issue(
            node,
            "constraint",
            value,
            f"{_label(f, 'vi')}: {value} nằm ngoài khoảng {bounds['start']} đến {bounds['end']}.",
            f"{_label(f, 'en')}: {value} is outside {bounds['start']} to {bounds['end']}.",
        )

    # choices -----------------------------------------------------------------------------------

    def _choices(self, node: _Node, value: str) -> None:
        f = node.field
        choices = f["choices"]
        offered = self._offered(node, choices)
        if offered is None:
            return
        chosen = value.split() if _kind(f) in ("select_multiple", "rank") else [value]
        for token in chosen:
            if token not in offered:
                self._issue(
                    node,
                    "choice",
                    token,
                    f"{_label(f, 'vi')}: '{_short(token)}' không có trong danh sách lựa chọn.",
                    f"{_label(f, 'en')}: '{_short(token)}' is not one of the choices.",
                )
            elif not self._filter_allows(node, choices, token):
                self._issue(
                    node,
                    "choice",
                    token,
                    f"{_label(f, 'vi')}: '{_short(token)}' không thuộc các lựa chọn ứng với "
                    "những câu trả lời trước (bộ lọc lựa chọn).",
                    f"{_label(f, 'en')}: '{_short(token)}' is not among the choices offered "
                    "for the earlier answers (choice filter).",
                )

    def _offered(self, node: _Node, choices: Mapping) -> Collection[str] | None:
        """Every value of the question's list, ignoring any filter; None when not known."""
        if "values" in choices:
            return set(choices["values"])
        if "media" in choices:
            rows = self._media_rows(node, choices["media"])
            return None if rows is None else _index(rows, choices["value"]).keys()
        try:  # an itemset over the submission itself (e.g. the members of a repeat)
            items = self.evaluator.evaluate(choices["nodeset"], node.item)
            if not isinstance(items, list):
                raise Unsupported("the choices are not a list of nodes")
            return {
                string(self.evaluator.evaluate_in(choices["value"], item, item)) for item in items
            }
        except Unsupported as exc:
            self._not_checked(node, "choices", choices["nodeset"], str(exc))
            return None

    def _filter_allows(self, node: _Node, choices: Mapping, token: str) -> bool:
        """Whether the chosen item passes the cascade's filter, evaluated for that item only."""
        predicate = _filter(choices.get("nodeset", ""))
        if predicate is None or "instance" not in choices:
            return True
        rows = self._rows(choices["instance"])
        if rows is None:
            return True
        candidates = _index(rows, choices["value"]).get(token)
        if not candidates:
            return True
        items = _items(rows, choices["value"], token, candidates)
        try:
            return any(
                boolean(self.evaluator.evaluate_in(predicate, item, node.item)) for item in items
            )
        except Unsupported as exc:
            self._not_checked(node, "choices", choices["nodeset"], str(exc))
            return True

    # secondary instances -----------------------------------------------------------------------

    def _rows(self, instance_id: str) -> list[dict[str, str]] | None:
        """The items of a secondary instance as rows of columns, from the schema or the media."""
        for f in self.fields:
            choices = f.get("choices") or {}
            if choices.get("instance") != instance_id:
                continue
            if "media" in choices:
                return _read_media(choices["media"], self.media.get(choices["media"]))
            if "items" in choices:
                return choices["items"]
            if "values" in choices:
                return [{choices["value"]: v} for v in choices["values"]]
        return None

    def _instance_root(self, instance_id: str) -> Element | None:
        rows = self._rows(instance_id)
        return None if rows is None else _instance_element(rows)

    def _media_rows(self, node: _Node, name: str) -> list[dict[str, str]] | None:
        rows = _read_media(name, self.media.get(name))
        if rows is None:
            reason = (
                "the file was not given to the check"
                if name not in self.media
                else "the file could not be read"
            )
            self._not_checked(node, "choices", f"media {name}", reason)
        return rows

    # issues ------------------------------------------------------------------------------------

    def _issue(self, node: _Node, rule: str, value: str | None, vi: str, en: str) -> None:
        if value is not None and len(value) > MAX_VALUE:
            value = value[:MAX_VALUE]
        self.issues.append(Issue(node.path, rule, value, vi, en))

    def _not_checked(self, node: _Node, what: str, expression: str, reason: str) -> None:
        key = (node.field["path"], what, expression)
        if key in self._noted:
            return
        self._noted.add(key)
        vi, en = _WHAT[what]
        f = node.field
        self.issues.append(
            Issue(
                node.path,
                "not-checked",
                expression,
                f"{_label(f, 'vi')}: máy chủ chưa kiểm tra được {vi} '{expression}' ({reason}).",
                f"{_label(f, 'en')}: the server could not check the {en} '{expression}' ({reason}).",
            )
        )


# -- helpers ---------------------------------------------------------------------------------------


def _kind(f: Mapping) -> str:
    control = f.get("control")
    if control == "select1":
        return "select_one"
    if control == "select":
        return "select_multiple"
    if control == "rank" or f.get("type") == "rank":
        return "rank"
    return f.get("type") or "string"


def _label(f: Mapping, lang: str) -> str:
    labels = f.get("label") or {}
    return labels.get(lang) or labels.get("default") or next(iter(labels.values()), f["name"])


def _message(texts: Mapping[str, str] | None) -> tuple[str, str]:
    if not texts:
        return "", ""
    first = next(iter(texts.values()), "")
    return (
        texts.get("vi") or texts.get("default") or first,
        texts.get("en") or texts.get("default") or first,
    )


def _short(value: str, size: int = 80) -> str:
    return value if len(value) <= size else value[: size - 1] + "…"


@lru_cache(maxsize=1024)
def _filter(nodeset: str) -> str | None:
    """The choice filter of an itemset over an instance (``commune = /data/commune`` in
    ``instance('communes')/root/item[commune = /data/commune]``), or None."""
    match = _NODESET.match(nodeset)
    return _predicate(match.group(3)) if match else None


def _predicate(rest: str) -> str | None:
    """The inside of one trailing ``[...]`` of a nodeset, or None if it is not exactly that."""
    if not (rest.startswith("[") and rest.endswith("]")):
        return None
    depth, quote = 0, None
    for i, char in enumerate(rest):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0 and i != len(rest) - 1:
                return None
    return rest[1:-1] if depth == 0 else None


def _instance_element(rows: Sequence[Mapping[str, str]]) -> Element:
    root = Element("root")
    for row in rows:
        item = SubElement(root, "item")
        for column, value in row.items():
            if _XML_NAME.match(column):
                SubElement(item, column).text = value
    return root


class _Rows(list):
    """Rows of a choice list, with an index by column and the XPath items of a value built once
    (media rows are shared by every submission that reads the same file)."""

    def __init__(self, rows=()):
        super().__init__(rows)
        self.indexes: dict[str, dict[str, list[Mapping[str, str]]]] = {}
        self.items: dict[tuple[str, str], list[ElementNode]] = {}


def _index(rows: Sequence[Mapping[str, str]], column: str) -> dict[str, list[Mapping[str, str]]]:
    """Rows by their value in ``column``."""
    known = rows.indexes if isinstance(rows, _Rows) else {}
    if column not in known:
        out: dict[str, list[Mapping[str, str]]] = {}
        for row in rows:
            out.setdefault(row.get(column, ""), []).append(row)
        known[column] = out
    return known[column]


def _items(
    rows: Sequence[Mapping[str, str]], column: str, value: str, candidates: list
) -> list[ElementNode]:
    """The ``item`` nodes of the rows whose ``column`` is ``value``, as XPath sees them (built
    once per shared list: a cascade's filter is checked on every submission)."""
    known = rows.items if isinstance(rows, _Rows) else {}
    found = known.get((column, value))
    if found is None:
        document = get_node_tree(ElementTree(_instance_element(candidates)))
        found = [n for n in document.getroot() if getattr(n, "name", None) == "item"]
        known[(column, value)] = found
    return found


def _read_media(name: str, data: bytes | None) -> Sequence[dict[str, str]] | None:
    if data is None:
        return None
    try:
        return _parse_media(name.rsplit(".", 1)[-1].lower(), data)
    except (ValueError, UnicodeDecodeError, csv.Error, errors.Problem):
        return None


@lru_cache(maxsize=32)
def _parse_media(extension: str, data: bytes) -> _Rows:
    """Rows of a choice file (cached: the same areas.csv is read for many submissions)."""
    if extension == "csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        return _Rows({k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader)
    if extension == "xml":
        root = parse(data)
        return _Rows(
            {local(c.tag): "".join(c.itertext()).strip() for c in item if isinstance(c.tag, str)}
            for item in root.iter()
            if isinstance(item.tag, str) and local(item.tag) == "item"
        )
    raise ValueError(f"choices from a .{extension} file are not read by the server")


# -- types -----------------------------------------------------------------------------------------


def _anything(_value: str) -> bool:
    return True


def _int(value: str) -> bool:
    return bool(_INT.match(value)) and -(2**31) <= int(value) < 2**31


def _decimal(value: str) -> bool:
    return bool(_DECIMAL.match(value)) and math.isfinite(float(value))


def _date(value: str) -> bool:
    match = _DATE.match(value)
    if match is None:
        return False
    try:
        dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return False
    return True


def _time(value: str) -> bool:
    match = _TIME.match(value)
    return (
        bool(match)
        and int(match.group(1)) < 24
        and int(match.group(2)) < 60
        and (match.group(3) is None or int(match.group(3)) < 60)
    )


def _datetime(value: str) -> bool:
    match = _DATETIME.match(value)
    return bool(match) and _date(match.group(1)) and _time(match.group(2))


def _points(value: str) -> Iterator[bool]:
    for point in value.strip().rstrip(";").split(";"):
        yield _geopoint(point)


def _geopoint(value: str) -> bool:
    parts = value.split()
    if not 2 <= len(parts) <= 4 or not all(_DECIMAL.match(p) for p in parts):
        return False
    numbers = [float(p) for p in parts]
    accuracy_ok = len(numbers) < 4 or numbers[3] >= 0
    return -90 <= numbers[0] <= 90 and -180 <= numbers[1] <= 180 and accuracy_ok


def _geotrace(value: str) -> bool:
    points = list(_points(value))
    return len(points) >= 2 and all(points)


def _geoshape(value: str) -> bool:
    points = list(_points(value))
    return len(points) >= 3 and all(points)


def _boolean(value: str) -> bool:
    return value in ("true", "false", "1", "0")


def _binary(value: str) -> bool:
    return "/" not in value and "\\" not in value and value not in (".", "..")


def _select_one(value: str) -> bool:
    return len(value.split()) == 1


def _rank(value: str) -> bool:
    items = value.split()
    return len(items) == len(set(items))


_TYPE_CHECKS: dict[str, Callable[[str], bool]] = {
    "int": _int,
    "integer": _int,
    "long": _int,
    "short": _int,
    "decimal": _decimal,
    "double": _decimal,
    "float": _decimal,
    "date": _date,
    "dateTime": _datetime,
    "time": _time,
    "geopoint": _geopoint,
    "geotrace": _geotrace,
    "geoshape": _geoshape,
    "boolean": _boolean,
    "binary": _binary,
    "select_one": _select_one,
    "rank": _rank,
}
