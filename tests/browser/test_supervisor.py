"""A supervisor's day in Chromium: a collector's phone sends a poverty review with a photo of the
house (a real JPEG, over OpenRosa, to the live server); the supervisor opens the queue with the
keyboard, looks at the submission and its photo full size, rejects it with a comment, and sees the
dashboard's figures change. Saves the README's screenshots of these pages, phone and desktop."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

import openpyxl
import pytest
from collect import CollectClient, requests_sender
from factories import domain_sample, photo
from playwright.sync_api import expect
from sqlalchemy import func, select

from khudan.models import Area, Submission
from khudan.services import areas, charts, forms, reports
from khudan.services.scope import Scope

from .conftest import DESKTOP, PASSWORD, PHONE, screenshot

FORMS = Path(__file__).resolve().parents[2] / "forms"
HOUSE = (13.7721, 109.2981)  # pov1.xml's <location>
VISIT = dt.datetime(2026, 11, 29, 3, 44)  # pov1.xml's <start>
THON = "21607.SV1"


@pytest.fixture(scope="module")
def poverty_form(live):
    """The registry with a thôn of Xã Nhơn Châu (supervisor lan's province is 52) and the shipped
    poverty review form, in the live server's database."""
    with live.db.session() as s:
        if not s.scalar(select(func.count()).select_from(Area).where(Area.level == "commune")):
            areas.load_official(s)
        areas.import_areas(s, [{"commune_code": "21607", "code": "SV1", "name": "Thôn Sông Cầu"}])
        s.commit()
    forms.publish_xlsform(live.db, live.storage, FORMS / "poverty_review.xlsx", validate=False)


def send_review(live, code: str, seed: int, metres_north: float = 40) -> None:
    """A poor household of Thôn Sông Cầu with a photo of its house, as ODK Collect sends it."""
    house = photo(seed, taken=VISIT, gps=(HOUSE[0] + metres_north / 111_000, HOUSE[1]))
    xml = domain_sample(
        "pov1.xml",
        **{
            "<period>2025<": "<period>2026<",
            "<area_code>21607.T01<": f"<area_code>{THON}<",
            "NC-T01-017": code,
            "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4()),
            "<house_photo />": "<house_photo>nha.jpg</house_photo>",
        },
    )
    phone = CollectClient(requests_sender(), live.url, "thu", PASSWORD)
    assert [r.status for r in phone.submit(xml, {"nha.jpg": house})] == [201]
    live.wait_processed()  # the checks and facts run after the 201


def figure(page, name: str) -> int:
    return int(page.locator(f"#figure-{name} .value").inner_text().replace(".", ""))


def no_sideways_scrolling(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_supervisor_rejects_a_submission_and_the_dashboard_changes(page_as, live, poverty_form):
    code = f"SV-{uuid.uuid4().hex[:6]}"
    send_review(live, code, seed=21)
    page = page_as("supervisor")
    page.goto("/app/?period=2026")
    waiting, poor = figure(page, "waiting"), figure(page, "poor")
    assert waiting >= 1 and poor >= 1

    page.get_by_role("link", name="Duyệt phiếu").click()
    expect(page).to_have_url("/app/review")
    first = page.locator("table.queue tbody tr").first
    expect(first).to_contain_text(f"{code} - Nguyễn Văn Hải")  # the newest first
    page.wait_for_load_state()  # review.js
    page.keyboard.press("j")
    expect(first).to_have_class(re.compile(r"\bcurrent\b"))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app/submissions/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_text("Họ và tên chủ hộ")).to_be_visible()

    thumb = page.locator("img.thumb")
    expect(thumb).to_be_visible()
    thumb.scroll_into_view_if_needed()  # it loads lazily
    expect(thumb).to_have_js_property("naturalWidth", 320)
    with page.context.expect_page() as opened:
        thumb.click()  # opens the photo full size in a new tab
    full = opened.value
    full.wait_for_load_state()
    assert full.url.endswith("/files/nha.jpg")
    expect(full.locator("img")).to_have_js_property("naturalWidth", 640)

    page.keyboard.press("r")  # reject: picks the state, puts the cursor in the comment
    expect(page.get_by_role("radio", name="Từ chối")).to_be_checked()
    expect(page.locator("#review-comment")).to_be_focused()
    page.keyboard.type("Ảnh nhà chụp chưa rõ, đề nghị chụp lại")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("status")).to_contain_text("Bị từ chối")
    expect(page.locator("#state")).to_have_text("Bị từ chối")
    expect(page.locator(".comment").last).to_contain_text("đề nghị chụp lại")

    page.goto("/app/?period=2026")
    assert figure(page, "waiting") == waiting - 1
    assert figure(page, "poor") == poor - 1  # a rejected submission does not count


def test_screenshots_of_the_supervisor_pages(page_as, live, poverty_form):
    for n in range(3):
        send_review(live, f"SV-{uuid.uuid4().hex[:6]}", seed=30 + n)
    send_review(live, f"SV-{uuid.uuid4().hex[:6]}", seed=33, metres_north=2_000)  # a problem
    desktop = page_as("supervisor")
    desktop.goto("/app/?period=2026&area=21607")
    expect(desktop.locator("figure.chart img")).to_be_visible()
    desktop.wait_for_load_state("networkidle")  # the chart
    screenshot(desktop, "supervisor-dashboard-desktop")
    desktop.goto("/app/review?review_state=waiting")
    screenshot(desktop, "review-queue-desktop")
    desktop.locator("table.queue tbody tr a").first.click()
    desktop.wait_for_load_state("networkidle")
    screenshot(desktop, "submission-desktop")
    desktop.goto("/app/results?period=2026&area=21607")
    desktop.wait_for_load_state("networkidle")
    screenshot(desktop, "results-desktop")

    phone = page_as("supervisor", PHONE)
    for path, name in (
        ("/app/?period=2026&area=21607", "supervisor-dashboard-phone"),
        ("/app/review", "review-queue-phone"),
        ("/app/results?period=2026&area=21607", "results-phone"),
    ):
        phone.goto(path)
        phone.wait_for_load_state("networkidle")
        assert no_sideways_scrolling(phone), path
        screenshot(phone, name)
    phone.goto("/app/review")
    phone.locator("table.queue tbody tr a").first.click()
    phone.wait_for_load_state("networkidle")
    assert no_sideways_scrolling(phone)
    screenshot(phone, "submission-phone")


