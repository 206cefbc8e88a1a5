"""Which usernames may exist side by side: no two that a person could not tell apart.

``аdm`` (Cyrillic а), ``adm`` with a zero-width space and ``Adm`` were all accepted beside ``adm``,
so a supervisor approving "adm"'s work could be looking at someone else's. A name is compared by
its key: NFKC (compatibility forms folded: full-width ``ａ`` is ``a``), case-folded, with the
Cyrillic and Greek letters that look like Latin ones read as those (after UTS #39's confusables).
A name is refused outright when it holds a character nobody sees (zero-width, bidi controls) or
letters of two scripts, as no real name does.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..messages import _
from ..models import User

# Cyrillic and Greek letters drawn like Latin ones (lower case: keys are case-folded).
_LOOKALIKE = str.maketrans(
    {
        **dict.fromkeys("аɑα", "a"),
        **dict.fromkeys("вβ", "b"),
        **dict.fromkeys("сϲ", "c"),
        "ԁ": "d",
        **dict.fromkeys("еε", "e"),
        "һ": "h",
        **dict.fromkeys("іιӏ", "i"),
        "ј": "j",
        **dict.fromkeys("кκ", "k"),
        "м": "m",
        **dict.fromkeys("пη", "n"),
        **dict.fromkeys("оοσ", "o"),
        **dict.fromkeys("рρ", "p"),
        "ԛ": "q",
        "ѕ": "s",
        **dict.fromkeys("тτ", "t"),
        "υ": "u",
        **dict.fromkeys("νѵ", "v"),
        **dict.fromkeys("ԝω", "w"),
        **dict.fromkeys("хχ", "x"),
        **dict.fromkeys("уγ", "y"),
        "ᴢ": "z",
    }
)
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "ARABIC", "HEBREW", "CJK")


def key(name: str) -> str:
    """What two names must not share."""
    return unicodedata.normalize("NFKC", name).casefold().translate(_LOOKALIKE)


def problem(name: str) -> str | None:
    """Why ``name`` cannot be a username, or None."""
    scripts = set()
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") or (
            category == "Zs" and char != " "
        ):
            point = format(ord(char), "04X")
            return _("có ký tự ẩn hoặc ký tự điều khiển (U+{point})", point=point)
        if category.startswith("L"):
            script = unicodedata.name(char, "").split(" ")[0]
            scripts.add(script if script in _SCRIPTS else "OTHER")
    if len(scripts) > 1:
        return _(
            "trộn chữ của nhiều hệ chữ viết ({scripts})",
            scripts=", ".join(sorted(scripts)).lower(),
        )
    return None


def lookalike(session: Session, name: str) -> str | None:
    """An existing username that ``name`` cannot be told apart from, if any. Reads every name:
    users are created rarely and number in the thousands, not the millions."""
    wanted = key(name)
    for existing in session.scalars(select(User.username)):
        if key(existing) == wanted:
            return existing
    return None
