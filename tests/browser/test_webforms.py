"""ODK Web Forms in the browser: a collector enters a paper form on /app/fill and it arrives as a
submission exactly like one from Collect; a designer previews a draft without sending anything."""

from __future__ import annotations

from collect import CollectClient, requests_sender
from factories import household_xml
from playwright.sync_api import expect
from sqlalchemy import select
from xlsform import form_md, xlsx_bytes

from khudan.models import DraftTestSubmission, Submission, SubmissionVersion, User
from khudan.services import drafts, forms


def test_a_collector_enters_a_paper_form_and_it_arrives_like_collects(page_as, live):
    page = page_as("collector")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.get_by_role("link", name="Nhập phiếu").first.click()
    page.get_by_role("link", name="Hộ gia đình").click()
    expect(page.get_by_text("Mã hộ")).to_be_visible()
    page.get_by_label("Mã hộ").fill("HH-WEB-01")
    page.get_by_label("Chủ hộ").fill("Phạm Thị Giấy")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#webform-status")).to_contain_text("Đã gửi phiếu")
    assert errors == []
    with live.db.session() as s:
        row = s.execute(
            select(Submission, SubmissionVersion, User.username)
            .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
            .join(User, User.id == Submission.submitter_id)
            .order_by(Submission.id.desc())
        ).first()
        submission, version, username = row
        assert b"<hh_code>HH-WEB-01</hh_code>" in version.xml
        assert username == "thu" and version.device_id == "web"
        assert submission.review_state == "received"


def test_a_designer_previews_a_draft_and_nothing_is_sent(page_as, live):
    xml = forms.convert_xlsform(xlsx_bytes(form_md("household_next", version="2")))[0]
    drafts.save(live.db, live.storage, xml=xml, validate=False)
    page = page_as("designer")
    page.goto("/app/forms/household/draft")
    page.get_by_role("link", name="Điền thử bằng ODK Web Forms").click()
    expect(page.get_by_label("Số điện thoại")).to_be_visible()
    page.get_by_label("Mã hộ").fill("HH-TEST")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#webform-status")).to_contain_text("không gửi đi")
    with live.db.session() as s:
        assert s.scalars(select(DraftTestSubmission)).all() == []
        assert not any(b"HH-TEST" in v for v in s.scalars(select(SubmissionVersion.xml)))
    drafts.discard(live.db, "household", None)


def test_a_supervisor_edits_a_submission_in_the_browser(page_as, live):
    """The edit is a new version with deprecatedID, as from Collect; the queue shows it edited."""
    phone = CollectClient(requests_sender(), live.url, "thu", "correct horse")
    assert [r.status for r in phone.submit(household_xml("uuid:paper-1", head="Lò Văn Cũ"))] == [
        201
    ]
    with live.db.session() as s:
        sid = s.scalar(select(Submission.id).where(Submission.instance_id == "uuid:paper-1"))
    page = page_as("admin")
    page.goto(f"/app/submissions/{sid}")
    page.get_by_role("link", name="Sửa trong trình duyệt").click()
    head = page.get_by_label("Chủ hộ")
    expect(head).to_have_value("Lò Văn Cũ")  # the current version, loaded for editing
    head.fill("Lò Văn Mới")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/app/submissions/{sid}")
    with live.db.session() as s:
        submission = s.get(Submission, sid)
        versions = s.scalars(
            select(SubmissionVersion)
            .where(SubmissionVersion.submission_id == sid)
            .order_by(SubmissionVersion.id)
        ).all()
        assert [v.deprecated_id for v in versions] == [None, "uuid:paper-1"]
        assert "<head>Lò Văn Mới</head>".encode() in versions[1].xml
        assert submission.review_state == "edited"
    page.goto("/app/review")
    expect(page.get_by_text("Lò Văn Mới").first).to_be_visible()
