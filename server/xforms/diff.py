"""What changes for a collector between two versions of a form: questions added, removed and
changed (type, label, choices, and the binds that decide when a question shows, must be answered,
is valid or is computed), read from the two field schemas. Pure: the draft page and the API show
it before a designer publishes."""

from __future__ import annotations

from dataclasses import dataclass, field

# What a changed value means for the person filling the form, in the order shown.
ASPECTS = (
    "kind",
    "type",
    "control",
    "label",
    "required",
    "relevant",
    "constraint",
    "constraint_msg",
    "calculate",
    "readonly",
    "preload",
)


@dataclass(slots=True)
class FieldChange:
    path: str
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)  # aspect -> old, new
    choices_added: list[str] = field(default_factory=list)
    choices_removed: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FormDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: list[dict], new: list[dict]) -> FormDiff:
    """Fields are compared by path, in the new form's order (removed ones in the old order)."""
    before = {f["path"]: f for f in old}
    after = {f["path"]: f for f in new}
    out = FormDiff(
        added=[p for p in after if p not in before],
        removed=[p for p in before if p not in after],
    )
    for path, now in after.items():
        was = before.get(path)
        if was is None:
            continue
        change = FieldChange(path)
        for aspect in ASPECTS:
            if was.get(aspect) != now.get(aspect):
                change.changes[aspect] = (was.get(aspect), now.get(aspect))
        old_choices, new_choices = _choices(was), _choices(now)
        change.choices_added = [c for c in new_choices if c not in old_choices]
        change.choices_removed = [c for c in old_choices if c not in new_choices]
        if _source(was) != _source(now):
            change.changes["choices"] = (_source(was), _source(now))
        if change.changes or change.choices_added or change.choices_removed:
            out.changed.append(change)
    return out


def _choices(f: dict) -> list[str]:
    return list((f.get("choices") or {}).get("values") or [])


def _source(f: dict) -> str | None:
    """Where a select's choices come from when they are not listed in the form (a CSV file)."""
    choices = f.get("choices") or {}
    return choices.get("media") or choices.get("nodeset")
