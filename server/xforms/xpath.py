"""The XPath that XForms binds speak, evaluated on the server with elementpath's XPath 1.0 parser.

ODK forms use XPath 1.0 plus a set of XForms and JavaRosa functions. This module registers the
subset forms really use on a parser of its own (elementpath's ``XPath1Parser`` itself is left as
it is) and evaluates expressions against a submission with JavaRosa's conversions, which are
kinder than elementpath's strict ones:

- comparisons follow XPath 1.0 (an empty answer compared with a number is NaN, so false, where
  elementpath would raise), and a date or dateTime compares and subtracts as days since 1970,
  as JavaRosa does with its typed date values (``. <= today()``);
- arithmetic converts both sides to numbers (an empty answer is NaN);
- added functions: ``if``, ``selected``, ``selected-at``, ``count-selected``, ``regex``,
  ``coalesce``, ``today``, ``int``, ``date``, ``decimal-date-time``, ``boolean-from-string``,
  ``ends-with``, ``substr``, ``min``, ``max``, ``current``, ``instance``; ``position(node)`` (the
  1-based index of a repeat instance), ``round(x, digits)``, and ``concat`` and ``sum`` with
  JavaRosa's rules.

Anything else (``pulldata``, ``jr:choice-name``, ``format-date``, ``now``, ``random``...) fails to
parse or to evaluate with :class:`Unsupported`, which callers report as "not checked".

Expressions are parsed once per process; an absolute path of plain names (``/data/group/q``, what
``${q}`` becomes) is found through an index of the submission kept by its :class:`Evaluator`.
The submission is read as a tree of :class:`Node` (name, parent, children, text): elementpath's
own node tree, which its parser needs, is built only when an expression goes to it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, ElementTree, SubElement

from elementpath import XPath1Parser, XPathContext, get_node_tree
from elementpath.sequences import xlist
from elementpath.xpath_nodes import DocumentNode, ElementNode, XPathNode

EPOCH = dt.date(1970, 1, 1)
_DATE = re.compile(
    r"^\s*(-?\d{4,})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?(Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
_NUMBER = re.compile(r"^\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*$")


class Node:
    """An element (or, with no name, the document) of a submission as the direct road reads it.

    elementpath's node tree costs about a millisecond to build for a poverty review, more than
    evaluating every bind of it on the direct road; these nodes are built with the model that is
    checked anyway. ``text`` is the string value (an element's descendant text); when None it is
    worked out from ``elem`` (the ElementTree element the node stands for) or the children.
    """

    __slots__ = ("children", "elem", "name", "parent", "text")

    def __init__(self, name: str | None, parent: Node | None):
        self.name = name
        self.parent = parent
        self.children: list[Node] = []
        self.text: str | None = None
        self.elem: Element | None = None
        if parent is not None:
            parent.children.append(self)

    def __iter__(self):
        return iter(self.children)

    @property
    def string_value(self) -> str:
        if self.text is None:
            if self.elem is not None:
                self.text = "".join(self.elem.itertext())
            else:
                self.text = "".join(c.string_value for c in self.children)
        return self.text

    @classmethod
    def document(cls, root: Element) -> Node:
        """The document node of an element tree, each node remembering its element."""
        document = cls(None, None)
        stack = [(root, document)]
        while stack:
            element, parent = stack.pop()
            node = cls(element.tag, parent)
            node.elem = element
            stack.extend((c, node) for c in reversed(element) if isinstance(c.tag, str))
        return document


_NODES = (XPathNode, Node)


class Unsupported(Exception):
    """An expression this server does not evaluate (outside the subset, or it failed)."""


class XFormsParser(XPath1Parser):
    """XPath 1.0 with the XForms/JavaRosa functions ODK forms use."""

    # A path may start at instance('id') or current(), as XPath 1.0's FilterExpr '/' allows.
    PATH_STEP_SYMBOLS: ClassVar[set[str]] = XPath1Parser.PATH_STEP_SYMBOLS | {"instance", "current"}


function = XFormsParser.function
method = XFormsParser.method


# -- conversions, as JavaRosa does them ---------------------------------------------------------


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else ""
    return value


def string(value: Any) -> str:
    value = _first(value)
    if isinstance(value, _NODES):
        return value.string_value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return str(int(number)) if number.is_integer() else repr(number)
    return "" if value is None else str(value)


def number(value: Any) -> float:
    value = _first(value)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float | Decimal):
        return float(value)
    text = string(value)
    if _NUMBER.match(text):
        return float(text)
    days = date_days(text)
    return math.nan if days is None else days


def boolean(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, _NODES):
        return True
    return bool(value)


def date_days(text: str) -> float | None:
    """Days since 1970-01-01 of a date or dateTime (with its time of day), else None."""
    match = _DATE.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        days = (dt.date(int(year), int(month), int(day)) - EPOCH).days
    except ValueError:
        return None
    if hour is None:
        return float(days)
    seconds = int(hour) * 3600 + int(minute) * 60 + float(second or 0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return days + seconds / 86400


def _strings(value: Any) -> list[str] | None:
    """The string values of a node-set, or None for anything that is not one."""
    if isinstance(value, list):
        return [string(v) for v in value]
    if isinstance(value, _NODES):
        return [value.string_value]
    return None


def copy(context):
    """``copy.copy`` of an evaluation context, without its generic dispatch: a context is copied
    for every operand of every expression (about 300 times a poverty review)."""
    return None if context is None else context.__copy__()


def _args(token, context) -> list[Any]:
    return [t.evaluate(copy(context)) for t in token]


# -- operators ----------------------------------------------------------------------------------

_RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compare(symbol: str, left: Any, right: Any) -> bool:
    """XPath 1.0 section 3.4, with dates compared as days."""
    op = _RELATIONS[symbol]
    equality = symbol in ("=", "!=")
    lefts, rights = _strings(left), _strings(right)
    if lefts is not None and rights is not None:
        convert = (lambda s: s) if equality else number
        return any(op(convert(a), convert(b)) for a in lefts for b in rights)
    if lefts is not None or rights is not None:
        nodes, other, node_left = (
            (lefts, right, True) if lefts is not None else (rights, left, False)
        )
        if isinstance(other, bool):
            a, b = boolean(left), boolean(right)
            return op(a, b) if equality else op(number(a), number(b))
        if isinstance(other, int | float | Decimal) or not equality:
            pairs = ((number(s), number(other)) for s in nodes)
        else:
            pairs = ((s, string(other)) for s in nodes)
        return any(op(a, b) if node_left else op(b, a) for a, b in pairs)
    if equality:
        if isinstance(left, bool) or isinstance(right, bool):
            return op(boolean(left), boolean(right))
        if isinstance(left, int | float | Decimal) or isinstance(right, int | float | Decimal):
            return op(number(left), number(right))
        return op(string(left), string(right))
    return op(number(left), number(right))


def _override(symbol: str, **members) -> None:
    """Give this parser its own subclass of a token, leaving XPath1Parser's untouched."""
    base = XFormsParser.symbol_table[symbol]
    XFormsParser.symbol_table[symbol] = type(base)(f"XForms{base.__name__}", (base,), members)


def _comparison(self, context=None):
    left, right = _args(self, context)
    return compare(self.symbol, left, right)


for _symbol in _RELATIONS:
    _override(_symbol, evaluate=_comparison)


def _arithmetic(op: Callable[[float, float], float]):
    def evaluate(self, context=None):
        if len(self) == 1:  # unary minus or plus
            value = number(self[0].evaluate(copy(context)))
            return -value if self.symbol == "-" else value
        left, right = (number(v) for v in _args(self, context))
        return op(left, right)

    return evaluate


def _div(a: float, b: float) -> float:
    if b == 0:  # XPath's IEEE 754 division: x div 0 is +/-Infinity, 0 div 0 is NaN
        return (
            math.nan
            if a == 0 or math.isnan(a)
            else math.copysign(math.inf, a * math.copysign(1, b))
        )
    return a / b


def _mod(a: float, b: float) -> float:
    return math.nan if b == 0 else math.fmod(a, b)


_ARITHMETIC: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "div": _div,
    "mod": _mod,
}
for _symbol in ("+", "-", "div", "mod"):
    _override(_symbol, evaluate=_arithmetic(_ARITHMETIC[_symbol]))

