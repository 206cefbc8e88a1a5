"""A submission's answers laid out as the form is: groups as sections, repeats as tables, each
question with its label in the page's language and a choice shown by its label.

Pure: from the version's field schema (``khudan.xforms.schema``), the answers nested as the API
gives them (``services.submissions.nested_answers``) and the choice labels of the XForm. Questions
the collector never saw are left out: notes, calculations without a label, and empty answers to
questions asked only under a condition.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MARKDOWN = re.compile(r"\*\*|__|(?<!\w)[*_](?=\w)|(?<=\w)[*_](?!\w)")


@dataclass(slots=True)
class Answer:
    path: str  # with repeat positions, as problems name it: /data/member[2]/m_age
    label: str
    value: str  # what to show: the text, the choice labels, the file name
    raw: str
    kind: str  # text, file, geopoint
    problems: list = field(default_factory=list)


@dataclass(slots=True)
class Group:
    label: str
    items: list


@dataclass(slots=True)
class Repeat:
    label: str
    columns: list[str]
    rows: list[list[Answer | None]]


def label_text(labels: dict[str, str] | None, lang: str) -> str:
    """The label in ``lang``, else Vietnamese, else the form's only language; without markdown."""
    labels = labels or {}
    text = (
        labels.get(lang)
        or labels.get("vi")
        or labels.get("default")
        or next(iter(labels.values()), "")
    )
    return MARKDOWN.sub("", text).strip()


def layout(
    fields: list[dict],
    answers: dict,
    choices: dict[str, dict],
    lang: str,
    problems=(),
    places: dict[str, str] | None = None,
) -> list:
    """Groups, repeats and answers in the form's order; ``problems`` (with ``.path``) are attached
    to the answer they name. ``places`` (code -> name) names the area codes a select answers from
    a media list (the areas.csv cascade), whose labels the XForm does not hold."""
    children: dict[str, list[dict]] = defaultdict(list)
    for f in fields:
        children[f["path"].rsplit("/", 1)[0]].append(f)
    root = fields[0]["path"].rsplit("/", 1)[0] if fields else "/data"
    by_path: dict[str, list] = defaultdict(list)
    for p in problems:
        by_path[p.path].append(p)
    names = {code: {lang: f"{name} ({code})"} for code, name in (places or {}).items()}
    return _items(root, root, answers, children, choices, lang, by_path, names, answers)


_OUTPUT = re.compile(r"\$\{([^}]*)\}")


def _filled(f: dict, lang: str, here: dict, root: dict) -> str:
    """The label in ``lang`` with each ``${…}`` output showing its answer, as Collect shows it:
    an absolute path is read from the whole submission, a relative one (``../m_age``, in a
    repeat) from the answers around the question."""
    template = f.get("label_template")
    if not template:
        return label_text(f["label"], lang)

    def value(match: re.Match) -> str:
        ref = match.group(1).strip()
        if ref.startswith("/"):
            node = root
            for part in ref.split("/")[2:]:  # after "" and the root element
                node = node.get(part) if isinstance(node, dict) else None
        else:
            node = here.get(ref.rsplit("/", 1)[-1])
        return node if isinstance(node, str) else "…"

    return _OUTPUT.sub(value, label_text(template, lang))


def _items(parent, shown_path, values, children, choices, lang, problems, places, root) -> list:
    out: list = []
    for f in children.get(parent, []):
        name, here = f["name"], f"{shown_path}/{f['name']}"
        if f["kind"] == "group":
            inner = _items(
                f["path"],
                here,
                values.get(name) or {},
                children,
                choices,
                lang,
                problems,
                places,
                root,
            )
            if inner and f.get("label"):
                out.append(Group(label_text(f["label"], lang), inner))
            else:
                out.extend(inner)
        elif f["kind"] == "repeat":
            instances = values.get(name) or []
            rows = [
                _items(
                    f["path"], f"{here}[{i}]", inst, children, choices, lang, problems, places, root
                )
                for i, inst in enumerate(instances, start=1)
            ]
            table = _table(label_text(f.get("label"), lang) or name, rows)
            if table.rows:
                out.append(table)
        else:
            raw = values.get(name, "")
            raw = raw if isinstance(raw, str) else ""
            if not f.get("label") or (not raw and _conditional(f)):
                continue
            out.append(
                Answer(
                    here,
                    _filled(f, lang, values, root),
                    _shown(f, raw, choices, lang, places),
                    raw,
                    _kind(f),
                    problems.get(here, []),
                )
            )
    return out


def _table(label: str, rows: list[list]) -> Repeat:
    """A repeat's instances as rows under the union of their answers' labels (a group inside a
    repeat adds its answers as columns; a repeat inside a repeat is left to the detail API)."""
    flat = [[a for a in _flatten(row) if isinstance(a, Answer)] for row in rows]
    columns: list[str] = []
    for row in flat:
        for a in row:
            if a.label not in columns:
                columns.append(a.label)
    table_rows = []
    for row in flat:
        by_label = {a.label: a for a in row}
        table_rows.append([by_label.get(c) for c in columns])
    return Repeat(label, columns, table_rows)


def _flatten(items: list):
    for item in items:
        if isinstance(item, Group):
            yield from _flatten(item.items)
        else:
            yield item


def _conditional(f: dict) -> bool:
    """Asked only sometimes (relevant), never asked (a note: read-only) or not required."""
    return bool(f.get("relevant") or f.get("readonly") or not f.get("required"))


def _kind(f: dict) -> str:
    if f["type"] == "binary":
        return "file"  # shown as a thumbnail when its bytes are a readable image
    return "geopoint" if f["type"] == "geopoint" else "text"


def _shown(f: dict, raw: str, choices: dict[str, dict], lang: str, places: dict) -> str:
    labels = choices.get(f["path"]) or (places if f.get("control") == "select1" else None)
    if raw and not labels and f["type"] in ("int", "decimal", "date", "dateTime"):
        return _formatted(f["type"], raw)
    if not raw or not labels:
        return raw
    values = raw.split() if f.get("control") == "select" else [raw]
    return ", ".join(label_text(labels.get(v), lang) or v for v in values)


def _formatted(kind: str, raw: str) -> str:
    """A number or a time as people here write it (1.200.000; 7,2; 29/11/2026 10:44, Vietnam
    time); what does not parse is shown as it was sent."""
    try:
        if kind == "int":
            return format_decimal(int(raw), locale="vi_VN")
        if kind == "decimal":
            return format_decimal(float(raw), format="#,##0.##", locale="vi_VN")
        if kind == "date":
            return dt.date.fromisoformat(raw[:10]).strftime("%d/%m/%Y")
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    if when.tzinfo is None:
        return when.strftime("%d/%m/%Y %H:%M")
    return when.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")
