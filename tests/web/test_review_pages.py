"""The supervisor's pages through Flask's client: dashboard, review queue, submission page with its
photo, review with a comment, results with their files and charts; all scoped as the API is.

Data: the shipped poverty review form, filled by JavaRosa (tests/unit/domain/data/pov1.xml) and
sent by a Collect client with a real JPEG:

  Xã Nhơn Châu (21607)            A: Thôn Bắc (T01), poor, a photo taken 5 km away
                                  B: Thôn Trung (T02), poor, no photo
  Phường Quy Nhơn Bắc (21553)     C: Tổ dân phố 1 (K01), poor  (outside supervisor lan's commune)
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import pytest
from factories import domain_sample, photo
from sqlalchemy import select

from khudan.models import Submission
from khudan.services import areas, forms

from .conftest import csrf_of

FORMS = Path(__file__).resolve().parents[2] / "forms"
HOUSE = (13.7721, 109.2981)  # pov1.xml's <location>
VISIT = dt.datetime(2026, 11, 29, 3, 44)  # pov1.xml's <start>


def send(collector, commune: str, area: str, code: str, files: dict[str, bytes] | None = None):
    replace = {
        "<period>2025<": "<period>2026<",
        "<commune>21607<": f"<commune>{commune}<",
        "<area_code>21607.T01<": f"<area_code>{area}<",
        "NC-T01-017": code,
        "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4()),
    }
    if files:
        replace["<house_photo />"] = f"<house_photo>{next(iter(files))}</house_photo>"
    replies = collector.submit(domain_sample("pov1.xml", **replace), files)
    assert [r.status for r in replies] == [201], [r.message for r in replies]


@pytest.fixture
def households(db, official_areas, storage, collector):
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21607", "code": "T02", "name": "Thôn Trung"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ dân phố 1"},
            ],
        )
        s.commit()
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    far = photo(1, taken=VISIT, gps=(HOUSE[0] + 0.05, HOUSE[1]))
    send(collector, "21607", "21607.T01", "A", {"nha.jpg": far})
    send(collector, "21607", "21607.T02", "B")
    send(collector, "21553", "21553.K01", "C")
    return {"nha.jpg": far}


def fetch(client, url: str):
    """A file reply read and closed (send_file keeps the file open until then)."""
    reply = client.get(url)
    reply.get_data()
    reply.close()
    return reply


def ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<a href="/app/submissions/(\d+)\?', html)]


def by_code(client) -> dict[str, int]:
    """Household code -> submission id, from the queue (as the supervisor sees it)."""
    html = client.get("/app/review").text
    found = re.findall(r'<a href="/app/submissions/(\d+)\?[^"]*">([A-C]) - ', html)
    return {code: int(i) for i, code in found}


def figure(html: str, name: str) -> str:
    match = re.search(rf'id="figure-{name}">\s*<span class="value">([^<]*)<', html)
    assert match, name
    return match.group(1)


def test_the_queue_lists_only_the_supervisors_area_with_problems_inline(
    client, web_login, households
):
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/review")
    assert page.status_code == 200
    assert len(ids(page.text)) == 2 and "C - Nguyễn Văn Hải" not in page.text
    assert "A - Nguyễn Văn Hải" in page.text and "B - Nguyễn Văn Hải" in page.text
    assert "5" in page.text and 'class="problem"' in page.text  # the far photo, on its row
    assert 'data-keys="queue"' in page.text and "review.js" in page.text


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("area=21607.T01", {"A"}),
        ("area=21607.T02", {"B"}),
        ("area=21553.K01", set()),  # another commune: nothing, not an error
        ("review_state=received", {"B"}),
        ("review_state=hasIssues", {"A"}),  # its photo was taken far away
        ("review_state=waiting", {"A", "B"}),
        ("review_state=approved", set()),
        ("form=poverty_review&period=2026", {"A", "B"}),
        ("period=2025", set()),
        ("has_problems=false&area=21607.T02", {"B"}),
        ("has_problems=true&area=21607.T02", set()),
        ("form=&period=&area=&review_state=&has_problems=", {"A", "B"}),  # empty: no filter
    ],
)
def test_queue_filters(client, web_login, households, query, codes):
    web_login("lan", "supervisor", areas=("21607",))
    html = client.get(f"/app/review?{query}").text
    assert set(re.findall(r'">([A-C]) - Nguyễn', html)) == codes


def test_an_invalid_filter_is_a_422_page(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/review?review_state=lost")
    assert page.status_code == 422 and "review_state" in page.text


def test_the_submission_page_lays_the_answers_out_like_the_form(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    a = by_code(client)["A"]
    html = client.get(f"/app/submissions/{a}").text
    assert "Họ và tên chủ hộ" in html and "Nguyễn Văn Hải" in html  # Vietnamese labels
    assert "Thông tin chung về hộ" in html  # a group is a section
    # the members (a repeat) are a table: a header per question, a row per member
    assert "<th>Họ và tên thành viên</th>" in html and html.count("Trần Thị Lan") == 1
    assert "Nữ" in html  # a choice shown by its label, not "nu"
    thumb = f'src="/app/submissions/{a}/files/nha.jpg?size=320"'
    assert thumb in html and f'href="/app/submissions/{a}/files/nha.jpg"' in html
    assert "openstreetmap.org/?mlat=13.7721&amp;mlon=109.2981" in html
    # The household and the photo on a Leaflet map (vendored), with the distance; the page (and
    # only a page with a map) lets the browser load OpenStreetMap's tiles.
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', html, re.S).group(1))
    assert data["household"] == [13.7721, 109.2981]
    [spot] = data["photos"]
    assert spot["label"].startswith("nha.jpg · cách vị trí hộ 5.5") and spot["lat"] > 13.8
    assert '<script src="/app/static/leaflet/leaflet.js" defer>' in html
    reply = client.get(f"/app/submissions/{a}")
    assert (
        "img-src 'self' data: blob: https://tile.openstreetmap.org"
        in reply.headers["Content-Security-Policy"]
    )
    assert reply.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    queue = client.get("/app/review")
    assert "tile.openstreetmap.org" not in queue.headers["Content-Security-Policy"]
    assert "cách vị trí hộ" in html  # how far the photo was taken
    # The photos first, large, each with its question, EXIF time and place.
    gallery = re.search(r'<div class="gallery">(.*?)</section>', html, re.S).group(1)
    assert f'href="/app/submissions/{a}/files/nha.jpg"' in gallery
    assert f'src="/app/submissions/{a}/files/nha.jpg?size=1280"' in gallery
    assert "Ảnh chụp nhà ở của hộ" in gallery and "Chụp lúc 03:44 29/11/2026" in gallery
    assert "Nơi chụp 13.82210, 109.29810" in gallery
    assert "Hộ nghèo" in html and "Thiếu hụt" in html  # the derived classification
    assert "Chuẩn nghèo đa chiều quốc gia giai đoạn 2022-2025" in html and "nd07_2021" not in html
    # Numbers as people here write them: income 1.200.000, floor area 36.
    assert re.search(r"<dd>\s*1\.200\.000\s", html) and re.search(r"<dd>\s*36\s", html)
    assert "36.0" not in html and "1200000" not in html
    assert "Thôn Bắc" in html and "Xã Nhơn Châu" in html
    assert 'data-key="r"' in html  # keyboard: r rejects


def test_photos_open_as_thumbnails_and_full_size(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    a = by_code(client)["A"]
    full = fetch(client, f"/app/submissions/{a}/files/nha.jpg")
    assert full.status_code == 200 and full.data == households["nha.jpg"]
    assert full.mimetype == "image/jpeg" and full.headers["X-Content-Type-Options"] == "nosniff"
    thumb = fetch(client, f"/app/submissions/{a}/files/nha.jpg?size=320")
    assert thumb.mimetype == "image/jpeg" and len(thumb.data) < len(full.data)
    assert client.get(f"/app/submissions/{a}/files/nha.jpg?size=99").status_code == 422
    assert client.get(f"/app/submissions/{a}/files/other.jpg").status_code == 404


def test_outside_the_area_everything_is_404(client, web_login, households, make_user):
    make_user("lan", "supervisor", areas=("21607",))
    web_login("binh", "supervisor", areas=("21553",))
    c = by_code(client)["C"]
    assert set(by_code(client)) == {"C"}
    other = client.application.test_client()
    token = csrf_of(other.get("/app/login").text)
    other.post(
        "/app/login", data={"username": "lan", "password": "correct horse", "csrf_token": token}
    )
    a = by_code(other)["A"]
    token = csrf_of(client.get(f"/app/submissions/{c}").text)
    for path in (f"/app/submissions/{a}", f"/app/submissions/{a}/files/nha.jpg"):
        page = client.get(path)
        assert page.status_code == 404 and "Không tìm thấy" in page.text
    form = {"csrf_token": token, "review_state": "rejected", "comment": "không phải của tôi"}
    assert client.post(f"/app/submissions/{a}/review", data=form).status_code == 404
    assert (
        client.post(
            f"/app/submissions/{a}/comments", data={"csrf_token": token, "body": "x"}
        ).status_code
        == 404
    )
    unchanged = other.get(f"/app/submissions/{a}").text
    assert 'state-hasIssues" id="state"' in unchanged and "không phải của tôi" not in unchanged
    for path in (
        "/app/?area=21607",
        "/app/results?area=21607",
        "/app/results/poverty.xlsx?period=2026&area=21607",
        "/app/charts/poverty-rate.png?period=2026&area=21607",
    ):
        assert client.get(path).status_code == 404, path


def test_reject_with_a_comment_changes_the_dashboard(client, web_login, households):
    token = web_login("lan", "supervisor", areas=("21607",))
    before = client.get("/app/").text
    assert figure(before, "waiting") == "2" and figure(before, "poor") == "2"
    a = by_code(client)["A"]

    refused = client.post(
        f"/app/submissions/{a}/review",
        data={"csrf_token": token, "review_state": "rejected", "comment": " "},
        follow_redirects=True,
    )
    assert "Cần ghi nhận xét" in refused.text and 'state-hasIssues" id="state"' in refused.text

    no_csrf = {"review_state": "rejected", "comment": "Ảnh chụp nơi khác"}
    assert client.post(f"/app/submissions/{a}/review", data=no_csrf).status_code == 400

    reply = client.post(
        f"/app/submissions/{a}/review",
        data={
            "csrf_token": token,
            "review_state": "rejected",
            "comment": "Ảnh chụp nơi khác",
            "back": "/app/review?area=21607",
        },
    )
    assert reply.status_code == 302
    page = client.get(reply.headers["Location"]).text
    assert f"Phiếu #{a}: Bị từ chối." in page and "Ảnh chụp nơi khác" in page
    assert 'href="/app/review?area=21607"' in page  # back to the same queue
    assert "Cần sửa → Bị từ chối" in page  # the review history
    history = re.search(r'<ul class="history">(.*?)</ul>', page, re.S).group(1)
    lines = re.findall(r"<li[^>]*>(.*?)</li>", history, re.S)
    # One history, newest first: the review, its reason as a comment, then the version received.
    assert "Bị từ chối" in lines[0] or "Ảnh chụp nơi khác" in lines[0]
    assert any("nhận xét: “Ảnh chụp nơi khác”" in line for line in lines)
    assert "bản gửi đầu tiên" in lines[-1]
    assert "không được tính vào kết quả" in page

    after = client.get("/app/").text
    assert figure(after, "waiting") == "1" and figure(after, "poor") == "1"
    assert figure(after, "reviewed") == "1"


def test_comments_are_added_and_shown(client, web_login, households):
    token = web_login("lan", "supervisor", areas=("21607",))
    b = by_code(client)["B"]
    reply = client.post(
        f"/app/submissions/{b}/comments",
        data={"csrf_token": token, "body": "Gọi lại cho hộ"},
        follow_redirects=True,
    )
    assert "Đã thêm nhận xét." in reply.text and "Gọi lại cho hộ" in reply.text


def test_the_dashboard_goes_down_the_tree_with_collectors_activity(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/").text
    assert "Thôn Bắc" in page and "Thôn Trung" in page  # the commune's thôn, one row each
    assert 'href="/app/?area=21607.T01&amp;period=2026"' in page
    assert '<td><a href="/app/review?submitter=thu' in page  # thu sent both
    t01 = client.get("/app/?area=21607.T01&period=2026").text
    assert figure(t01, "poor") == "1" and "Xã Nhơn Châu" in t01  # breadcrumbs up to lan's commune
    assert client.get("/app/?period=lost").status_code == 422


def test_results_tables_files_and_charts(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/results?period=2026")
    assert page.status_code == 200
    assert "Thôn Bắc" in page.text and "Cộng Xã Nhơn Châu" in page.text
    assert "Tổ dân phố 1" not in page.text
    csv = client.get("/app/results/poverty.csv?period=2026")
    assert csv.mimetype == "text/csv" and "Thôn Bắc" in csv.text
    assert 'filename="ra-soat-ho-ngheo-2026-tat-ca.csv"' in csv.headers["Content-Disposition"]
    # The button says which CSV it is; the Vietnamese Excel one has semicolons.
    assert "CSV cho Excel tiếng Việt (dấu chấm phẩy, dấu phẩy thập phân)" in page.text
    vn = client.get("/app/results/poverty.csv?period=2026&dialect=excel-vn")
    assert vn.status_code == 200 and vn.text.lstrip("\ufeff").split("\r\n")[0].count(";") > 5
    xlsx = client.get("/app/results/poverty.xlsx?period=2026&area=21607")
    assert xlsx.data[:2] == b"PK"
    for kind in ("cultural-family", "satisfaction"):
        assert client.get(f"/app/results?kind={kind}&period=2026").status_code == 200
        assert client.get(f"/app/results/{kind}.csv?period=2026").status_code == 200
    png = client.get("/app/charts/poverty-rate.png?period=2026&area=21607&width=360")
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/app/results?kind=other").status_code == 404


def test_collectors_and_designers_may_not_review(client, web_login, households):
    web_login("thu2", "collector", areas=("52",))
    assert client.get("/app/review").status_code == 403
    assert client.get("/app/results").status_code == 403


def test_a_queue_page_costs_the_same_queries_however_many_rows(
    client, web_login, households, collector, db
):
    from sqlalchemy import event

    web_login("quan", "admin")
    statements: list[str] = []

    def count(*args):
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/app/review").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    three = queries()
    for code in ("D", "E", "F"):
        send(collector, "21607", "21607.T01", code)
    assert queries() == three, statements


def test_the_pages_in_english(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    a = by_code(client)["A"]
    page = client.get(f"/app/submissions/{a}?lang=en").text
    assert "Answers" in page and "Classification" in page and "Reject" in page
    assert "Câu trả lời" not in page
    assert "Waiting for review" in client.get("/app/?lang=en").text
    assert "Keys: j / k" in client.get("/app/review?lang=en").text
    assert "Poor and near-poor" in client.get("/app/results?lang=en").text


def test_the_queue_opens_on_what_needs_a_decision(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    review = by_code(client)  # A (has issues) and B (received) both wait
    a_page = client.get(f"/app/submissions/{review['A']}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', a_page).group(1)
    client.post(
        f"/app/submissions/{review['A']}/review",
        data={"csrf_token": token, "review_state": "approved", "comment": ""},
    )
    plain = client.get("/app/review").text
    assert set(re.findall(r'">([A-C]) - Nguyễn', plain)) == {"B"}  # A is decided
    assert '<option value="waiting" selected>' in plain
    every = client.get("/app/review?review_state=").text
    assert set(re.findall(r'">([A-C]) - Nguyễn', every)) == {"A", "B"}


def test_the_submission_page_lists_the_households_other_submissions(
    client, web_login, households, collector
):
    send(collector, "21607", "21607.T01", "A")  # household A again, in the same period
    web_login("lan", "supervisor", areas=("21607",))
    html = client.get("/app/review?state=all").text
    first, second = sorted(
        int(i)
        for i, code in re.findall(r'<a href="/app/submissions/(\d+)\?[^"]*">([A-C]) - ', html)
        if code == "A"
    )
    page = client.get(f"/app/submissions/{second}").text
    assert "Các phiếu khác của cùng hộ trong kỳ" in page
    assert f'href="/app/submissions/{first}"' in page
    assert "Mở bài nộp kia" in page  # the problem links the first one too


def test_the_queue_downloads_the_forms_submissions_in_the_readers_areas(
    client, web_login, households
):
    """Issue 13: the pages download what the API does, for the reader's areas and filters."""
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/review?form=poverty_review&period=2026&review_state=").text
    links = dict(re.findall(r'<a class="button" href="([^"]+)" download>([^<]+)<', page))
    assert set(links.values()) >= {"Excel (XLSX, mỗi nhóm lặp một trang)", "ZIP: Excel kèm ảnh"}
    csv_url = next(u for u, label in links.items() if label.startswith("CSV")).replace("&amp;", "&")
    assert "period=2026" in csv_url and "labels=vi" in csv_url
    reply = client.get(csv_url)
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    text = reply.get_data(as_text=True)
    codes = {code for code in ("A", "B", "C") if f",{code}," in text}
    assert codes == {"A", "B"}  # C is in another commune
    zip_url = next(u for u, label in links.items() if label.startswith("ZIP")).replace("&amp;", "&")
    archive = client.get(zip_url)
    assert archive.status_code == 200 and archive.mimetype == "application/zip"
    assert "Tải xuống" not in client.get("/app/review").text  # no form chosen: no links


