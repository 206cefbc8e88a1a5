"""Checks of a domain form's answers that the XForm itself cannot make, and the Issue they report.

An :class:`Issue` is what khudan found wrong with a submission: the field (path with repeat
indexes, e.g. ``/data/member[2]/m_age``), a stable rule id, the value, and a message in Vietnamese
and in English. Issues never refuse a submission; ingest records them as problems and the
submission enters review as hasIssues. The checks of the form itself (types, choices, required,
constraints) are in ``khudan.xforms.validate``; the checks needing the database (scope, duplicate
households) in ``khudan.services.checks``.

Rules, by id:

- CHK-01 ``roster-size``: the number of members listed (repeat ``member``) equals the stated
  household size (``household_size``). The poverty form sets the repeat count from the size, so a
  difference means an old form, an edited submission or a hand-made one.
- CHK-02 ``household-code-format``: the household code (``household_code``, or
  ``respondent_household`` in the satisfaction survey) matches :data:`HOUSEHOLD_CODE`, the regex of
  the shipped forms' constraint (a test keeps the two equal). Reported only when the form's own
  constraint did not already say so (a form version without the constraint).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

HOUSEHOLD_CODE = re.compile(r"^[A-Za-z0-9._-]{1,30}$")
HOUSEHOLD_CODE_FIELDS = ("household_code", "respondent_household")
ROSTER = "member"
HOUSEHOLD_SIZE = "household_size"


@dataclass(frozen=True, slots=True)
class Issue:
    path: str
    rule: str
    value: str | None
    message_vi: str
    message_en: str
    related: int | None = None  # another submission this is about (a duplicate household)

    @property
    def checked(self) -> bool:
        """False for a "not-checked" note: something the server could not check, not a fault."""
        return self.rule != "not-checked"


def check(
    values: Mapping[str, str],
    repeats: Mapping[str, Sequence[Mapping[str, str]]],
    paths: Mapping[str, str],
    found: Iterable[Issue] = (),
) -> list[Issue]:
    """Every domain check that applies to these answers (by the fields present).

    ``values``, ``repeats`` and ``paths`` are ``khudan.xforms.answers.Answers``' fields; ``found``
    are the issues validation against the form already reported, so one fault is said once.
    """
    found = list(found)
    issues: list[Issue] = []
    if HOUSEHOLD_SIZE in values:
        issues += roster_size(values, repeats, paths)
    issues += household_code_format(values, paths, found)
    return issues


def roster_size(
    values: Mapping[str, str],
    repeats: Mapping[str, Sequence[Mapping[str, str]]],
    paths: Mapping[str, str],
) -> list[Issue]:
    """CHK-01. A missing or non-numeric size is validation's to report, not this check's."""
    said = (values.get(HOUSEHOLD_SIZE) or "").strip()
    if not re.fullmatch(r"\d+", said):
        return []
    size, listed = int(said), len(repeats.get(ROSTER, ()))
    if size == listed:
        return []
    return [
        Issue(
            paths.get(HOUSEHOLD_SIZE, HOUSEHOLD_SIZE),
            "roster-size",
            f"household_size={size} members={listed}",
            f"Số nhân khẩu khai là {size} nhưng danh sách có {listed} thành viên.",
            f"The household size is {size} but {listed} members are listed.",
        )
    ]


def household_code_format(
    values: Mapping[str, str], paths: Mapping[str, str], found: Iterable[Issue] = ()
) -> list[Issue]:
    """CHK-02. An empty code is not this check's (required, and the facts say it is missing)."""
    said_by_form = {i.path for i in found if i.rule == "constraint"}
    issues = []
    for name in HOUSEHOLD_CODE_FIELDS:
        code = values.get(name) or ""
        path = paths.get(name, name)
        if not code or HOUSEHOLD_CODE.match(code) or path in said_by_form:
            continue
        issues.append(
            Issue(
                path,
                "household-code-format",
                code,
                "Mã hộ chỉ gồm chữ không dấu, chữ số và các dấu . _ - (tối đa 30 ký tự).",
                "A household code has only unaccented letters, digits and . _ - "
                "(at most 30 characters).",
            )
        )
    return issues
