"""Submission exports: GET /forms/<form_id>/submissions.xlsx|.csv, with the shipped poverty review
(a real XLSForm through pyxform, a "member" repeat group, vi/en labels) and two JavaRosa-filled
households sent through the Collect client: H1 in Xã Nhơn Châu (21607, 5 members, a JPEG of the
house, received) and H2 in Phường Quy Nhơn Bắc (21553, 4 members, flagged hasIssues by ingest).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from collect import CollectClient, flask_sender
from factories import domain_sample, jpeg
from openpyxl import load_workbook
from sqlalchemy import select

from khudan.app import create_app
from khudan.models import AuditEvent
from khudan.services import forms, jobs

FORMS = Path(__file__).resolve().parents[2] / "forms"
PHOTO = jpeg(width=320, height=240, color=(200, 120, 40))
H1 = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
H2 = "uuid:08ac4fdd-e12d-43d4-bd99-605082c28f66"
URL = "/api/v1/forms/poverty_review/submissions"
PASSWORD = "correct horse"


@pytest.fixture
def households(registry, db, storage, collector):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    h1 = domain_sample("pov1.xml", **{"<house_photo />": "<house_photo>house.jpg</house_photo>"})
    assert [r.status for r in collector.submit(h1, {"house.jpg": PHOTO})] == [201]
    assert [r.status for r in collector.submit(domain_sample("pov2.xml"))] == [201]


def sheet(book, name) -> list[tuple]:
    return list(book[name].iter_rows(values_only=True))


def table(rows: list[tuple]) -> list[dict]:
    """Rows under their header, as dicts."""
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def csv_rows(data: bytes) -> list[dict]:
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM, for Excel
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def get(client, headers, url):
    """A 200 answer, read whole and closed (closing deletes an XLSX's temporary file)."""
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    r.get_data()
    r.close()
    return r


def test_xlsx_main_sheet_and_a_repeat_sheet_linked_to_its_parent(client, login, households):
    r = get(client, login(), f"{URL}.xlsx")
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "poverty_review.xlsx" in r.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["poverty_review", "member"]
    main = sheet(book, "poverty_review")
    assert main[0][:11] == (
        "submission_id",
        "instance_id",
        "submitter",
        "submitted_at",
        "review_state",
        "province_code",
        "commune_code",
        "area_code",
        "start",
        "end",
        "today",
    )
    assert "household-period" in main[0] and "b2-deprivation_count" in main[0]
    assert "meta-instanceID" in main[0] and "house_photo" in main[0]
    assert main[0][-1] == "processed_at"  # after the questions, as Central puts its own
    assert not any(name.startswith("member") for name in main[0])  # repeats have their sheet
    h1, h2 = table(main)
    assert (h1["instance_id"], h1["submitter"], h1["review_state"]) == (H1, "thu", "received")
    assert (h1["commune_code"], h1["area_code"]) == ("21607", "21607.T01")
    assert h1["household-household_code"] == "NC-T01-017"
    assert h1["household-household_size"] == 5  # an int question: a number
    assert h1["dwelling-floor_area"] == 36.0  # a decimal
    assert h1["household-ethnic_minority"] == "no"  # values, not labels, by default
    assert h1["house_photo"] == "house.jpg"
    assert h1["submitted_at"].year >= 2026  # a date and time cell
    assert h1["processed_at"] >= h1["submitted_at"]  # its checks and facts are done
    assert (h2["instance_id"], h2["review_state"]) == (H2, "hasIssues")

    members = table(sheet(book, "member"))
    assert list(members[0])[:4] == ["PARENT_KEY", "KEY", "index", "m_name"]
    assert len(members) == 9  # 5 + 4
    first = members[:5]
    assert [m["PARENT_KEY"] for m in first] == [H1] * 5
    assert [m["KEY"] for m in first] == [f"{H1}/member[{i}]" for i in range(1, 6)]
    assert [m["index"] for m in first] == [1, 2, 3, 4, 5]
    assert first[1]["m_name"] == "Trần Thị Lan" and first[1]["m_sex"] == "nu"
    assert first[1]["m_birth_year"] == 1983
    assert {m["PARENT_KEY"] for m in members[5:]} == {H2}


def test_a_submission_still_being_processed_has_no_processed_at(
    settings, db, storage, registry, make_user, client, login
):
    """Its review state and problems are not known yet: the file says so, row by row."""
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    queued = create_app(settings.but(process_inline=False), db=db, storage=storage)
    make_user("thu", "collector", areas=("52",))
    phone = CollectClient(flask_sender(queued.test_client()), "http://localhost", "thu", PASSWORD)
    assert [r.status for r in phone.submit(domain_sample("pov1.xml"))] == [201]
    admin = login()
    [row] = csv_rows(get(client, admin, f"{URL}.csv").data)
    assert (row["instance_id"], row["processed_at"]) == (H1, "")
    book = load_workbook(io.BytesIO(get(client, admin, f"{URL}.xlsx?labels=vi").data))
    [row] = table(sheet(book, "poverty_review"))
    assert row["Xử lý xong lúc (UTC)"] is None and row["Trạng thái duyệt"] == "Đã nhận"
    assert jobs.drain(jobs.Context.of(settings, db, storage)) == 1
    [row] = csv_rows(get(client, admin, f"{URL}.csv").data)
    assert row["processed_at"].endswith("Z") and row["processed_at"] >= row["submitted_at"]


def test_labels_vi_and_en_give_choice_labels_and_question_headers(client, login, households):
    admin = login()
    book = load_workbook(io.BytesIO(get(client, admin, f"{URL}.xlsx?labels=vi").data))
    main = table(sheet(book, "poverty_review"))
    assert main[0]["Trạng thái duyệt"] == "Đã nhận" and main[1]["Trạng thái duyệt"] == "Có vấn đề"
    assert main[0]["Năm rà soát"] == "Năm 2025"
    members = table(sheet(book, "member"))
    assert list(members[0])[:5] == [
        "PARENT_KEY",
        "KEY",
        "Thứ tự",
        "Họ và tên thành viên",
        "Giới tính",
    ]
    assert [m["Giới tính"] for m in members[:2]] == ["Nam", "Nữ"]
    english = load_workbook(io.BytesIO(get(client, admin, f"{URL}.xlsx?labels=en").data))
    members = table(sheet(english, "member"))
    assert [m["Sex"] for m in members[:2]] == ["Male", "Female"]
    assert table(sheet(english, "poverty_review"))[0]["Review state"] == "Received"
    r = client.get(f"{URL}.xlsx?labels=fr", headers=admin)
    assert r.status_code == 422 and "labels" in r.json["details"]["errors"]


def test_csv_is_streamed_and_parses_main_and_repeat_tables(client, login, households):
    admin = login()
    r = client.get(f"{URL}.csv", headers=admin)
    assert r.status_code == 200 and r.is_streamed  # a generator, not a body built in memory
    assert r.mimetype == "text/csv"
    main = csv_rows(r.get_data())
    assert [row["instance_id"] for row in main] == [H1, H2]
    assert main[0]["household-household_size"] == "5"
    assert main[0]["submitted_at"].endswith("Z")
    members = csv_rows(get(client, admin, f"{URL}.csv?repeat=member").data)
    assert len(members) == 9 and members[4]["KEY"] == f"{H1}/member[5]"
    assert members[4]["m_name"] == "Lê Thị Bảy"
    labelled = csv_rows(get(client, admin, f"{URL}.csv?repeat=member&labels=vi").data)
    assert labelled[0]["Giới tính"] == "Nam"
    bad = client.get(f"{URL}.csv?repeat=nosuch", headers=admin)
    assert bad.status_code == 422 and "member" in bad.json["details"]["errors"]["repeat"][0]
    assert client.get(f"{URL}.xlsx?repeat=member", headers=admin).status_code == 422


def test_a_sheet_longer_than_excel_allows_is_a_clear_422(
    client, login, households, monkeypatch, db
):
    monkeypatch.setattr("khudan.xlsxstream.MAX_ROWS", 6)  # header + 5 members fit, the 6th not
    admin = login()
    r = client.get(f"{URL}.xlsx", headers=admin)
    assert r.status_code == 422 and r.json["code"] == "422.8"
    assert "member" in r.json["message"] and "CSV" in r.json["message"]
    with db.session() as s:  # no file, so no export in the audit log
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "submission.export")) is None
    assert len(csv_rows(get(client, admin, f"{URL}.csv?repeat=member").data)) == 9


