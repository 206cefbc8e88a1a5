"""Write real .xlsx XLSForms from markdown tables (as pyodk's tests/utils/md_table.py does).

Test forms stay readable in ``tests/forms/*.md`` and still reach pyxform as the .xlsx files that
designers upload.
"""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook

FORMS = Path(__file__).parent / "forms"


def md_to_sheets(md: str) -> dict[str, list[list[str]]]:
    sheets: dict[str, list[list[str]]] = {}
    current = None
    for line in md.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0]:  # "| survey |" starts a sheet
            current = sheets.setdefault(cells[0], [])
            continue
        if current is not None:
            current.append(cells[1:])
    return sheets


def xlsx_bytes(md: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in md_to_sheets(md).items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([c if c != "" else None for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write_xlsx(md: str, path: Path) -> Path:
    path.write_bytes(xlsx_bytes(md))
    return path


def form_md(name: str, **replace: str) -> str:
    """A test form's markdown, with ``{placeholders}`` filled (e.g. a version)."""
    text = (FORMS / f"{name}.md").read_text(encoding="utf-8")
    for key, value in replace.items():
        text = text.replace("{" + key + "}", value)
    return text
