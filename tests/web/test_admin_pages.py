"""The designer and admin pages through Flask's client: publishing XLSForms (pyxform's errors with
their sheet and row), form states and media, users and their phones' QR codes, and the two-step
import of residential areas."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import zlib

import pytest
from sqlalchemy import select
from xlsform import form_md, xlsx_bytes

from khudan.models import Area, AuditEvent, Form, FormState, User
from khudan.services import areas

from .conftest import PASSWORD, csrf_of

VILLAGES_CSV = "name,label\nt1,Thôn Phú Thạnh\nt2,Thôn An Lợi\n".encode()
# A select_one whose list is not on the choices sheet, on row 3 of the survey sheet.
BROKEN = """
| survey |
| | type | name | label |
| | text | ten | Tên |
| | select_one mau | mau | Màu |
| choices |
| | list_name | name | label |
| | yn | 1 | Có |
| settings |
| | form_id | version |
| | broken | 1 |
"""


def upload_form(client, token, content: bytes, name="form.xlsx", media=()):
    data = {"csrf_token": token, "file": (io.BytesIO(content), name)}
    if media:
        data["media"] = [(io.BytesIO(body), filename) for filename, body in media]
    return client.post("/app/forms", data=data, content_type="multipart/form-data")


def household(version: str = "1", title: str = "Hộ gia đình") -> bytes:
    return xlsx_bytes(form_md("household", version=version).replace("Hộ gia đình", title))


def events(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def table_rows(page: str, css_class: str) -> list[list[str]]:
    """The text of each body cell of ``<table class="css_class">``."""
    table = re.search(rf'<table class="{css_class}">(.*?)</table>', page, re.S).group(1)
    body = table.split("<tbody>")[1]
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.fixture
def registry(db, official_areas):
    """Provinces and communes, and thôn T01 (120 households) and T02 of Xã Nhơn Châu (21607)."""
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {
                    "commune_code": "21607",
                    "code": "T01",
                    "name": "Thôn Bắc",
                    "households_total": "120",
                },
                {"commune_code": "21607", "code": "T02", "name": "Thôn Trung"},
            ],
        )
        s.commit()


# -- forms ------------------------------------------------------------------------------------


def test_a_broken_xlsform_shows_each_error_with_its_sheet_and_row(client, web_login, db):
    token = web_login("minh", "designer")
    reply = upload_form(client, token, xlsx_bytes(BROKEN), "broken.xlsx")
    assert reply.status_code == 422
    assert "Không chuyển được broken.xlsx thành biểu mẫu." in reply.text
    assert table_rows(reply.text, "xlsform-errors") == [
        ["survey", "3", "List name not in choices sheet: mau"]
    ]
    with db.session() as s:
        assert s.scalars(select(Form)).all() == []


def test_an_upload_that_is_not_an_xlsform_is_refused(client, web_login):
    token = web_login("minh", "designer")
    reply = upload_form(client, token, b"<h:html/>", "form.xml")
    assert reply.status_code == 415 and "không phải XLSForm" in reply.text
    reply = upload_form(client, token, b"not a workbook", "form.xlsx")
    assert reply.status_code == 422 and "Không chuyển được form.xlsx" in reply.text


def publish_draft(client, token, form_id: str):
    return client.post(f"/app/forms/{form_id}/draft/publish", data={"csrf_token": token})


def test_upload_a_draft_publish_it_bump_the_version_and_download_the_xlsx(client, web_login, db):
    token = web_login("minh", "designer")
    first = household("1")
    reply = upload_form(
        client, token, first, "household.xlsx", media=[("villages.csv", VILLAGES_CSV)]
    )
    assert reply.status_code == 303 and reply.headers["Location"] == "/app/forms/household/draft"
    assert events(db, "form.publish") == []  # a draft: phones do not see it yet
    published = publish_draft(client, token, "household")
    assert published.headers["Location"] == "/app/forms/household"
    page = client.get("/app/forms/household").text
    assert "Đã xuất bản household phiên bản 1." in page
    assert "Còn thiếu" not in page  # villages.csv came with it

    again = upload_form(client, token, first, "household.xlsx")
    assert again.status_code == 409 and "đã được xuất bản" in again.text

    second = household("2", "Hộ gia đình (sửa)")
    assert upload_form(client, token, second, "household.xlsx").status_code == 303
    assert "Hộ gia đình (sửa)" not in client.get("/app/forms/household").text
    assert publish_draft(client, token, "household").status_code == 303
    page = client.get("/app/forms/household").text
    assert "Hộ gia đình (sửa)" in page and "Còn thiếu" not in page  # media kept from version 1
    for version, content in (("1", first), ("2", second)):
        download = client.get(f"/app/forms/household/versions/{version}.xlsx")
        assert download.status_code == 200 and download.data == content
        assert download.headers["Content-Disposition"].endswith(f"household-{version}.xlsx")
    assert client.get("/app/forms/household/versions/2.xml").data.startswith(b"<?xml")
    listing = client.get("/app/forms").text
    assert 'href="/app/forms/household"' in listing and "Đang mở" in listing
    assert [e.details["version"] for e in events(db, "form.publish")] == ["1", "2"]


def test_change_a_forms_state(client, web_login, db, publish):
    publish("household")
    token = web_login("minh", "designer")
    reply = client.post(
        "/app/forms/household/state", data={"csrf_token": token, "state": "closing"}
    )
    assert reply.status_code == 303
    assert (
        "Đã chuyển biểu mẫu sang trạng thái: Sắp đóng." in client.get("/app/forms/household").text
    )
    with db.session() as s:
        assert s.scalar(select(Form.state)) == FormState.CLOSING
    reply = client.post("/app/forms/household/state", data={"csrf_token": token, "state": "gone"})
    assert reply.status_code == 422
    assert [(e.details["before"], e.details["after"]) for e in events(db, "form.state")] == [
        ("open", "closing")
    ]


def test_upload_and_download_a_media_file(client, web_login, publish):
    publish("household", media={})
    token = web_login("minh", "designer")
    assert "Còn thiếu" in client.get("/app/forms/household").text
    reply = client.post(
        "/app/forms/household/media",
        data={
            "csrf_token": token,
            "name": "villages.csv",
            "file": (io.BytesIO(VILLAGES_CSV), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 303
    page = client.get("/app/forms/household").text
    assert "Đã tải lên villages.csv." in page and "Còn thiếu" not in page
    with client.get("/app/forms/household/media/villages.csv") as download:
        assert download.data == VILLAGES_CSV
    reply = client.post(
        "/app/forms/household/media",
        data={"csrf_token": token, "name": "other.csv", "file": (io.BytesIO(b"a"), "other.csv")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 404 and "other.csv" in reply.text


# -- users ------------------------------------------------------------------------------------


def test_create_a_collector_with_areas_and_a_password_shown_once(client, web_login, db, registry):
    token = web_login("quan", "admin")
    form = {
        "csrf_token": token,
        "username": "thu",
        "role": "collector",
        "areas": "21607.T01, 99999",
    }
    reply = client.post("/app/users", data=form)
    assert reply.status_code == 422
    assert "Dữ liệu không hợp lệ: không có mã địa bàn 99999 trong danh mục" in reply.text
    with db.session() as s:
        assert s.scalar(select(User).where(User.username == "thu")) is None

    reply = client.post("/app/users", data={**form, "areas": "21607.T01\n21607.T02"})
    assert reply.status_code == 200
    password = re.search(r'<code class="secret" id="password">([^<]+)</code>', reply.text).group(1)
    other = client.application.test_client()
    login = other.post(
        "/app/login",
        data={
            "username": "thu",
            "password": password,
            "csrf_token": csrf_of(other.get("/app/login").text),
        },
    )
    assert login.status_code == 302
    listing = client.get("/app/users").text
    assert password not in listing and '<span class="badge">21607.T02</span>' in listing
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "thu"))
        assert (user.role, user.area_codes) == ("collector", ["21607.T01", "21607.T02"])
    assert client.post("/app/users", data={**form, "areas": "21607.T01"}).status_code == 409


def test_a_collector_whose_area_was_not_picked_is_refused(client, web_login, db, registry):
    """Issue 13: an area typed but not picked from the list arrives empty; the collector is not
    created without one (it would see nothing and count nowhere)."""
    token = web_login("quan", "admin")
    form = {"csrf_token": token, "username": "thu", "role": "collector", "areas": ""}
    reply = client.post("/app/users", data=form)
    assert reply.status_code == 422
    assert "cần ít nhất một địa bàn" in reply.text
    with db.session() as s:
        assert s.scalar(select(User).where(User.username == "thu")) is None
    designer = client.post("/app/users", data={**form, "username": "ha", "role": "designer"})
    assert designer.status_code == 200  # a designer has no areas


def test_edit_areas_disable_and_enable(client, web_login, make_user, db, registry):
    make_user("thu", "collector", areas=("21607.T01",))
    token = web_login("quan", "admin")
    reply = client.post("/app/users/thu/areas", data={"csrf_token": token, "areas": "21607"})
    assert reply.status_code == 303
    assert "Đã lưu địa bàn của thu." in client.get("/app/users/thu").text
    assert (
        client.post("/app/users/thu/areas", data={"csrf_token": token, "areas": "x1"}).status_code
        == 422
    )

    assert (
        client.post(
            "/app/users/thu/enabled", data={"csrf_token": token, "enabled": "0"}
        ).status_code
        == 303
    )
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "thu"))
        assert (user.enabled, user.area_codes) == (False, ["21607"])
    other = client.application.test_client()
    data = {
        "username": "thu",
        "password": PASSWORD,
        "csrf_token": csrf_of(other.get("/app/login").text),
    }
    assert other.post("/app/login", data=data).status_code == 401
    client.post("/app/users/thu/enabled", data={"csrf_token": token, "enabled": "1"})
    assert other.post("/app/login", data=data).status_code == 302
    assert [list(e.details) for e in events(db, "user.update")] == [
        ["web", "areas"],
        ["web", "enabled"],
        ["web", "enabled"],
    ]


def test_the_last_admin_cannot_be_disabled(client, web_login, db):
    token = web_login("quan", "admin")
    client.post("/app/users/quan/enabled", data={"csrf_token": token, "enabled": "0"})
    assert "quản trị viên cuối cùng" in client.get("/app/users/quan").text
    with db.session() as s:
        assert s.scalar(select(User.enabled).where(User.username == "quan")) is True


def test_a_collectors_qr_code_sets_up_odk_collect(client, web_login, make_user, db, publish):
    import zxingcpp
    from PIL import Image

    publish("household")
    make_user("thu", "collector", areas=("52",))
    token = web_login("quan", "admin")
    assert "Tạo mã QR" in client.get("/app/users/thu/qr").text  # a GET issues nothing
    assert events(db, "user.token.issue") == []

    page = client.post("/app/users/thu/qr", data={"csrf_token": token}).text
    assert "Mã QR này chứa thông tin đăng nhập của thu." in page
    src = re.search(r'<img src="data:image/png;base64,([^"]+)"', page).group(1)
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(src))))
    settings = json.loads(zlib.decompress(base64.b64decode(code.text)))
    server_url = settings["general"]["server_url"]
    assert server_url in page and re.fullmatch(r"http://localhost/key/[A-Za-z0-9]{64}", server_url)
    assert settings["project"]["name"] == "khudan (thu)"
    path = server_url.removeprefix("http://localhost")
    listed = client.get(f"{path}/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert listed.status_code == 200 and b"household" in listed.data

    client.post("/app/users/thu/tokens/revoke", data={"csrf_token": token})
    assert client.get(f"{path}/formList", headers={"X-OpenRosa-Version": "1.0"}).status_code != 200


def test_a_designer_gets_no_qr_code(client, web_login, make_user):
    make_user("minh", "designer")
    token = web_login("quan", "admin")
    reply = client.post("/app/users/minh/qr", data={"csrf_token": token})
    assert reply.status_code == 409 and "data:image/png" not in reply.text


def test_a_post_without_the_csrf_token_changes_nothing(client, web_login, make_user, db):
    make_user("thu", "collector")
    web_login("quan", "admin")
    reply = client.post("/app/users/thu/enabled", data={"enabled": "0"})
    assert reply.status_code == 400 and "Hãy tải lại trang rồi thử lại." in reply.text
    with db.session() as s:
        assert s.scalar(select(User.enabled).where(User.username == "thu")) is True


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("supervisor", "/app/forms"),
        ("collector", "/app/forms/household"),
        ("designer", "/app/users"),
        ("supervisor", "/app/users/lan/qr"),
        ("designer", "/app/areas"),
    ],
)
def test_other_roles_get_403(client, web_login, role, path):
    web_login("lan", role)
    reply = client.get(path)
    assert reply.status_code == 403 and "không được mở trang này" in reply.text


def test_nav_shows_the_designer_and_admin_pages(client, web_login):
    web_login("quan", "admin")
    page = client.get("/app/").text
    assert all(f'href="/app/{p}"' in page for p in ("forms", "users", "areas"))


# -- areas ------------------------------------------------------------------------------------

IMPORT_CSV = (
    "\ufeffcommune_code,code,name,kind,households_total\n"
    "21607,T03,Thôn Nam,thon,95\n"  # new
    "21607,T01,Thôn Bắc,,130\n"  # 120 -> 130 households
    "21607,T02,Thôn Trung,,\n"  # unchanged
    "99999,X,Không có,,\n"  # unknown commune
    "21607,T03,Thôn Nam lần hai,,\n"  # the same code again
).encode()


def preview(client, token, content: bytes = IMPORT_CSV):
    return client.post(
        "/app/areas/preview",
        data={"csrf_token": token, "file": (io.BytesIO(content), "thon.csv")},
        content_type="multipart/form-data",
    )


def confirm_form(page: str) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    return {k: html.unescape(v) for k, v in fields.items()}


def test_an_import_preview_writes_nothing_and_confirming_applies_it(
    client, web_login, db, registry
):
    token = web_login("quan", "admin")
    with db.session() as s:
        before = {
            a.code: (a.name, a.households_total)
            for a in s.scalars(select(Area).where(Area.level == "area"))
        }
    page = preview(client, token)
    assert page.status_code == 200
    text = page.text
    assert re.search(r'class="count-added">1<', text) and re.search(
        r'class="count-updated">1<', text
    )
    assert re.search(r'class="count-unchanged">1<', text) and re.search(
        r'class="count-rejected">2<', text
    )
    assert table_rows(text, "added") == [["2", "21607.T03", "Thôn Nam", "thon", "95"]]
    assert table_rows(text, "updated") == [["3", "21607.T01", "Số hộ: 120 → 130"]]
    assert table_rows(text, "rejected") == [
        ["5", "không có mã xã '99999'"],
        ["6", "mã '21607.T03' đã có ở dòng 2"],
    ]
    with db.session() as s:
        now = {
            a.code: (a.name, a.households_total)
            for a in s.scalars(select(Area).where(Area.level == "area"))
        }
    assert now == before and events(db, "area.import") == []

    reply = client.post("/app/areas/import", data=confirm_form(text))
    assert reply.status_code == 303
    assert (
        "Đã nhập: 1 thêm, 1 sửa, 1 không đổi, 2 dòng bị bỏ qua."
        in client.get(reply.headers["Location"]).text
    )
    with db.session() as s:
        assert s.get(Area, "21607.T03").households_total == 95
        assert s.get(Area, "21607.T01").households_total == 130
    [event] = events(db, "area.import")
    assert (event.details["added"], event.details["updated"], event.details["rejected"]) == (
        1,
        1,
        2,
    )


def test_an_import_is_not_applied_when_the_registry_changed_since_the_preview(
    client, web_login, db, registry
):
    token = web_login("quan", "admin")
    form = confirm_form(preview(client, token).text)
    with db.session() as s:
        areas.import_areas(s, [{"commune_code": "21607", "code": "T03", "name": "Thôn Nam"}])
        s.commit()
    reply = client.post("/app/areas/import", data=form)
    assert reply.status_code == 409 and "Danh mục đã thay đổi kể từ lúc xem trước." in reply.text
    with db.session() as s:
        assert s.get(Area, "21607.T01").households_total == 120
    broken = client.post("/app/areas/import", data={**form, "data": "not base64!"})
    assert broken.status_code == 400
    # The hidden field is the admin's to change: 1 KB of it must not inflate to 100 MB in memory.
    bomb = base64.b64encode(zlib.compress(b"\n" * 100_000_001, 9)).decode()
    assert len(bomb) < 200_000
    assert client.post("/app/areas/import", data={**form, "data": bomb}).status_code == 400


def test_an_unreadable_csv_is_explained(client, web_login, registry):
    token = web_login("quan", "admin")
    reply = preview(client, token, b"commune,code,ten\n21607,T05,x\n")
    assert (
        reply.status_code == 422
        and "Không đọc được tệp CSV: The header line lacks commune_code, name" in reply.text
    )


def test_browse_and_search_the_registry(client, web_login, registry):
    web_login("quan", "admin")
    page = client.get("/app/areas").text
    assert "Gia Lai" in page and "34 địa bàn" in page
    page = client.get("/app/areas?parent=21607").text
    assert "Thôn Bắc" in page and "Thôn Trung" in page and "2 địa bàn" in page
    page = client.get("/app/areas?q=th%C3%B4n%20b%E1%BA%AFc&level=area").text
    assert "21607.T01" in page and "21607.T02" not in page


def test_the_area_picker_finds_areas_by_name(client, web_login, registry):
    web_login("quan", "admin")
    assert client.get("/app/areas/search?q=B").json == []  # two letters at least
    assert client.get("/app/areas/search?q=th%C3%B4n%20b%E1%BA%AFc").json == [
        {"code": "21607.T01", "name": "Thôn Bắc", "level": "Thôn, tổ dân phố"}
    ]
    page = client.get("/app/users").text
    assert 'data-area-search="/app/areas/search"' in page and "area-picker.js" in page


def test_the_pages_read_in_english(client, web_login, make_user, publish):
    publish("household")
    make_user("thu", "collector")
    web_login("quan", "admin")
    expected = {
        "/app/forms?lang=en": ("Upload an XLSForm", "Upload as a draft", ">Open<"),
        "/app/forms/household?lang=en": ("Change state", "Published by", "Media files"),
        "/app/users?lang=en": ("Create a user", "Collector", ">Enabled<"),
        "/app/users/thu?lang=en": ("Save areas", "QR code for ODK Collect", "Disable"),
        "/app/users/thu/qr?lang=en": ("Create a QR code",),
        "/app/areas?lang=en": ("Import residential areas", "Preview"),
    }
    for path, texts in expected.items():
        page = client.get(path).text
        assert all(text in page for text in texts), path
        assert "Tải lên" not in page and "Người dùng" not in page, path


def test_the_user_list_filters_and_pages(client, web_login, make_user, monkeypatch):
    from khudan.web import user_pages

    for name in ("thu", "Thuy", "tham"):
        make_user(name, "collector")
    make_user("lan", "supervisor")
    web_login("quan", "admin")

    def names(query: str) -> list[str]:
        page = client.get(f"/app/users?{query}").text
        return re.findall(r'<td><a href="/app/users/[^"/]+">([^<]+)</a></td>', page)

    assert names("role=collector") == ["thu", "Thuy", "tham"]
    assert names("q=THU") == ["thu", "Thuy"]
    assert names("q=%25") == []  # a LIKE wildcard is a plain character
    monkeypatch.setattr(user_pages, "PER_PAGE", 2)
    assert (
        names("page=2") == ["tham", "lan"] and "Trang 2/3" in client.get("/app/users?page=2").text
    )
    assert names("page=99999999999999999999") == []


def test_the_audit_page_shows_who_did_what_to_admins_only(client, web_login, make_user, db):
    from khudan.services import audit

    make_user("lan", "supervisor")
    with db.session() as s:
        audit.record(s, None, "user.update", "user:lan", cli=True, enabled=[True, False])
        s.commit()
    web_login("boss", "admin")
    page = client.get("/app/audit").text
    assert "user.login" in page and "user.update" in page and "user:lan" in page
    assert "dòng lệnh" in page  # done from the command line
    only = client.get("/app/audit?action=user.update").text
    assert "user.update" in only and "<code>user.login</code>" not in only
    assert 'href="/app/audit"' in client.get("/app/").text  # in the admins' navigation


def test_an_admin_changes_a_role_on_the_page_but_not_the_last_admins(
    client, web_login, make_user, db, registry
):
    make_user("thu", "collector", areas=("21607.T01",))
    token = web_login("quan", "admin")
    reply = client.post("/app/users/thu/role", data={"csrf_token": token, "role": "supervisor"})
    assert reply.status_code == 303
    assert "Đã đổi vai trò của thu." in client.get(reply.headers["Location"]).text
    with db.session() as s:
        assert s.scalar(select(User.role).where(User.username == "thu")) == "supervisor"
    last = client.post("/app/users/quan/role", data={"csrf_token": token, "role": "designer"})
    assert last.status_code == 409  # the only admin stays one
    assert (
        client.post("/app/users/thu/role", data={"csrf_token": token, "role": "king"}).status_code
        == 422
    )


def test_one_thon_is_added_and_changed_on_the_areas_page(client, web_login, db, registry):
    token = web_login("quan", "admin")
    row = {"csrf_token": token, "commune_code": "21607", "code": "T09", "name": "Thôn Chín"}
    reply = client.post("/app/areas/thon", data={**row, "households_total": "80"})
    assert reply.status_code == 303
    assert "Đã thêm Thôn Chín (21607.T09)." in client.get(reply.headers["Location"]).text
    reply = client.post("/app/areas/thon", data={**row, "households_total": "85"})
    assert "Đã sửa Thôn Chín (21607.T09)." in client.get(reply.headers["Location"]).text
    with db.session() as s:
        assert s.get(Area, "21607.T09").households_total == 85
    bad = client.post("/app/areas/thon", data={**row, "commune_code": "99999"})
    assert bad.status_code == 422 and "không có mã xã &#39;99999&#39;" in bad.text
    assert 'value="Thôn Chín"' in bad.text  # what was typed stays in the form


def test_people_have_names_and_phone_numbers(client, web_login, db, registry):
    token = web_login("quan", "admin")
    form = {
        "csrf_token": token,
        "username": "thu",
        "role": "collector",
        "areas": "21607.T01",
        "full_name": "Nguyễn Thị Thu",
        "phone": "0912 345 678",
    }
    assert client.post("/app/users", data=form).status_code == 200
    listing = client.get("/app/users").text
    assert "Nguyễn Thị Thu" in listing and 'href="tel:0912345678"' in listing
    reply = client.post(
        "/app/users/thu/profile", data={"csrf_token": token, "full_name": "Nguyễn Thu", "phone": ""}
    )
    assert reply.status_code == 303
    with db.session() as s:
        assert s.scalar(select(User.full_name).where(User.username == "thu")) == "Nguyễn Thu"
        assert s.scalar(select(User.phone).where(User.username == "thu")) is None
    bad = client.post("/app/users/thu/profile", data={"csrf_token": token, "phone": "call me"})
    assert bad.status_code == 422