def test_labels_show_the_answers_they_quote_as_collect_does(client, web_login, households):
    """Issue 13: an XLSForm label with ${field} shows that field's value, not a gap."""
    web_login("lan", "supervisor", areas=("21607",))
    a = by_code(client)["A"]
    page = client.get(f"/app/submissions/{a}").text
    # pov1.xml: ind_employment = 1, ind_housing_area = 1 (36 m² for 5 persons)
    assert "Chỉ số 1. Việc làm: kết quả tính được là 1 (1 = thiếu hụt)" in page
    assert "Chỉ số 8. Diện tích nhà ở bình quân đầu người: kết quả tính được là 1" in page
    english = client.get(f"/app/submissions/{a}?lang=en").text
    assert "Indicator 1. Employment: derived value 1 (1 = deprived)" in english


def test_previous_and_next_follow_the_queue_the_submission_was_opened_from(
    client, web_login, households
):
    web_login("lan", "supervisor", areas=("21607",))
    queue = client.get("/app/review?review_state=&sort=id").text
    opened = re.findall(r'<a href="(/app/submissions/\d+\?back=[^"]+)"', queue)
    assert len(opened) == 2  # A and B; C is in another commune
    first = client.get(opened[0].replace("&amp;", "&")).text
    following = re.search(r'<a class="button" href="([^"]+)" rel="next">', first).group(1)
    assert 'rel="prev"' not in first
    second = client.get(following.replace("&amp;", "&")).text
    assert 'rel="next"' not in second
    previous = re.search(r'<a class="button" href="([^"]+)" rel="prev">', second).group(1)
    assert previous.split("?")[0] == opened[0].split("?")[0]
    plain = client.get(opened[0].split("?")[0]).text  # opened without a queue: no links
    assert 'rel="next"' not in plain


