"""The household list in ODK Web Forms, the browser engine khudan serves on /app/fill: the shipped
poverty review loads with households.csv, finds a household without marks typed and fills in its
code and head, as Collect does (JavaRosa is tested in tests/e2e/test_javarosa_households.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from khudan.models import Area, User
from khudan.services import areas, drafts, entities, forms

from .conftest import screenshot

FORMS = Path(__file__).resolve().parents[2] / "forms"


@pytest.fixture(scope="module")
def households(live):
    with live.db.session() as s:
        if not s.scalar(select(func.count()).select_from(Area).where(Area.level == "commune")):
            areas.load_official(s)
        areas.import_areas(s, [{"commune_code": "21607", "code": "HL1", "name": "Thôn Hòa Lạc"}])
        s.commit()
    forms.publish_xlsform(live.db, live.storage, FORMS / "poverty_review.xlsx", validate=False)
    with live.db.session() as s:
        admin = s.scalar(select(User).where(User.username == "quan"))
        data = (
            "label,household_code,head_name,province,commune,area_code,household_size\n"
            "HL-001 - Nguyễn Văn Hải,HL-001,Nguyễn Văn Hải,52,21607,21607.HL1,4\n"
            "HL-002 - Trần Thị Hoa,HL-002,Trần Thị Hoa,52,21607,21607.HL1,3\n"
        ).encode()
        entities.import_csv(s, entities.get_list(s, "households"), data, admin)
        s.commit()


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the select question labelled ``label`` (Web Forms draws radio lists or
    drop-downs)."""
    question = page.locator(".question-container", has_text=label).first
    question.get_by_text(option, exact=False).first.click()


def find_household(page, typed: str, code: str) -> None:
    """On the poverty review as Web Forms shows it: the thôn Hòa Lạc by the area cascade, then the
    household ``code`` from the list, searched as ``typed``."""
    expect(page.get_by_text("Hộ được rà soát")).to_be_visible(timeout=20_000)
    choose(page, "Tỉnh, thành phố", "Gia Lai")
    choose(page, "Xã, phường, đặc khu", "Nhơn Châu")
    choose(page, "Thôn, làng, tổ dân phố", "Hòa Lạc")
    choose(page, "Hộ được rà soát", "Chọn từ danh sách")
    page.get_by_label("Tìm hộ", exact=False).fill(typed)
    choose(page, "Chọn hộ", code)


def test_a_collector_finds_a_household_without_marks(page_as, live, households):
    page = page_as("collector")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/app/forms/poverty_review/fill")
    find_household(page, "nguyen van", "HL-001")
    expect(page.get_by_label("Mã hộ", exact=True)).to_have_value("HL-001")
    expect(page.get_by_label("Họ và tên chủ hộ")).to_have_value("Nguyễn Văn Hải")
    assert (
        "Trần Thị Hoa"
        not in page.locator(".question-container", has_text="Chọn hộ").first.inner_text()
    )
    assert errors == []


def test_a_designer_previews_the_next_version_with_the_same_lists(page_as, live, households):
    """A draft of the shipped review is tried in the browser with the area cascade and the
    household list khudan writes, as the published form is filled."""
    xml, _warnings = forms.convert_xlsform((FORMS / "poverty_review.xlsx").read_bytes())
    version = re.search(rb'version="(\d+)"', xml).group(1)
    next_xml = xml.replace(b'version="' + version + b'"', b'version="' + version + b'9"')
    drafts.save(live.db, live.storage, xml=next_xml, validate=False)
    page = page_as("designer")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto("/app/forms/poverty_review/draft/preview")
    find_household(page, "tran thi", "HL-002")
    expect(page.get_by_label("Họ và tên chủ hộ")).to_have_value("Trần Thị Hoa")
    assert errors == []
    drafts.discard(live.db, "poverty_review", None)


def test_a_supervisor_searches_the_list_and_opens_a_household(page_as, live, households):
    page = page_as("supervisor")
    page.get_by_role("link", name="Danh sách hộ").first.click()
    expect(page.locator("table.entities")).to_contain_text("Trần Thị Hoa")
    page.get_by_label("Tìm", exact=True).fill("nguyen hai")
    page.get_by_role("button", name="Tìm").click()
    table = page.locator("table.entities")
    expect(table).to_contain_text("HL-001 - Nguyễn Văn Hải")
    expect(table).not_to_contain_text("Trần Thị Hoa")
    expect(table).to_contain_text("Thôn Hòa Lạc")  # the area by its name
    screenshot(page, "households-desktop")
    table.get_by_role("link", name="HL-001 - Nguyễn Văn Hải").click()
    expect(page.locator("#history")).to_contain_text("Nhập từ tệp CSV")
    expect(page.get_by_label("household_code")).to_have_value("HL-001")
    screenshot(page, "household-desktop")