_Asterisk = XFormsParser.symbol_table["*"]
_multiply = _arithmetic(_ARITHMETIC["*"])


def _asterisk(self, context=None):
    return _multiply(self, context) if len(self) == 2 else _Asterisk.evaluate(self, context)


_override("*", evaluate=_asterisk)


# -- functions ----------------------------------------------------------------------------------


def _replace_function(symbol: str, nargs, evaluate) -> None:
    _override(symbol, nargs=nargs, evaluate=evaluate)


@method(function("if", nargs=3))
def evaluate__if(self, context=None):
    chosen = self[1] if boolean(self[0].evaluate(copy(context))) else self[2]
    return chosen.evaluate(copy(context))


def selected(chosen: Any, value: Any) -> bool:
    return string(value).strip() in string(chosen).split()


def count_selected(chosen: Any) -> int:
    return len(string(chosen).split())


def matches(value: Any, pattern: Any) -> bool:
    """``regex(value, pattern)``; a pattern Python cannot compile is Unsupported."""
    value, pattern = string(value), string(pattern)
    try:
        return _regex(pattern).search(value) is not None
    except re.error as exc:
        raise Unsupported(f"regex {pattern!r}: {exc}") from None


@method(function("selected", nargs=2))
def evaluate__selected(self, context=None):
    return selected(*_args(self, context))