def test_the_queue_finds_submissions_by_text_without_marks(client, web_login, households):
    """Issue 13: a text search in the queue (and the API's ?q=), ignoring marks and case."""
    web_login("quan", "admin")
    codes = lambda html: set(re.findall(r'">([A-C]) - Nguyễn', html))  # noqa: E731
    assert codes(client.get("/app/review?review_state=&q=hai").text) == {"A", "B", "C"}
    assert codes(client.get("/app/review?review_state=&q=b%20-%20NGUYEN").text) == {"B"}
    assert codes(client.get("/app/review?review_state=&q=zzz").text) == set()
    assert 'name="q" value="hai"' in client.get("/app/review?q=hai").text


def test_bulk_approve_from_the_queue_all_or_nothing(client, web_login, households, db):
    token = web_login("lan", "supervisor", areas=("21607",))
    codes = by_code(client)
    queue = client.get("/app/review").text
    assert f'name="ids" value="{codes["A"]}"' in queue and 'id="pick-all"' in queue
    # Flagging needs a comment: nothing changes without one.
    refused = client.post(
        "/app/review/bulk",
        data={"csrf_token": token, "ids": [codes["A"], codes["B"]], "review_state": "hasIssues"},
        follow_redirects=True,
    )
    assert "Cần ghi nhận xét" in refused.text
    # C is in another commune: the whole selection is refused, A and B stay as they were.
    outside = {"csrf_token": token, "ids": [codes["A"], 999_999], "review_state": "approved"}
    assert client.post("/app/review/bulk", data=outside).status_code == 404
    with db.session() as s:
        states = dict(s.execute(select(Submission.household_code, Submission.review_state)).all())
    assert states["A"] != "approved" and states["B"] != "approved"
    done = client.post(
        "/app/review/bulk",
        data={
            "csrf_token": token,
            "ids": [codes["A"], codes["B"]],
            "review_state": "approved",
            "comment": "Đã đối chiếu tại thôn",
            "back": "/app/review?area=21607",
        },
    )
    assert done.status_code == 303 and done.headers["Location"] == "/app/review?area=21607"
    page = client.get(done.headers["Location"]).text
    assert "2 phiếu: Đã duyệt." in page
    with db.session() as s:
        states = dict(s.execute(select(Submission.household_code, Submission.review_state)).all())
    assert (states["A"], states["B"], states["C"]) == ("approved", "approved", "received")
    article = client.get(f"/app/submissions/{codes['A']}").text
    assert "Đã đối chiếu tại thôn" in article
    assert client.post("/app/review/bulk", data={"csrf_token": token}).status_code == 303


