"""The designer and admin pages in Chromium: a broken XLSForm's error row, a collector's QR code,
and the preview of an areas import. Saves the README's screenshots of these pages."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib

import pytest
from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import func, select

from khudan.models import Area
from khudan.services import areas

from .conftest import PHONE, screenshot

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def broken_xlsform() -> bytes:
    """A form whose row 4 on the survey sheet selects from a list the choices sheet lacks."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["text", "ma_ho", "Mã hộ"])
    survey.append(["integer", "so_nguoi", "Số nhân khẩu"])
    survey.append(["select_one thu_nhap", "thu_nhap", "Thu nhập"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["co_khong", "1", "Có"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version", "form_title"])
    settings.append(["khao_sat_loi", "1", "Khảo sát có lỗi"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_a_designer_sees_the_row_of_an_xlsform_error(page_as):
    page = page_as("designer")
    page.get_by_role("link", name="Biểu mẫu").click()
    expect(page).to_have_url("/app/forms")
    expect(page.get_by_role("link", name="Hộ gia đình")).to_be_visible()
    screenshot(page, "forms-desktop")

    page.get_by_label("Tệp XLSForm (.xlsx)").set_input_files(
        {"name": "khao_sat.xlsx", "mimeType": XLSX_TYPE, "buffer": broken_xlsform()}
    )
    page.get_by_role("button", name="Tải lên bản nháp").click()
    expect(page.get_by_role("alert")).to_contain_text("Không chuyển được khao_sat.xlsx")
    row = page.locator("table.xlsform-errors tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td")).to_have_text(
        ["survey", "4", "List name not in choices sheet: thu_nhap"]
    )
    screenshot(page, "form-upload-error")


def test_a_form_page_fits_a_phone(page_as):
    page = page_as("designer", PHONE)
    page.goto("/app/forms/household")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hộ gia đình")
    expect(page.get_by_role("link", name="XLSX")).to_be_visible()
    assert no_sideways_scrolling(page)
    screenshot(page, "form-detail-phone")


def test_an_admin_shows_a_collector_the_qr_code_for_odk_collect(page_as, new_page, live):
    import zxingcpp
    from PIL import Image

    page = page_as("admin")
    page.get_by_role("link", name="Người dùng").click()
    expect(page).to_have_url("/app/users")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="thu", exact=True))
    expect(row).to_contain_text("Thu thập viên")
    screenshot(page, "users-desktop")

    phone = new_page(PHONE)  # the admin hands a phone-sized screen to the collector
    phone.context.add_cookies(page.context.cookies())
    phone.goto("/app/users/thu/qr")
    phone.get_by_role("button", name="Tạo mã QR").click()
    image = phone.locator("img#collect-qr")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(phone.get_by_role("alert")).to_contain_text("chứa thông tin đăng nhập của thu")
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot())))
    settings = json.loads(zlib.decompress(base64.b64decode(code.text)))
    server_url = settings["general"]["server_url"]
    assert re.fullmatch(re.escape(live.url) + r"/key/[A-Za-z0-9]{64}", server_url)
    expect(phone.locator("#server-url")).to_have_text(server_url)
    assert no_sideways_scrolling(phone)
    screenshot(phone, "user-qr-phone")


def load_registry(live) -> None:
    """The official provinces and communes in the live server's database (once per session)."""
    with live.db.session() as s:
        if not s.scalar(select(func.count()).select_from(Area).where(Area.level == "commune")):
            areas.load_official(s)
            s.commit()


def test_an_admin_creates_a_collector_picking_the_area_by_name(page_as, live):
    load_registry(live)
    page = page_as("admin")
    page.goto("/app/users")
    page.locator("#create").get_by_label("Tên người dùng").fill("hoa")
    picker = page.get_by_label("Tìm địa bàn theo tên")
    picker.fill("Nhơn Châu")
    option = page.locator("#new-areas-options option").first
    expect(option).to_have_attribute("value", re.compile(r"Nhơn Châu .* 21607$"))
    picker.fill(option.get_attribute("value"))  # as choosing it from the list does
    expect(page.get_by_label("Địa bàn phụ trách")).to_have_value("21607")
    page.get_by_role("button", name="Tạo người dùng").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Đã tạo hoa")
    expect(page.locator("#password")).to_have_text(re.compile(r"^\S{14}$"))
    expect(page.locator("main .badge")).to_have_text("21607")


def test_an_admin_previews_an_areas_import_then_confirms_it(page_as, live, tmp_path):
    load_registry(live)
    csv_file = tmp_path / "thon.csv"
    csv_file.write_text(
        "commune_code,code,name,kind,households_total\n"
        "21607,BR1,Thôn Đông,thon,140\n"
        "21607,BR2,Thôn Tây,thon,\n"
        "99999,BR3,Xã không có,,\n"
        "21607,BR4,Thôn Nam,thon,nhiều\n",
        encoding="utf-8",
    )
    page = page_as("admin")
    page.goto("/app/areas")
    page.get_by_label("Tệp CSV").set_input_files(csv_file)
    page.get_by_role("button", name="Xem trước").click()
    expect(page.locator(".count-added")).to_have_text("2")
    expect(page.locator(".count-rejected")).to_have_text("2")
    expect(page.locator("table.rejected")).to_contain_text("không có mã xã '99999'")
    with live.db.session() as s:
        assert s.get(Area, "21607.BR1") is None  # the preview wrote nothing
    screenshot(page, "areas-preview")

    page.get_by_role("button", name="Xác nhận nhập").click()
    expect(page.get_by_role("status")).to_have_text(
        "Đã nhập: 2 thêm, 0 sửa, 0 không đổi, 2 dòng bị bỏ qua."
    )
    with live.db.session() as s:
        assert s.get(Area, "21607.BR1").households_total == 140


@pytest.mark.parametrize(
    "path", ["/app/forms", "/app/users", "/app/users/thu", "/app/areas?parent=52"]
)
def test_the_admin_pages_fit_a_phone(page_as, live, path):
    load_registry(live)
    page = page_as("admin", PHONE)
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert no_sideways_scrolling(page)