@method(function("selected-at", nargs=2))
def evaluate__selected_at(self, context=None):
    chosen, index = _args(self, context)
    items, at = string(chosen).split(), number(index)
    return items[int(at)] if not math.isnan(at) and 0 <= at < len(items) else ""


@method(function("count-selected", nargs=1))
def evaluate__count_selected(self, context=None):
    return count_selected(self[0].evaluate(copy(context)))


@method(function("regex", nargs=2))
def evaluate__regex(self, context=None):
    return matches(*_args(self, context))


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@method(function("coalesce", nargs=2))
def evaluate__coalesce(self, context=None):
    first = string(self[0].evaluate(copy(context)))
    return first if first else string(self[1].evaluate(copy(context)))


@method(function("today", nargs=0))
def evaluate__today(self, context=None):
    if context is None:
        raise self.missing_context()
    return context.__dict__["xforms_today"].isoformat()


@method(function("int", nargs=1))
def evaluate__int(self, context=None):
    value = number(self[0].evaluate(copy(context)))
    return value if math.isnan(value) or math.isinf(value) else float(math.trunc(value))


@method(function("date", nargs=1))
def evaluate__date(self, context=None):
    value = _first(self[0].evaluate(copy(context)))
    if not isinstance(value, int | float | Decimal):
        value = number(value)
    if math.isnan(value) or math.isinf(value):
        return ""
    return (EPOCH + dt.timedelta(days=math.floor(value))).isoformat()


@method(function("decimal-date-time", nargs=1))
def evaluate__decimal_date_time(self, context=None):
    return number(self[0].evaluate(copy(context)))


@method(function("boolean-from-string", nargs=1))
def evaluate__boolean_from_string(self, context=None):
    return string(self[0].evaluate(copy(context))).strip() in ("true", "1")


@method(function("ends-with", nargs=2))
def evaluate__ends_with(self, context=None):
    value, end = (string(v) for v in _args(self, context))
    return value.endswith(end)


@method(function("substr", nargs=(2, 3)))
def evaluate__substr(self, context=None):
    values = _args(self, context)
    text = string(values[0])
    start = int(number(values[1]))
    end = int(number(values[2])) if len(values) == 3 else len(text)
    return text[max(start, 0) : max(end, 0)]