def test_an_edit_shows_what_changed_since_the_version_it_replaced(
    client, web_login, households, collector, db
):
    first = {
        "<period>2025<": "<period>2026<",
        "NC-T01-017": "E",
        "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": "0000e0e0-0000-4000-8000-000000000001",
    }
    assert [r.status for r in collector.submit(domain_sample("pov1.xml", **first))] == [201]
    edit = {
        **first,
        "0000e0e0-0000-4000-8000-000000000001": "0000e0e0-0000-4000-8000-000000000002",
        "</instanceID>": "</instanceID><deprecatedID>uuid:0000e0e0-0000-4000-8000-000000000001"
        "</deprecatedID>",
        "<head_name>Nguyễn Văn Hải<": "<head_name>Nguyễn Văn Hà<",
        "<m_name>Trần Thị Lan<": "<m_name>Trần Thị Lành<",
    }
    assert [r.status for r in collector.submit(domain_sample("pov1.xml", **edit))] == [201]
    web_login("lan", "supervisor", areas=("21607",))
    with db.session() as s:
        sid = s.scalar(select(Submission.id).where(Submission.household_code == "E"))
    page = client.get(f"/app/submissions/{sid}").text
    table = re.search(r'<table class="edit-changes">(.*?)</table>', page, re.S).group(1)
    assert "<del>Nguyễn Văn Hải</del>" in table and "<ins>Nguyễn Văn Hà</ins>" in table
    assert "<del>Trần Thị Lan</del>" in table and "(member[2])" in table
    assert "instanceID" not in table  # meta changes with every edit: left out
    assert table.count("<tr>") == 3  # header, head's name, the member's name


