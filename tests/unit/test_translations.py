"""The gettext catalogs (server/translations, Flask-Babel): every text the pages and the service
layer wrap in ``_()`` has an English translation, and the compiled .mo files Flask-Babel reads
say what the .po files translators edit say (``scripts/update-translations.py`` makes them)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = ROOT / "server" / "translations"
LITERAL = re.compile(r"""\b_\(\s*(?:"([^"\\]+)"|'([^'\\]+)')""")


def catalog(lang: str, kind: str = "po") -> dict[str, str]:
    path = CATALOGS / lang / "LC_MESSAGES" / f"messages.{kind}"
    with path.open("rb") as fh:
        read = read_po(fh) if kind == "po" else read_mo(fh)
    return {m.id: m.string for m in read if m.id}


def wrapped() -> set[str]:
    sources = [
        *(ROOT / "server").rglob("*.py"),
        *(ROOT / "schemas").rglob("*.py"),
        *(ROOT / "server").rglob("templates/*.html"),
    ]
    return {
        a or b
        for path in sources
        if path.name != "messages.py"
        for a, b in LITERAL.findall(path.read_text(encoding="utf-8"))
    }


def test_every_wrapped_text_has_an_english_translation():
    english = catalog("en")
    missing = sorted(t for t in wrapped() if not english.get(t))
    assert missing == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_compiled_catalogs_are_up_to_date(lang):
    assert catalog(lang, "mo") == catalog(lang, "po"), "run python scripts/update-translations.py"


def test_the_vietnamese_catalog_repeats_each_text_so_its_wording_can_be_edited():
    vietnamese, english = catalog("vi"), catalog("en")
    assert set(vietnamese) == set(english)
    assert all(vietnamese[t] for t in vietnamese)