def _extreme(pick):
    def evaluate(self, context=None):
        numbers = []
        for value in _args(self, context):
            items = _strings(value)
            numbers += [number(s) for s in items] if items is not None else [number(value)]
        if not numbers or any(math.isnan(n) for n in numbers):
            return math.nan
        return pick(numbers)

    return evaluate


method(function("min", nargs=(1, None)))(_extreme(min))
method(function("max", nargs=(1, None)))(_extreme(max))


@method(function("current", nargs=0))
def evaluate__current(self, context=None):
    if context is None:
        raise self.missing_context()
    return [context.__dict__["xforms_current"]]


@method(function("instance", nargs=1))
def evaluate__instance(self, context=None):
    if context is None:
        raise self.missing_context()
    name = string(self[0].evaluate(copy(context)))
    document = context.__dict__["xforms_instance"](name)
    if document is None:
        raise Unsupported(f"instance('{name}') is not known to the server")
    return [document]


def _position(self, context=None):
    if context is None:
        raise self.missing_context()
    if not len(self):
        return context.position
    # A context not made by an Evaluator has no memory between calls.
    positions = context.__dict__.get("xforms_positions")
    return position_of(self[0].evaluate(copy(context)), {} if positions is None else positions)


def position_of(nodes: Any, positions: dict[int, int]) -> float | int:
    """``position(nodes)``: the 1-based index of the first node among its like-named siblings
    (``positions`` remembers them, by node id), NaN for anything else."""
    node = _first(nodes)
    if not isinstance(node, _NODES) or node.parent is None:
        return math.nan
    if id(node) not in positions:
        number_siblings(node.parent, node.name, positions)
    return positions[id(node)]


def number_siblings(parent: XPathNode | Node, name: str, positions: dict[int, int]) -> None:
    """Each child named ``name`` gets its position among them, in one pass: asking each repeat
    member for its own position by scanning its siblings made a submission quadratic in its
    members (2,000 members took 12 s)."""
    n = 0
    for child in parent:
        if getattr(child, "name", None) == name:
            n += 1
            positions[id(child)] = n


def _round(self, context=None):
    values = _args(self, context)
    value = number(values[0])
    digits = int(number(values[1])) if len(values) == 2 else 0
    if math.isnan(value) or math.isinf(value):
        return value
    scale = 10**digits
    return math.floor(value * scale + 0.5) / scale


def _concat(self, context=None):
    parts = []
    for value in _args(self, context):
        items = _strings(value)
        parts += items if items is not None else [string(value)]
    return "".join(parts)


def _sum(self, context=None):
    items = _strings(self[0].evaluate(copy(context)))
    return math.fsum(number(s) for s in items) if items is not None else math.nan


def _number(self, context=None):
    if context is None and not len(self):
        raise self.missing_context()
    return number(self[0].evaluate(copy(context)) if len(self) else [context.item])


_Solidus = XFormsParser.symbol_table["/"]


def _child_steps(token) -> tuple[str, ...] | None:
    """The names of an absolute path of plain child steps (``/data/group/q``, what ``${q}``
    becomes), or None for any other path."""
    steps = []
    while token.symbol == "/" and len(token) == 2 and token[1].symbol == "(name)":
        steps.append(token[1].value)
        token = token[0]
    if token.symbol == "/" and len(token) == 1 and token[0].symbol == "(name)":
        return (token[0].value, *reversed(steps))
    return None


def _path(self, context=None):
    # Forms ask for the same answers again and again: such a path is looked up in the
    # evaluator's index of the submission instead of being walked step by step each time.
    paths = context.__dict__.get("xforms_paths") if context is not None else None
    if paths is not None:
        if "xforms_steps" not in self.__dict__:  # a property of the parsed token: worked out once
            self.__dict__["xforms_steps"] = _child_steps(self)
        steps = self.__dict__["xforms_steps"]
        if steps is not None:
            return paths(steps)
    return _Solidus.evaluate(self, context)


