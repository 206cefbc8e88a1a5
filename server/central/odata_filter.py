"""OData ``$filter`` for the submissions feed: the subset ODK Central supports
(central-backend ``lib/data/odata-filter.js``), turned into a SQL WHERE clause.

A filter may name ``__id`` and the ``__system`` fields ``submissionDate``, ``updatedAt``,
``submitterId``, ``reviewState`` and ``deletedAt`` (also as ``$root/Submissions/__system/...``),
compare them with ``eq ne lt le gt ge``, combine with ``and or not`` and parentheses, and use the
functions ``now() year() month() day() hour() minute() second()``. Literals: 'strings' (with ''
for a quote), numbers, true, false, null, dates and times (2026-12-01, 2026-12-01T08:00:00Z).
Anything else is a 400 (a broken expression) or a 501 (a real OData feature khudan does not
offer), with a message naming what to change.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, extract, false, literal, not_, or_, true

from .. import errors
from ..models import ReviewState, Submission

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
    | (?P<datetime>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<punct>[(),])
    | (?P<word>\$?[A-Za-z_][A-Za-z0-9_/$]*)
    )""",
    re.VERBOSE,
)
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
PARTS = ("year", "month", "day", "hour", "minute", "second")
FIELDS = {
    "__id": Submission.instance_id,
    "__system/submissionDate": Submission.created_at,
    "__system/updatedAt": Submission.updated_at,
    "__system/submitterId": Submission.submitter_id,
    "__system/reviewState": Submission.review_state,
    "__system/deletedAt": None,  # khudan never deletes a submission: always null
}


@dataclass(frozen=True, slots=True)
class _Value:
    """An operand: a column (or None for the always-null deletedAt) or a literal."""

    sql: object
    is_null: bool = False
    field: str | None = None
    py: object = None  # a literal's Python value


def parse(text: str) -> ColumnElement[bool]:
    """The WHERE clause for a ``$filter`` expression (Problem 400.20 / 501.1 when it cannot be)."""
    tokens = _tokens(text)
    parser = _Parser(tokens, text)
    clause = parser.expression()
    if parser.pos != len(tokens):
        raise _invalid(text, f"unexpected {tokens[parser.pos][1]!r}")
    if isinstance(clause, _Value):
        raise _invalid(text, "the expression is not a comparison")
    return clause


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _invalid(text, f"cannot read {text[pos:].strip()[:20]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _invalid(text: str, reason: str) -> errors.Problem:
    return errors.ODATA_FILTER_INVALID(filter=text, reason=reason)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], text: str):
        self.tokens, self.text, self.pos = tokens, text, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise _invalid(self.text, f"expected {value or 'more'} at the end")
        self.pos += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in words:
            self.pos += 1
            return True
        return False

    def expression(self):
        left = self.conjunction()
        while self.word("or"):
            left = or_(self._bool(left), self._bool(self.conjunction()))
        return left

    def conjunction(self):
        left = self.negation()
        while self.word("and"):
            left = and_(self._bool(left), self._bool(self.negation()))
        return left

    def negation(self):
        if self.word("not"):
            return not_(self._bool(self.negation()))
        return self.comparison()

    def comparison(self):
        left = self.operand()
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in COMPARISONS:
            self.pos += 1
            return _compare(token[1], left, self.operand(), self.text)
        if token is not None and token[0] == "word" and token[1] in {"add", "sub", "mul", "div"}:
            raise errors.ODATA_UNSUPPORTED(feature=f"the operator {token[1]!r} in $filter")
        if token is not None and token[0] == "word" and token[1] in {"has", "in"}:
            raise errors.ODATA_UNSUPPORTED(feature=f"the operator {token[1]!r} in $filter")
        return left

    def operand(self):
        kind, value = self.take()
        if kind == "punct" and value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "string":
            text = value[1:-1].replace("''", "'")
            return _Value(literal(text), py=text)
        if kind == "number":
            number = float(value) if "." in value else int(value)
            return _Value(literal(number), py=number)
        if kind == "datetime":
            return _Value(literal(_instant(value), type_=Submission.created_at.type))
        if kind != "word":
            raise _invalid(self.text, f"unexpected {value!r}")
        if value in ("true", "false"):
            return _Value(literal(value == "true"))
        if value == "null":
            return _Value(None, is_null=True)
        if self.peek() == ("punct", "("):
            return self.call(value)
        name = value.removeprefix("$root/Submissions/")
        if name not in FIELDS:
            raise errors.ODATA_UNSUPPORTED(
                feature=f"filtering on {value!r} (only __id, __system/submissionDate, "
                "__system/updatedAt, __system/submitterId, __system/reviewState, "
                "__system/deletedAt)"
            )
        column = FIELDS[name]
        return _Value(column, is_null=column is None, field=name)

    def call(self, name: str):
        self.take("(")
        if name == "now":
            self.take(")")
            return _Value(literal(dt.datetime.now(dt.UTC), type_=Submission.created_at.type))
        if name not in PARTS:
            raise errors.ODATA_UNSUPPORTED(feature=f"the function {name}() in $filter")
        arg = self.operand()
        self.take(")")
        if not isinstance(arg, _Value) or arg.field not in (
            "__system/submissionDate",
            "__system/updatedAt",
        ):
            raise _invalid(self.text, f"{name}() takes __system/submissionDate or updatedAt")
        return _Value(extract(name, arg.sql), field=f"{name}()")

    def _bool(self, clause):
        if isinstance(clause, _Value):
            raise _invalid(self.text, "'and', 'or' and 'not' combine comparisons")
        return clause


def _instant(text: str) -> dt.datetime:
    if "T" not in text:
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _compare(op: str, left, right, text: str) -> ColumnElement[bool]:
    if not isinstance(left, _Value) or not isinstance(right, _Value):
        raise _invalid(text, f"'{op}' compares a field with a value")
    if "__system/reviewState" in (left.field, right.field):
        left, right = _review_state(left), _review_state(right)
    left, right = _typed(left, right, text), _typed(right, left, text)
    if left.is_null or right.is_null:
        if op not in ("eq", "ne"):
            raise _invalid(text, f"null can only be compared with eq or ne, not {op}")
        both = left.is_null and right.is_null
        other = right if left.is_null else left
        if both:
            return true() if op == "eq" else false()
        return other.sql.is_(None) if op == "eq" else other.sql.is_not(None)
    a, b = left.sql, right.sql
    return {
        "eq": lambda: a == b,
        "ne": lambda: a != b,
        "lt": lambda: a < b,
        "le": lambda: a <= b,
        "gt": lambda: a > b,
        "ge": lambda: a >= b,
    }[op]()


def _typed(value: _Value, other: _Value, text: str) -> _Value:
    """A string literal compared with a number or a time becomes one (Central writes
    submitterId as a string, and people quote dates)."""
    if not isinstance(value.py, str):
        return value
    try:
        if other.field == "__system/submitterId":
            return _Value(literal(int(value.py)), py=int(value.py))
        if other.field in ("__system/submissionDate", "__system/updatedAt"):
            instant = _instant(value.py)
            return _Value(literal(instant, type_=Submission.created_at.type), py=instant)
    except ValueError:
        raise _invalid(text, f"{value.py!r} is not a {other.field} value") from None
    return value


def _review_state(value: _Value) -> _Value:
    """Central has no 'received': a new submission's reviewState is null."""
    received = ReviewState.RECEIVED.value
    if value.is_null and value.field is None:
        return _Value(literal(received))
    return value
