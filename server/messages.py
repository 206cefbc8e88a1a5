"""Texts in the reader's language, from the gettext catalogs in server/translations/ (Flask-Babel).

Everything khudan says to a person is written in Vietnamese and wrapped in ``_()``; the English
catalog translates it (``scripts/update-translations.py`` keeps the catalogs in step with the
code). Placeholders use ``str.format``: ``_("Xin chào {name}", name=user)``. The language is the
request's: on the pages ``?lang=`` or the cookie (Vietnamese by default), elsewhere (the API,
OpenRosa) the client's ``Accept-Language``; outside a request (the CLI) Vietnamese.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, request
from flask_babel import Babel, gettext

LANGS = ("vi", "en")
DEFAULT_LANG = "vi"
COOKIE = "khudan_lang"


def _(text: str, **values) -> str:
    """``text`` (Vietnamese) in this request's language, with ``{placeholders}`` filled in."""
    if has_request_context():
        text = gettext(text)
    return text.format(**values) if values else text


def lang() -> str:
    """This request's language (see the module's docstring)."""
    if not has_request_context():
        return DEFAULT_LANG
    if "lang" not in g:
        if request.blueprint == "web" or request.path == "/":
            wanted = request.args.get("lang") or request.cookies.get(COOKIE)
        else:
            wanted = request.accept_languages.best_match(LANGS, default=DEFAULT_LANG)
        g.lang = wanted if wanted in LANGS else DEFAULT_LANG
    return g.lang


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=lang, default_locale=DEFAULT_LANG)