_override("/", evaluate=_path)
_replace_function("position", (0, 1), _position)
_replace_function("round", (1, 2), _round)
_replace_function("concat", (0, None), _concat)
_replace_function("sum", 1, _sum)
_replace_function("number", (0, 1), _number)
XFormsParser.build()


# -- evaluation ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def compile_expression(expression: str):
    """The parsed expression (shared: parsed tokens hold no per-evaluation state)."""
    try:
        return XFormsParser().parse(expression)
    except Unsupported:
        raise
    except Exception as exc:  # a syntax error, or a constant part that fails (e.g. 1 div 'a')
        raise Unsupported(_reason(exc)) from None


# -- a direct road for the expressions forms mostly use ------------------------------------------
#
# Evaluating ``../m_age >= 15`` through elementpath copies its context for every operand and goes
# through several layers of token dispatch: 20-40 µs, and a poverty review evaluates about 60
# such expressions. The shapes forms mostly use (answers by absolute or relative path, literals,
# comparisons, and/or/not, arithmetic, ``selected``, ``count-selected``, ``regex``, ``number``,
# ``position(..)``) are turned once into nested Python functions that call the same conversions
# (``compare``, ``number``...) on the same node objects. Any other expression, and anything
# unexpected while evaluating one (an item that is not a node where a path needs one, an error),
# goes to elementpath as before, so the answer and the "not checked" reason never differ.


class _Fallback(Exception):
    """This evaluation is left to elementpath."""


_Fast = Callable[["Evaluator", Any, Any], Any]
_NUMBERS = ("(integer)", "(decimal)", "(float)")


@lru_cache(maxsize=4096)
def fast_expression(expression: str) -> _Fast | None:
    """The direct evaluation of ``expression`` (``f(evaluator, item, current)``), or None when
    it is outside the shapes this road takes."""
    try:
        return _fast(compile_expression(expression))
    except Unsupported:
        return None


def _fast(token) -> _Fast | None:
    symbol, arity = token.symbol, len(token)
    if symbol == "(string)" or symbol in _NUMBERS:
        value = token.value
        return lambda ev, item, current: value
    if symbol == ".":
        return lambda ev, item, current: item
    if symbol == "..":
        return lambda ev, item, current: [] if item.parent is None else item.parent
    if symbol == "(name)":
        return _fast_children(lambda ev, item, current: item, token.value)
    if symbol == "(" and arity == 1:
        return _fast(token[0])
    if symbol == "/":
        steps = _child_steps(token)
        if steps is not None:
            return lambda ev, item, current: ev._nodes_at(steps)
        if (
            arity == 2
            and token[1].symbol == "(name)"
            and token[0].symbol in ("..", ".", "/", "(name)")
        ):
            left = _fast(token[0])
            return None if left is None else _fast_children(left, token[1].value)
        return None
    operands = [_fast(t) for t in token]
    if any(f is None for f in operands):
        return None
    return _fast_operation(symbol, operands)


def _fast_children(parents: _Fast, name: str) -> _Fast:
    """``parents/name``: the children called ``name`` of the node(s) ``parents`` gives, in
    document order, each once."""

    def evaluate(ev, item, current):
        found = parents(ev, item, current)
        if not isinstance(found, list):
            found = [found]
        nodes, seen = [], set()
        for parent in found:
            if isinstance(parent, Node):
                children = parent.children
            elif isinstance(parent, ElementNode | DocumentNode):  # of a secondary instance
                children = [c for c in parent if isinstance(c, ElementNode)]
            else:
                raise _Fallback
            for child in children:
                if child.name == name and id(child) not in seen:
                    seen.add(id(child))
                    nodes.append(child)
        return xlist(nodes)

    return evaluate


