"""Keep the gettext catalogs in step with the code: ``python scripts/update-translations.py``.

The pages and the service layer write their texts in Vietnamese and wrap them in ``_()``. This
extracts them (pybabel, babel.cfg), adds every new text to the Vietnamese and English catalogs in
server/translations/ (the English one untranslated, for a translator to fill in), never drops a
text (some are passed to ``_()`` as values, which extraction cannot see: it lists those it did not
find, for a person to check), and compiles the .mo files Flask-Babel reads. Translators edit the
.po files and run this again; tests/unit/test_translations.py fails while a .mo is stale or an
English text is missing.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = ROOT / "server" / "translations"
LANGS = ("vi", "en")


def po_path(lang: str) -> Path:
    return CATALOGS / lang / "LC_MESSAGES" / "messages.po"


def extracted() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run(
            [
                str(Path(sys.executable).with_name("pybabel")),
                "-q",
                "extract",
                "-F",
                "babel.cfg",
                "-k",
                "_",
                "--no-location",
                "--sort-output",
                "-o",
                str(pot),
                ".",
            ],
            cwd=ROOT,
            check=True,
        )
        with pot.open("rb") as fh:
            return [m.id for m in read_po(fh) if m.id]


def load(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, project="khudan")
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def save(catalog: Catalog, lang: str) -> None:
    path = po_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=True)
    with path.with_suffix(".mo").open("wb") as fh:
        write_mo(fh, catalog)


def main() -> None:
    found = extracted()
    for lang in LANGS:
        catalog = load(lang)
        added = 0
        for text in found:
            if text not in catalog:
                # Vietnamese is the source: its catalog repeats the text, so wording can be
                # changed there without touching the code; English waits for a translator.
                catalog.add(text, text if lang == "vi" else "")
                added += 1
        save(catalog, lang)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{lang}: {added} new, {len(missing)} untranslated")
    unseen = sorted({m.id for m in load("vi") if m.id} - set(found))
    if unseen:
        print(f"{len(unseen)} texts not found by extraction (passed to _() as values; kept):")
        for text in unseen:
            print(f"  {text}")


if __name__ == "__main__":
    main()