def test_keyboard_flag_needs_a_comment(page_as, live, poverty_form):
    code = f"SV-{uuid.uuid4().hex[:6]}"
    send_review(live, code, seed=40)
    page = page_as("supervisor", DESKTOP)
    page.goto("/app/review")
    page.get_by_role("link", name=f"{code} - Nguyễn Văn Hải").click()
    page.wait_for_url(re.compile(r"/app/submissions/\d+"))
    page.wait_for_load_state()  # review.js
    page.keyboard.press("f")
    expect(page.get_by_role("radio", name="Cần sửa")).to_be_checked()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("status")).to_contain_text("Cần ghi nhận xét")


def test_the_map_page_shows_a_point_per_located_submission(page_as, live, poverty_form):
    for n in range(3):
        send_review(live, f"MAP-{uuid.uuid4().hex[:6]}", seed=50 + n)
    with live.db.session() as s:
        located = s.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.area_code == THON, Submission.latitude.is_not(None))
        )
    assert located >= 3
    page = page_as("supervisor")
    page.goto(f"/app/map?area={THON}&period=2026")
    expect(page.locator("#map")).to_have_attribute("data-points", str(located))
    expect(page.locator("#map-legend")).to_contain_text("Hộ nghèo")
    # Leaflet drew them (clustered where they overlap): a marker or a cluster is on the map.
    expect(
        page.locator("#map .leaflet-marker-icon, #map path.leaflet-interactive").first
    ).to_be_attached()


def test_keyboard_from_the_queue_to_the_next_submission(page_as, live, poverty_form):
    for n in range(2):
        send_review(live, f"KEY-{uuid.uuid4().hex[:6]}", seed=60 + n)
    page = page_as("supervisor")
    page.goto("/app/review")
    page.wait_for_load_state()  # review.js
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/app/submissions/(\d+)"))
    first = page.url
    page.wait_for_load_state()
    page.keyboard.press("j")  # the next submission of the same queue
    page.wait_for_url(lambda url: url != first and "/app/submissions/" in url)
    expect(page.locator("nav.neighbours a[rel=prev]")).to_be_visible()


def test_a_download_from_the_queue_opens_in_excel(page_as, live, poverty_form, tmp_path):
    send_review(live, f"XLS-{uuid.uuid4().hex[:6]}", seed=70)
    page = page_as("supervisor")
    page.goto("/app/review?form=poverty_review&review_state=")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Excel")).first.click()
    path = tmp_path / "phieu.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    main = book.worksheets[0]
    rows = list(main.iter_rows(values_only=True))
    assert "Mã hộ" in " ".join(str(c) for c in rows[0])  # headed by the questions' labels
    assert any(str(cell).startswith("XLS-") for row in rows[1:] for cell in row)
    assert len(book.worksheets) >= 2  # the members (a repeat) on a sheet of their own


def _number(text: str) -> float:
    """A Vietnamese-formatted figure as a number: "2,5 %" -> 2.5."""
    return float(text.replace("%", "").replace(".", "").replace(",", ".").strip())


def test_the_same_rate_on_the_card_the_table_and_the_file(page_as, live, poverty_form, tmp_path):
    with live.db.session() as s:
        areas.import_areas(
            s,
            [
                {
                    "commune_code": "21607",
                    "code": "SV1",
                    "name": "Thôn Sông Cầu",
                    "households_total": "300",
                }
            ],
        )
        s.commit()
    send_review(live, f"RATE-{uuid.uuid4().hex[:6]}", seed=80)
    page = page_as("supervisor")
    page.goto(f"/app/?period=2026&area={THON}")
    card = _number(page.locator("#figure-poor small").inner_text())
    assert card > 0

    page.goto(f"/app/results?kind=poverty&period=2026&area={THON}")
    header = page.locator("table.results thead th").all_inner_texts()
    column = header.index("Tỷ lệ hộ nghèo (%)")
    row = page.locator("table.results tbody tr", has_text="Thôn Sông Cầu").first
    table = _number(row.locator("td").nth(column).inner_text())

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("XLSX|Excel")).first.click()
    path = tmp_path / "ket-qua.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    head = next(r for r in rows if r and "Tỷ lệ hộ nghèo (%)" in r)
    thon = next(r for r in rows if r and "Thôn Sông Cầu" in r)
    in_file = thon[head.index("Tỷ lệ hộ nghèo (%)")]
    # The chart of the commune labels the thôn's bar with the same figure.
    with live.db.session() as s:
        summary = reports.poverty_summary(s, Scope(everything=True), "2026", "21607", depth=1)
    [bar] = [r for r in charts.area_rates(summary) if r.code == THON]
    chart = _number(charts.rate_label(bar.poor))
    assert card == table == float(in_file) == chart, (card, table, in_file, chart)
