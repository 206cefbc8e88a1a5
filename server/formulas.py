"""Text stays text in every spreadsheet khudan writes (CSV and XLSX), so a cell a person or a
phone typed can never run as a formula when the file is opened (CSV/formula injection).

CSV has no types: Excel and LibreOffice run a cell starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return, so such text gets a leading ``'`` (OWASP's advice); a plain number such as
``-2.5`` is a number, not user text, and is left alone. XLSX has types: openpyxl stores a string
starting with ``=`` as a formula, so :func:`workbook` stores every string as a string.
"""

from __future__ import annotations

import csv
import functools
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A negative number written as text ("-5", "-1.5"): a spreadsheet reads it as that number.
_NUMBER = re.compile(r"-(0|[1-9]\d{0,14})(\.\d{1,15})?")


def defuse(text: str) -> str:
    """``'=1+1`` for ``=1+1``; numbers (``-5``, ``-1.5``) and other text unchanged."""
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


# CSV dialects a person can ask for: the standard one (comma, decimal point), and the one Excel
# expects on a computer set to Vietnamese (semicolon between cells, decimal comma), which opens
# with a double click into the right columns and numbers.
CSV_DIALECTS = ("standard", "excel-vn")


class _DefusingWriter:
    """``csv.writer`` whose text cells are defused; numbers and empty cells pass as they are
    (in the ``excel-vn`` dialect with a decimal comma)."""

    def __init__(self, out, dialect: str = "standard", **options):
        self._comma = dialect == "excel-vn"
        if self._comma:
            options["delimiter"] = ";"
        self._writer = csv.writer(out, **options)

    def _cell(self, value):
        if isinstance(value, str):
            return defuse(value)
        if self._comma and isinstance(value, float):
            return repr(value).replace(".", ",")
        return value

    def writerow(self, row) -> None:
        self._writer.writerow([self._cell(v) for v in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out, lineterminator: str = "\r\n", dialect: str = "standard") -> _DefusingWriter:
    """The CSV writer for every CSV a person may open in a spreadsheet (``CSV_DIALECTS``)."""
    return _DefusingWriter(out, dialect, lineterminator=lineterminator)


def workbook():
    """An openpyxl write-only workbook in which a string is always a string cell, never a formula."""
    return _text_workbook()()


@functools.cache
def _text_workbook():
    """The workbook class, made at first use: openpyxl loads when a workbook is written, not with
    every serving process (a third of a second of each start-up)."""
    from openpyxl import Workbook as OpenpyxlWorkbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    class TextSheet(WriteOnlyWorksheet):
        def _values_to_row(self, values, row_idx):
            for cell in super()._values_to_row(values, row_idx):
                if cell.data_type == "f":  # openpyxl's guess for a string starting with "="
                    cell.data_type = "s"
                yield cell

    class TextWorkbook(OpenpyxlWorkbook):
        def __init__(self) -> None:
            super().__init__(write_only=True)

        def create_sheet(self, title=None, index=None):
            sheet = TextSheet(parent=self, title=title)
            self._add_sheet(sheet=sheet, index=index)
            return sheet

    return TextWorkbook
