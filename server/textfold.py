"""Vietnamese names searched without their marks: "Nhon Chau" finds "Nhơn Châu".

People type names on phones and keyboards without the tone and vowel marks. ``fold`` strips them
(and lowers the case) in Python; ``folded(column)`` does the same in SQL with ``translate``, which
PostgreSQL has and ``khudan.db`` gives SQLite, so a search behaves the same on both databases and
needs no extension.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import ColumnElement, func


def _plain(ch: str) -> str:
    return "d" if ch == "đ" else unicodedata.normalize("NFD", ch)[0]


# Every lower-case Latin letter with a mark that Vietnamese (and French loan words) use.
MARKED = "đ" + "".join(
    ch
    for ch in map(chr, range(0xC0, 0x1EFA))
    if ch.islower()
    and unicodedata.normalize("NFD", ch) != ch
    and unicodedata.normalize("NFD", ch)[0].isascii()
)
PLAIN = "".join(_plain(ch) for ch in MARKED)


def fold(text: str) -> str:
    """Lower case, without marks: "Nhơn Châu" -> "nhon chau"."""
    return unicodedata.normalize("NFC", text).lower().translate(_TABLE)


def folded(column) -> ColumnElement[str]:
    """``fold`` in SQL."""
    return func.translate(func.lower(column), MARKED, PLAIN)


def translate(text, source, target):
    """SQL's translate() for SQLite (PostgreSQL has it): each char of ``source`` becomes the one
    at the same place in ``target``."""
    if text is None:
        return None
    return text.translate(str.maketrans(source, target))


_TABLE = str.maketrans(MARKED, PLAIN)
