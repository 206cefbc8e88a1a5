"""Hostile XLSForms (#18): a small .xlsx that unzips to gigabytes, a part nested thousands deep, a
cell longer than Excel allows, a survey of tens of thousands of questions. Each is refused before
pyxform opens it, as the designer uploads it (POST /api/v1/forms, multipart); the shipped forms
pass.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from xlsform import form_md, xlsx_bytes

from khudan import errors
from khudan.app import create_app
from khudan.xforms.xlsx_limits import XlsxLimits, check_xlsx

SHIPPED = Path(__file__).resolve().parents[2] / "forms"


@pytest.fixture
def designer_client(settings, db, make_user):
    """A designer logged in to an app with small XLSForm limits (1 MB unzipped, 100 questions)."""
    app = create_app(
        settings.but(xlsform_max_unzipped_bytes=1_000_000, form_max_questions=100), db=db
    )
    client = app.test_client()
    make_user("dee", "designer")
    r = client.post("/api/v1/sessions", json={"username": "dee", "password": "correct horse"})
    assert r.status_code == 201
    return client, {"Authorization": f"Bearer {r.json['token']}"}


def upload(designer_client, content: bytes):
    client, headers = designer_client
    data = {"file": (io.BytesIO(content), "form.xlsx")}
    return client.post(
        "/api/v1/forms", headers=headers, data=data, content_type="multipart/form-data"
    )


def with_part(xlsx: bytes, name: str, content: bytes) -> bytes:
    """The workbook with one more part (or one part replaced), DEFLATE-compressed as Excel does."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info), zipfile.ZIP_DEFLATED)
        target.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def simple() -> bytes:
    return xlsx_bytes(form_md("simple", version="1"))


def test_a_zip_bomb_is_refused_before_pyxform(designer_client):
    bomb = with_part(simple(), "xl/media/padding.xml", b"<a>" + b" " * 5_000_000 + b"</a>")
    assert len(bomb) < 30_000  # small on the wire
    r = upload(designer_client, bomb)
    assert r.status_code == 413 and r.json["code"] == "413.22"
    assert "1 MB" in r.json["message"]


def test_a_part_compressed_beyond_any_workbook_is_refused_under_the_total():
    dense = with_part(simple(), "xl/media/dense.xml", b"<a>" + b"0" * 900_000 + b"</a>")
    with pytest.raises(errors.Problem) as refused:
        check_xlsx(dense, XlsxLimits(max_unzipped_bytes=10_000_000, max_ratio=200))
    assert refused.value.code == "413.22" and "compressed over 200 times" in refused.value.message


def test_a_part_nested_thousands_deep_is_a_400(designer_client):
    deep = with_part(simple(), "xl/media/deep.xml", b"<a>" * 5_000 + b"</a>" * 5_000)
    r = upload(designer_client, deep)
    assert r.status_code == 400 and r.json["code"] == "400.21"


def test_a_cell_longer_than_excel_allows_is_refused(designer_client):
    """Excel and openpyxl never write one (openpyxl cuts at 32,767): the file is made by hand."""
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<si><t>" + b"x" * 40_000 + b"</t></si></sst>"
    )
    r = upload(designer_client, with_part(simple(), "xl/sharedStrings.xml", strings))
    assert r.status_code == 413 and "32767 characters" in r.json["message"]


def test_a_survey_with_more_questions_than_the_cap_is_refused(designer_client):
    sheets = {
        "survey": [["type", "name", "label"]] + [["text", f"q{i}", f"Câu {i}"] for i in range(101)],
        "settings": [["form_id", "version"], ["many", "1"]],
    }
    r = upload(designer_client, _book(sheets))
    assert r.status_code == 413
    assert r.json["message"] == errors.FORM_TOO_MANY_QUESTIONS(limit=100).message_vi
    sheets["survey"] = sheets["survey"][:101]  # 100 questions: at the cap
    assert upload(designer_client, _book(sheets)).status_code == 201


@pytest.mark.parametrize("path", sorted(SHIPPED.glob("*.xlsx")), ids=lambda p: p.name)
def test_the_shipped_forms_pass_the_default_limits(path):
    check_xlsx(path.read_bytes(), XlsxLimits())


def _book(sheets: dict[str, list[list[str]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([c or None for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
