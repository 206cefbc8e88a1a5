"""The pages' texts: ``_()`` and the language of the request come from ``khudan.messages``
(gettext catalogs, Flask-Babel); this module adds what only the pages need."""

from __future__ import annotations

from ..errors import Problem
from ..messages import COOKIE, DEFAULT_LANG, LANGS, _, lang

__all__ = ["COOKIE", "DEFAULT_LANG", "LANGS", "_", "lang", "problem_text"]


def problem_text(problem: Problem) -> str:
    """A service's error in this request's language (the catalogue has both)."""
    return problem.message_en if lang() == "en" else problem.message_vi
