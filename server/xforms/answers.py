"""A submission's answers by field name, the shape domain rules read.

Field names in the shipped forms are unique, so rules can ask for ``household_code`` wherever the
designer put it (top level or in a group). Each repeat instance becomes one mapping of its own
leaves; the path of every answer is kept for problem reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from .safexml import local


@dataclass(slots=True)
class Answers:
    values: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    repeats: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def place(self) -> dict[str, str | None]:
        """Where and when: the household's area (what scoping filters), period and code."""
        return {
            "province_code": self.get("province") or None,
            "commune_code": self.get("commune") or None,
            "area_code": self.get("area_code") or None,
            "period": (self.get("period") or self.get("year"))[:16] or None,
            "household_code": (self.get("household_code") or self.get("respondent_household"))[:100]
            or None,
        }


def read_answers(root: Element, fields: list[dict]) -> Answers:
    repeat_paths = {f["path"] for f in fields if f["kind"] == "repeat"}
    answers = Answers()
    _walk(root, f"/{local(root.tag)}", repeat_paths, answers)
    return answers


def _walk(element: Element, path: str, repeat_paths: set[str], answers: Answers) -> None:
    for node in element:
        if not isinstance(node.tag, str):
            continue
        name = local(node.tag)
        node_path = f"{path}/{name}"
        if node_path in repeat_paths:
            instance: dict[str, str] = {}
            _leaves(node, instance)
            answers.repeats.setdefault(name, []).append(instance)
        elif len(node):
            _walk(node, node_path, repeat_paths, answers)
        else:
            answers.values[name] = (node.text or "").strip()
            answers.paths[name] = node_path


def _leaves(element: Element, out: dict[str, str]) -> None:
    for node in element:
        if not isinstance(node.tag, str):
            continue
        if len(node):
            _leaves(node, out)
        else:
            out[local(node.tag)] = (node.text or "").strip()