def test_the_map_page_shows_the_readers_submissions_as_points(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    reply = client.get("/app/map")
    assert reply.status_code == 200
    assert "tile.openstreetmap.org" in reply.headers["Content-Security-Policy"]
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', reply.text, re.S).group(1))
    codes = by_code(client)
    assert sorted(p["id"] for p in data["points"]) == sorted([codes["A"], codes["B"]])
    assert {p["category"] for p in data["points"]} == {"poor"}
    assert data["keys"] == ["poor"] and data["tiles"].startswith("https://tile.openstreetmap.org")
    assert "Hộ nghèo (2)" in reply.text and "2 trong 2 phiếu có vị trí" in reply.text
    assert data["points"][0]["url"].startswith("/app/submissions/")
    by_state = client.get("/app/map?colour=state&area=21607.T01").text
    data = json.loads(re.search(r'id="map-data">(.*?)</script>', by_state, re.S).group(1))
    assert [p["id"] for p in data["points"]] == [codes["A"]]
    assert data["keys"] == ["hasIssues"]  # A's photo was taken 5 km away
    assert "Cần sửa (1)" in by_state
    assert 'id="map-data">{"attribution"' in client.get("/app/map?period=1999").text


def test_the_area_filters_find_areas_by_name_without_marks_in_the_readers_scope(
    client, web_login, households
):
    web_login("lan", "supervisor", areas=("21607",))
    found = client.get("/app/areas/search?q=nhon chau").json
    assert [a["code"] for a in found][:1] == ["21607"] and found[0]["name"].startswith("Xã Nhơn")
    assert client.get("/app/areas/search?q=quy nhon bac").json == []  # outside lan's area
    queue = client.get("/app/review").text
    assert 'data-area-search="/app/areas/search"' in queue and "area-picker.js" in queue


def test_the_queue_shows_the_answers_chosen_as_columns(client, web_login, households):
    web_login("lan", "supervisor", areas=("21607",))
    page = client.get("/app/review?form=poverty_review").text
    assert 'name="col" value="/data/household/head_name"' in page  # offered with a form chosen
    assert 'class="answer-col"' not in page
    page = client.get(
        "/app/review?form=poverty_review&col=/data/household/head_name"
        "&col=/data/household/ethnicity&col=/data/nosuch"
    ).text
    headers = re.findall(r'<th class="answer-col">([^<]*)</th>', page)
    assert headers == ["Họ và tên chủ hộ", "Dân tộc của chủ hộ"]
    cells = re.findall(r'<td class="answer-col" data-label="[^"]*">([^<]*)</td>', page)
    assert cells.count("Nguyễn Văn Hải") == 2 and cells.count("Kinh") == 2  # a choice's label
    # The columns stay on the next page's and the submission's links.
    assert "col=/data/household/head_name&amp;col=/data/household/ethnicity" in page
