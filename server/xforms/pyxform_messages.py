"""pyxform's error and warning text, split into ``{sheet, row, message}`` items a designer can act on.

pyxform reports a place only inside its text: ``[row : 3] On the 'choices' sheet, the 'name' value
is invalid. ...``. It names the sheet for every sheet but one: survey rows are often reported as
just ``[row : 7] Use the max-pixels parameter ...`` (the rows of ``xls2json``'s survey walk), so a
row without a sheet is a survey row. Some messages carry no place at all (``Unknown question type
'x'.``); they become one item with ``sheet`` and ``row`` set to None. One text may hold several
messages, each starting at its own ``[row : N]``; text after a marker, newlines included, belongs
to that marker's message (pyxform appends the offending row's dump on a second line).

Pure: no pyxform import, so a new pyxform wording degrades to an item without a place, never to an
exception.
"""

from __future__ import annotations

import re

_ROW = re.compile(r"\[row\s*:\s*(\d+)\]\s*")
_SHEET = re.compile(r"^On the '([^']+)' sheet,?\s*", re.IGNORECASE)
_DEFAULT_SHEET = "survey"


def parse(text: str) -> list[dict]:
    """``"[row : 3] On the 'survey' sheet, the 'label' ..."`` ->
    ``[{"sheet": "survey", "row": 3, "message": "the 'label' ..."}]``."""
    text = (text or "").strip()
    if not text:
        return []
    items: list[dict] = []
    markers = list(_ROW.finditer(text))
    head = text[: markers[0].start()] if markers else text
    if head.strip():
        items.append(_item(None, head))
    for i, marker in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        items.append(_item(int(marker.group(1)), text[marker.end() : end]))
    return items


def _item(row: int | None, text: str) -> dict:
    text = text.strip()
    sheet = None
    match = _SHEET.match(text)
    if match:
        sheet = match.group(1)
        rest = text[match.end() :]
        text = rest[:1].upper() + rest[1:] if rest else text
    elif row is not None:
        sheet = _DEFAULT_SHEET
    return {"sheet": sheet, "row": row, "message": text}
