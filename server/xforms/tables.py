"""A form's submissions as flat tables, the way ODK Central exports them.

One main table with a column per question outside any repeat, the group path flattened into the
column name (``household-period``), and one table per repeat group whose rows point at their parent
with ``PARENT_KEY`` (the submission's instanceID, or the parent repeat's ``KEY``) and are named by
``KEY`` (``uuid:…/member[2]``). A form with several versions gets the union of their questions: the
current version's in its order, then any question only older versions asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from .safexml import local


@dataclass(frozen=True, slots=True)
class Column:
    path: str  # /data/household/period
    name: str  # household-period: the path below the table's root
    type: str  # the bind type: int, decimal, string, date, binary...
    label: dict[str, str]  # {language: text}
    choices: dict[str, dict[str, str]]  # value -> {language: label}; empty without labels
    multiple: bool  # select_multiple: space-separated values


@dataclass(frozen=True, slots=True)
class Table:
    path: str  # /data for the main table, /data/member for a repeat
    name: str  # the repeat's name ("" for the main table)
    label: dict[str, str]
    columns: list[Column] = field(default_factory=list)


@dataclass(slots=True)
class RepeatRow:
    table: str  # the repeat's path
    parent_key: str
    key: str
    index: int  # position among its siblings, from 1
    values: dict[str, str] = field(default_factory=dict)  # path -> text


def tables(versions: list[list[dict]], choice_labels: dict[str, dict]) -> list[Table]:
    """The main table, then one per repeat in document order. ``versions``: field schemas,
    current version first."""
    root = "/" + versions[0][0]["path"].split("/")[1] if versions and versions[0] else "/data"
    found: dict[str, Table] = {root: Table(root, "", {})}
    seen: set[str] = set()
    for fields in versions:
        for f in fields:
            if f["path"] in seen:
                continue
            seen.add(f["path"])
            if f["kind"] == "repeat":
                found.setdefault(f["path"], Table(f["path"], f["name"], f.get("label") or {}))
            elif f["kind"] == "field":
                table = found.setdefault(
                    f["repeat"] or root, Table(f["repeat"] or root, f["repeat"] or "", {})
                )
                table.columns.append(
                    Column(
                        path=f["path"],
                        name=f["path"][len(table.path) + 1 :].replace("/", "-"),
                        type=f["type"],
                        label=f.get("label") or {},
                        choices=choice_labels.get(f["path"], {}),
                        multiple=f.get("control") == "select",
                    )
                )
    return list(found.values())


_names: dict[str, str] = {}  # tag -> local name: an export reads the same tags 100,000 times


def flatten(root: Element, key: str, repeat_paths: frozenset[str]) -> tuple[dict, list[RepeatRow]]:
    """A submission's answers: (main values by path, repeat rows in document order)."""
    main: dict[str, str] = {}
    repeats: list[RepeatRow] = []
    names = _names if len(_names) < 10_000 else _names.clear() or _names

    def walk(element: Element, path: str, values: dict[str, str], parent_key: str) -> None:
        counts: dict[str, int] = {}
        for node in element:
            tag = node.tag
            name = names.get(tag)
            if name is None:
                if not isinstance(tag, str):
                    continue  # a comment or a processing instruction
                name = names[tag] = local(tag)
            node_path = f"{path}/{name}"
            if node_path in repeat_paths:
                index = counts[name] = counts.get(name, 0) + 1
                row = RepeatRow(node_path, parent_key, f"{parent_key}/{name}[{index}]", index)
                repeats.append(row)
                walk(node, node_path, row.values, row.key)
            elif len(node):
                walk(node, node_path, values, parent_key)
            else:
                values[node_path] = (node.text or "").strip()

    walk(root, f"/{local(root.tag)}", main, key)
    return main, repeats


def pick(texts: dict[str, str], language: str) -> str | None:
    """The text in ``language``, else the form's only (default) text, else any."""
    if not texts:
        return None
    return texts.get(language) or texts.get("default") or next(iter(texts.values()))