def test_filters_and_scope_follow_the_submissions_list(client, login, households):
    def instance_ids(headers, query=""):
        return [
            row["instance_id"] for row in csv_rows(get(client, headers, f"{URL}.csv{query}").data)
        ]

    admin = login()
    assert instance_ids(admin, "?period=2026") == [H2]
    assert instance_ids(admin, "?area=21607") == [H1]
    assert instance_ids(admin, "?area=21607.T01&state=received") == [H1]
    assert instance_ids(admin, "?state=approved") == []
    assert instance_ids(login("lan", "supervisor", areas=("21607",))) == [H1]
    assert instance_ids(login("hoa", "supervisor", areas=("21553",)), "?area=21607") == []
    outside = login("vy", "supervisor", areas=("21556",))  # another commune: nothing
    assert instance_ids(outside) == []
    book = load_workbook(io.BytesIO(get(client, outside, f"{URL}.xlsx").data))
    assert len(sheet(book, "poverty_review")) == 1 and len(sheet(book, "member")) == 1
    assert instance_ids(login("thu2", "collector", areas=("52",))) == []  # not theirs
    designer = client.get(f"{URL}.xlsx", headers=login("dung", "designer"))
    assert designer.status_code == 403
    assert client.get(f"{URL}.csv").status_code == 401
    missing = client.get("/api/v1/forms/nosuch/submissions.csv", headers=admin)
    assert missing.status_code == 404 and missing.json["code"] == "404.1"