def _fast_operation(symbol: str, operands: list[_Fast]) -> _Fast | None:
    n = len(operands)
    a = operands[0] if n else None
    b = operands[1] if n > 1 else None
    if symbol in _RELATIONS and n == 2:
        return lambda ev, item, cur: compare(symbol, a(ev, item, cur), b(ev, item, cur))
    if symbol == "and" and n == 2:
        return lambda ev, item, cur: _truth(a(ev, item, cur)) and _truth(b(ev, item, cur))
    if symbol == "or" and n == 2:
        return lambda ev, item, cur: _truth(a(ev, item, cur)) or _truth(b(ev, item, cur))
    if symbol == "not" and n == 1:
        return lambda ev, item, cur: not _truth(a(ev, item, cur))
    if symbol in ("true", "false") and n == 0:
        value = symbol == "true"
        return lambda ev, item, cur: value
    if symbol in _ARITHMETIC and n == 2:
        op = _ARITHMETIC[symbol]
        return lambda ev, item, cur: op(number(a(ev, item, cur)), number(b(ev, item, cur)))
    if symbol in ("-", "+") and n == 1:
        sign = -1 if symbol == "-" else 1
        return lambda ev, item, cur: sign * number(a(ev, item, cur))
    if symbol == "number" and n == 1:
        return lambda ev, item, cur: number(a(ev, item, cur))
    if symbol == "selected" and n == 2:
        return lambda ev, item, cur: selected(a(ev, item, cur), b(ev, item, cur))
    if symbol == "count-selected" and n == 1:
        return lambda ev, item, cur: count_selected(a(ev, item, cur))
    if symbol == "regex" and n == 2:
        return lambda ev, item, cur: matches(a(ev, item, cur), b(ev, item, cur))
    if symbol == "position" and n == 1:
        return lambda ev, item, cur: position_of(a(ev, item, cur), ev.positions)
    return None


def _truth(value: Any) -> bool:
    """elementpath's effective boolean value, for the values the direct road makes."""
    if isinstance(value, list):
        if not value:
            return False
        if isinstance(value[0], _NODES):
            return True
        if len(value) > 1:
            raise _Fallback  # elementpath's error, with its words
        value = value[0]
    return boolean(value)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1] if "[err:" in text else text


