"""Reading the rule data files in ``server/domain/rules/``: TOML, one file per period or standard.

Rules live in data, not code, because the legal texts change by period and many values are not yet
verified (shared/domain/vn-rules.md marks each one). An admin corrects a value by editing a file;
the loaders here check the files strictly, so a typo fails at start-up with the file and key named
instead of classifying households wrongly. These files are the only I/O the domain layer does.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

RULES_DIR = Path(__file__).with_name("rules")

T = TypeVar("T")
_KINDS = {str: "text", int: "a whole number", list: "a list", dict: "a table"}


class RulesError(ValueError):
    """A rule file is missing, malformed or contradicts another; the message names the file."""


class NotCovered(LookupError):
    """The rule data have no answer for this case (a year, commune type or set nobody entered)."""


class Mark(StrEnum):
    """How well a rule is sourced, as vn-rules.md marks it."""

    VERIFIED = "V"  # read in the cited source
    PARTLY = "P"  # secondary source, or the excerpt was cut off
    UNVERIFIED = "M"  # not found in any source read; check before relying on it


def read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RulesError(f"{path}: rule file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from exc


def get(table: Mapping[str, Any], key: str, kind: type[T], where: str) -> T:
    """``table[key]``, which must be a ``kind``; ``where`` says which file and table, for the error."""
    value = table.get(key)
    # bool is an int in Python, but `min_deprivations = true` is a typo, not a number.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RulesError(f"{where}: '{key}' must be {_KINDS[kind]}, got {value!r}")
    return value


def mark(table: Mapping[str, Any], where: str) -> Mark:
    value = table.get("mark")
    try:
        return Mark(value)
    except ValueError:
        raise RulesError(f"{where}: 'mark' must be V, P or M, got {value!r}") from None


def share(table: Mapping[str, Any], key: str, where: str) -> Fraction:
    """A share between 0 and 1, kept exact: 0.8 in the file is 4/5, so 8 of 10 households pass."""
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise RulesError(f"{where}: '{key}' must be a number between 0 and 1, got {value!r}")
    return Fraction(str(value))


def tables(data: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """The ``[[key]]`` tables of a file (none when absent); ``[key]`` written by mistake is an error."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RulesError(f"{where}: '{key}' must be written as [[{key}]] tables")
    return value


def unique_ids(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for id_ in ids:
        if id_ in seen:
            raise RulesError(f"{where}: id '{id_}' appears twice")
        seen.add(id_)