def test_zip_holds_the_workbook_and_the_photos_byte_for_byte(client, login, households):
    r = client.get(f"{URL}.xlsx?attachments=true", headers=login())
    assert r.status_code == 200 and r.is_streamed and r.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(r.get_data()))
    photo = f"media/{H1.replace(':', '_')}/house.jpg"
    assert archive.namelist() == ["poverty_review.xlsx", photo]
    assert archive.read(photo) == PHOTO
    assert archive.getinfo(photo).compress_type == zipfile.ZIP_STORED
    assert archive.testzip() is None
    book = load_workbook(io.BytesIO(archive.read("poverty_review.xlsx")))
    assert len(sheet(book, "member")) == 10


def test_zip_of_csv_tables_with_photos(client, login, households):
    r = client.get(f"{URL}.csv?attachments=true", headers=login())
    archive = zipfile.ZipFile(io.BytesIO(r.get_data()))
    photo = f"media/{H1.replace(':', '_')}/house.jpg"
    assert archive.namelist() == ["poverty_review.csv", "poverty_review-member.csv", photo]
    assert len(csv_rows(archive.read("poverty_review.csv"))) == 2
    members = csv_rows(archive.read("poverty_review-member.csv"))
    assert [m["PARENT_KEY"] for m in members] == [H1] * 5 + [H2] * 4
    assert archive.read(photo) == PHOTO
    # A supervisor of the other commune gets neither H1's row nor its photo.
    r = client.get(
        f"{URL}.csv?attachments=true", headers=login("hoa", "supervisor", areas=("21553",))
    )
    archive = zipfile.ZipFile(io.BytesIO(r.get_data()))
    assert archive.namelist() == ["poverty_review.csv", "poverty_review-member.csv"]


def test_each_export_is_audited(client, login, households, db):
    get(client, login(), f"{URL}.csv?labels=vi&period=2025")
    with db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "submission.export"))
        assert event.target == "form:poverty_review"
        assert event.details == {
            "format": "csv",
            "submissions": 1,
            "attachments": False,
            "labels": "vi",
            "period": "2025",
        }


def test_cli_writes_the_same_files(households, database_url, settings, tmp_path):
    from click.testing import CliRunner

    from khudan.cli import main

    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(settings.media_root),
    }
    out = tmp_path / "ho-ngheo.zip"
    args = ["export", "submissions", "poverty_review", "--attachments", "-o", str(out)]
    r = CliRunner().invoke(main, args, env=env)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[-1] == f"{out}: 2 submission(s), {out.stat().st_size} bytes"
    archive = zipfile.ZipFile(out)
    assert archive.read(f"media/{H1.replace(':', '_')}/house.jpg") == PHOTO
    book = load_workbook(io.BytesIO(archive.read("poverty_review.xlsx")))
    assert [row["instance_id"] for row in table(sheet(book, "poverty_review"))] == [H1, H2]

    members = tmp_path / "members.csv"
    args = ["export", "submissions", "poverty_review", "--format", "csv", "--repeat", "member"]
    more = ["--labels", "en", "--period", "2026", "-o", str(members)]
    r = CliRunner().invoke(main, [*args, *more], env=env)
    assert r.exit_code == 0, r.output
    assert [m["Sex"] for m in csv_rows(members.read_bytes())] == [
        "Female",
        "Male",
        "Female",
        "Male",
    ]
    assert not list(tmp_path.glob("*.part"))
    r = CliRunner().invoke(
        main, [*args[:3], "-o", str(tmp_path / "x.xlsx"), "--repeat", "m"], env=env
    )
    assert r.exit_code == 2 and "--repeat" in r.output
    r = CliRunner().invoke(main, ["export", "submissions", "nosuch", "-o", str(out)], env=env)
    assert r.exit_code == 1 and "nosuch" in r.output