class Evaluator:
    """Evaluates expressions against one submission, each relative to a node of it.

    ``root`` is the submission's root element, without namespaces, or the document :class:`Node`
    of a tree of them (the checked model). ``instance(id)`` returns the secondary instance
    ``<root><item>...`` document that ``instances`` builds for an id, or None.
    """

    def __init__(
        self,
        root: Element | Node,
        today: dt.date,
        instances: Callable[[str], Element | None] = lambda _id: None,
    ):
        self.top = root if isinstance(root, Node) else Node.document(root)
        self.today = today
        # position() of each node, by id: the nodes stay alive as long as the evaluator.
        self.positions: dict[int, int] = {}
        self._builder = instances
        self._instances: dict[str, DocumentNode | None] = {}
        self._found: dict[tuple[str, ...], list[Node]] = {}
        self._nodes: dict[Element, Node] | None = None
        self._document: DocumentNode | None = None
        self._context: XPathContext | None = None
        self._paths: dict[tuple[str, ...], list[ElementNode]] = {}
        self._children: dict[int, dict[str, list[ElementNode]]] = {}  # by id: the nodes live on

    # the direct road ---------------------------------------------------------------------------

    def _nodes_at(self, steps: tuple[str, ...]) -> xlist:
        """The nodes at an absolute path of names, in document order (the submission does not
        change while it is checked, so each path, and each of its beginnings, is walked once)."""
        return xlist(self._walk(steps))

    def _walk(self, steps: tuple[str, ...]) -> list[Node]:
        found = self._found.get(steps)
        if found is None:
            parents = self._walk(steps[:-1]) if len(steps) > 1 else (self.top,)
            name = steps[-1]
            found = [c for p in parents for c in p.children if c.name == name]
            self._found[steps] = found
        return found

    def node(self, element: Element) -> Node:
        """The node of an element of the tree this evaluator was made with."""
        if self._nodes is None:
            self._nodes = {}
            stack = list(self.top.children)
            while stack:
                node = stack.pop()
                self._nodes[node.elem] = node
                stack.extend(node.children)
        return self._nodes[element]

    def evaluate(self, expression: str, at: Element | Node | XPathNode) -> Any:
        """The value of ``expression`` with ``at`` as the context node (``.`` and ``current()``)."""
        node = at if isinstance(at, _NODES) else self.node(at)
        return self.evaluate_in(expression, node, node)

    def evaluate_in(self, expression: str, at: Node | XPathNode, current: Node | XPathNode) -> Any:
        """As :meth:`evaluate`, with a context node in a secondary instance (a choice filter)."""
        fast = fast_expression(expression)
        if fast is not None:
            try:
                return fast(self, at, current)
            except Exception:  # noqa: S110 (elementpath evaluates it again, and says why)
                pass
        return self.evaluate_slowly(expression, at, current)

    # elementpath's road ------------------------------------------------------------------------

    def evaluate_slowly(self, expression: str, at: Node | XPathNode, current: Node | XPathNode):
        """As :meth:`evaluate_in`, always through elementpath (what the direct road must match).
        Nodes in its answer are elementpath's (:meth:`xpath_node` gives those of a Node)."""
        token = compile_expression(expression)
        context = copy(self._elementpath_context())
        context.item = self.xpath_node(at)
        context.__dict__["xforms_current"] = self.xpath_node(current)
        try:
            return token.evaluate(context)
        except Unsupported:
            raise
        except Exception as exc:  # whatever a form's expression does, it is "not checked"
            raise Unsupported(_reason(exc)) from None

    def xpath_node(self, node: Node | XPathNode) -> XPathNode:
        """elementpath's node for a :class:`Node` of the submission (itself for any other)."""
        if not isinstance(node, Node):
            return node
        document = self.document
        return document if node.parent is None else document.elements[node.elem]

    @property
    def document(self) -> DocumentNode:
        """elementpath's tree of the submission, built the first time an expression needs it."""
        if self._document is None:
            root = self.top.children[0]
            if root.elem is None:
                _elements(root)
            self._document = get_node_tree(ElementTree(root.elem))
        return self._document

    def _elementpath_context(self) -> XPathContext:
        if self._context is None:
            context = XPathContext(self.document)
            context.__dict__["xforms_today"] = self.today
            context.__dict__["xforms_instance"] = self._instance
            context.__dict__["xforms_paths"] = self._xpath_nodes_at
            context.__dict__["xforms_positions"] = self.positions
            self._context = context
        return self._context

    def _xpath_nodes_at(self, steps: tuple[str, ...]) -> xlist:
        """As :meth:`_nodes_at`, with elementpath's nodes."""
        found = self._paths.get(steps)
        if found is None:
            found = [self.document]
            for step in steps:
                found = [c for n in found for c in self._named_children(n).get(step, ())]
            self._paths[steps] = found
        return xlist(found)

    def _named_children(self, node: XPathNode) -> dict[str, list[ElementNode]]:
        """A node's element children by name, in document order (the paths of one form share
        their first steps: each node's children are listed once)."""
        named = self._children.get(id(node))
        if named is None:
            named = {}
            for child in node:
                if isinstance(child, ElementNode):
                    named.setdefault(child.name, []).append(child)
            self._children[id(node)] = named
        return named

    def _instance(self, name: str) -> DocumentNode | None:
        if name not in self._instances:
            root = self._builder(name)
            self._instances[name] = (
                None if root is None else get_node_tree(ElementTree(root), uri=f"instance:{name}")
            )
        return self._instances[name]

    def instance(self, name: str) -> DocumentNode | None:
        return self._instance(name)


def _elements(root: Node) -> None:
    """Give a tree of nodes made without elements (the checked model) its elements."""
    stack: list[tuple[Node, Element | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        node.elem = Element(node.name) if parent is None else SubElement(parent, node.name)
        if not node.children:
            node.elem.text = node.text
        stack.extend((c, node.elem) for c in reversed(node.children))
