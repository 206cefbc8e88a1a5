"""An uploaded XLSForm is checked here before pyxform opens it: a 1.5 MB ``.xlsx`` that unzipped to
1.5 GB grew a worker by 3 GB, and a 60,000-question form took 127 s and 1.4 GB to convert.

An XLSX is a ZIP of XML parts. Each part is inflated as a stream and counted as it comes (the sizes
a ZIP declares can lie), read by expat without building a tree, and the file is refused as soon as
it passes a limit: the total unzipped size, a part's compression ratio, its nesting depth, the
longest cell (Excel's own cell limit), or the rows of the ``survey`` sheet.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass
from xml.parsers import expat

from .. import errors
from .safexml import parse

EXCEL_CELL_CHARS = 32_767  # the most characters Excel itself puts in a cell
_CHUNK = 64 * 1024
_MAX_PARTS = 1_000
_TEXT = {"t", "v", "f"}  # elements holding a cell's text, value or formula
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


@dataclass(frozen=True, slots=True)
class XlsxLimits:
    max_unzipped_bytes: int = 50_000_000
    max_ratio: int = 200
    max_questions: int = 5_000
    max_depth: int = 100


def check_xlsx(data: bytes, limits: XlsxLimits) -> None:
    """Raise a 413 or 400 problem if the workbook passes a limit; return quietly otherwise (a file
    that is no ZIP at all is left for pyxform to explain)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        return
    with book:
        parts = [i for i in book.infolist() if not i.is_dir()]
        if len(parts) > _MAX_PARTS:
            raise errors.XLSFORM_TOO_LARGE(reason=f"{len(parts)} parts in the ZIP")
        survey = _survey_part(book)
        budget = _Budget(limits.max_unzipped_bytes)
        for info in parts:
            _read_part(book, info, limits, budget, counts_rows=info.filename == survey)


class _Budget:
    def __init__(self, total: int):
        self.left = total
        self.total = total

    def take(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            mb = self.total // 1_000_000
            raise errors.XLSFORM_TOO_LARGE(reason=f"it unzips to more than {mb} MB")


class _PartReader:
    """expat handlers: depth, the longest cell text, and rows holding a value (the survey's)."""

    def __init__(self, limits: XlsxLimits, counts_rows: bool):
        self.limits = limits
        self.counts_rows = counts_rows
        self.depth = 0
        self.text = 0  # characters of the cell text being read
        self.in_text = False
        self.rows = 0
        self.row_has_value = False
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.characters
        # No DTD, no entities: an XLSX needs none (and expat would expand internal ones).
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.doctype

    def start(self, name: str, _attrs) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise errors.XML_TOO_DEEP(limit=self.limits.max_depth)
        local = name.rsplit(":", 1)[-1]
        if local in _TEXT:
            self.text, self.in_text = 0, True
        elif local == "row":
            self.row_has_value = False

    def end(self, name: str) -> None:
        self.depth -= 1
        self.in_text = False
        if self.counts_rows and name.rsplit(":", 1)[-1] == "row" and self.row_has_value:
            self.rows += 1
            if self.rows > self.limits.max_questions + 1:  # + the header row
                raise errors.FORM_TOO_MANY_QUESTIONS(limit=self.limits.max_questions)

    def characters(self, text: str) -> None:
        if not self.in_text:
            return
        self.text += len(text)
        if text.strip():
            self.row_has_value = True
        if self.text > EXCEL_CELL_CHARS:
            raise errors.XLSFORM_TOO_LARGE(
                reason=f"a cell holds over {EXCEL_CELL_CHARS} characters"
            )

    def doctype(self, *_args) -> None:
        raise errors.XML_DTD_FORBIDDEN()


def _read_part(book: zipfile.ZipFile, info, limits: XlsxLimits, budget: _Budget, counts_rows: bool):
    reader = _PartReader(limits, counts_rows) if info.filename.endswith((".xml", ".rels")) else None
    read = 0
    try:
        with book.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                read += len(chunk)
                budget.take(len(chunk))
                if read > _CHUNK and read > limits.max_ratio * max(info.compress_size, 1):
                    raise errors.XLSFORM_TOO_LARGE(
                        reason=f"{info.filename} is compressed over {limits.max_ratio} times"
                    )
                if reader is not None:
                    reader.parser.Parse(chunk, False)
            if reader is not None:
                reader.parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise errors.XLSFORM_INVALID(reason=f"{info.filename}: {exc}") from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise errors.XLSFORM_INVALID(reason=f"{info.filename}: {exc}") from None


def _survey_part(book: zipfile.ZipFile) -> str | None:
    """The ZIP name of the sheet named ``survey`` (workbook.xml and its relationships), if any."""
    try:
        workbook = parse(_small(book, "xl/workbook.xml"))
        rels = parse(_small(book, "xl/_rels/workbook.xml.rels"))
    except (KeyError, errors.Problem):
        return None
    target = None
    for sheet in workbook.iter(f"{{{_MAIN_NS}}}sheet"):
        if (sheet.get("name") or "").strip().lower() == "survey":
            target = sheet.get(f"{{{_REL_NS}}}id")
    for rel in rels:
        if target is not None and rel.get("Id") == target:
            path = rel.get("Target") or ""
            return path.lstrip("/") if path.startswith("/") else posixpath.normpath("xl/" + path)
    return None


def _small(book: zipfile.ZipFile, name: str) -> bytes:
    """A part that is small in any real workbook; a huge one is left to the streaming check."""
    info = book.getinfo(name)
    if info.file_size > 1_000_000:
        raise KeyError(name)
    with book.open(info) as stream:
        return stream.read(1_000_001)