def clash_xml(n: int, phone: str, amount: str, note: str, indexes: tuple[str, ...]) -> bytes:
    """A submission of tests/forms/export_clash.md as JavaRosa writes it."""
    items = "".join(f"<item><index>{i}</index></item>" for i in indexes)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="export_clash" version="1">'
        f"<submitter>Chị Lan</submitter><phone>{phone}</phone><amount>{amount}</amount>"
        f"<note>{note}</note>{items}"
        f"<meta><instanceID>uuid:00000000-0000-4000-8000-00000000000{n}</instanceID></meta></data>"
    ).encode()


@pytest.fixture
def clashing(publish, collector):
    publish("export_clash")
    sent = [
        clash_xml(1, "12", "2.50", "=HYPERLINK(&quot;http://x&quot;)", ("7", "1_000")),
        clash_xml(2, "0912345678", "nan", "-1+2", ("-3",)),
        clash_xml(3, "-4", "Infinity", "@SUM(A1)", ()),
        clash_xml(4, "1234567890123456", "1e5", "+84 912 345 678", ()),
        clash_xml(5, "0", "-0.5", "-2.5", ()),
    ]
    for xml in sent:
        assert [r.status for r in collector.submit(xml)] == [201]


CLASH = "/api/v1/forms/export_clash/submissions"


def test_only_plain_numbers_become_numbers_in_the_workbook(client, login, clashing):
    book = load_workbook(io.BytesIO(get(client, login(), f"{CLASH}.xlsx").data))
    main = table(sheet(book, "export_clash"))
    assert [row["phone"] for row in main] == [
        12,
        "0912345678",  # a phone number keeps its leading 0
        -4,
        "1234567890123456",  # more digits than Excel keeps
        0,
    ]
    assert [row["amount"] for row in main] == [2.5, "nan", "Infinity", "1e5", -0.5]
    assert [row["index (index)"] for row in table(sheet(book, "item"))] == [7, "1_000", -3]


def test_no_header_twice_when_questions_are_named_like_the_fixed_columns(client, login, clashing):
    admin = login()
    for labels in ("values", "vi", "en"):
        book = load_workbook(io.BytesIO(get(client, admin, f"{CLASH}.xlsx?labels={labels}").data))
        for name in ("export_clash", "item"):
            header = sheet(book, name)[0]
            assert len(set(header)) == len(header), (labels, name, header)
    values = load_workbook(io.BytesIO(get(client, admin, f"{CLASH}.xlsx").data))
    assert sheet(values, "export_clash")[0][2] == "submitter"
    assert sheet(values, "export_clash")[0][8:10] == ("submitter (submitter)", "phone")
    assert sheet(values, "item")[0] == ("PARENT_KEY", "KEY", "index", "index (index)")
    vi = load_workbook(io.BytesIO(get(client, admin, f"{CLASH}.xlsx?labels=vi").data))
    assert sheet(vi, "export_clash")[0][8:11] == (
        "Người gửi (submitter)",
        "Mã phiếu (phone)",
        "Số tiền",
    )
    assert sheet(vi, "item")[0][2:] == ("Thứ tự", "Thứ tự (index)")


def test_csv_defuses_formulas_in_every_labelling(client, login, clashing):
    """tests/security/test_formula_injection.py has the hostile cases; here the clash form's."""
    admin = login()
    expected = ['\'=HYPERLINK("http://x")', "'-1+2", "'@SUM(A1)", "'+84 912 345 678", "-2.5"]
    people = csv_rows(get(client, admin, f"{CLASH}.csv?labels=vi").data)
    assert [row["Ghi chú"] for row in people] == expected
    assert people[1]["Mã phiếu (phone)"] == "0912345678"
    raw = csv_rows(get(client, admin, f"{CLASH}.csv").data)
    assert [row["note"] for row in raw] == expected
    url = f"{CLASH}.csv?attachments=true&labels=en"
    zipped = zipfile.ZipFile(io.BytesIO(get(client, admin, url).data))
    assert csv_rows(zipped.read("export_clash.csv"))[2]["Ghi chú"] == "'@SUM(A1)"
    items = csv_rows(zipped.read("export_clash-item.csv"))
    assert [row["Thứ tự"] for row in items] == ["7", "1_000", "-3"]  # the repeat tables too
