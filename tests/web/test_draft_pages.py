"""The draft page: a designer uploads an XLSForm as a draft, reads the checks, the changes and a
preview of the questions, scans the test QR code, then publishes or discards it."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib

import zxingcpp
from collect import CollectClient, flask_sender
from factories import household_xml
from PIL import Image
from sqlalchemy import select
from xlsform import form_md, xlsx_bytes

from khudan.models import AuditEvent, FormDraft


def upload(client, token, name: str, version: str, action: str = "draft"):
    """The upload form as a browser posts it (``action`` is what an old page's button sent)."""
    data = {
        "csrf_token": token,
        "action": action,
        "file": (io.BytesIO(xlsx_bytes(form_md(name, version=version))), f"{name}.xlsx"),
    }
    return client.post("/app/forms", data=data, content_type="multipart/form-data")


def test_upload_as_draft_then_read_test_and_publish(client, web_login, publish, db):
    publish("household", version="1")
    token = web_login("minh", "designer")
    reply = upload(client, token, "household_next", "2")
    assert reply.status_code == 303 and reply.headers["Location"] == "/app/forms/household/draft"
    page = client.get("/app/forms/household/draft").text
    assert "Đã lưu bản nháp phiên bản 2." in page
    assert "Phiên bản điện thoại đang dùng: <strong>1</strong>" in page
    changes = re.search(r'<table class="draft-changes">(.*?)</table>', page, re.S).group(1)
    assert "/data/phone" in changes and "Thêm mới" in changes
    assert "/data/hh_size" in changes and "Bỏ đi" in changes
    assert "Đổi: nhãn, bắt buộc" in re.sub(r"\s+", " ", changes)
    preview = re.search(r'<ol class="form-preview">(.*?)</ol>', page, re.S).group(1)
    assert "Số điện thoại" in preview and "Lựa chọn lấy từ tệp villages.csv" in preview
    assert "instanceID" not in preview  # bookkeeping is not a question
    src = re.search(r'<img src="data:image/png;base64,([^"]+)"', page).group(1)
    (code,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(src))))
    url = json.loads(zlib.decompress(base64.b64decode(code.text)))["general"]["server_url"]
    assert url in page and url.startswith("http://localhost/test/")
    listed = client.get(
        f"{url.removeprefix('http://localhost')}/formList", headers={"X-OpenRosa-Version": "1.0"}
    )
    assert b"<version>2</version>" in listed.data
    tester = CollectClient(flask_sender(client.application.test_client()), url)
    assert [r.status for r in tester.submit(household_xml("uuid:try-1", version="2"))] == [201]
    tests = re.search(
        r'<table class="draft-tests">(.*?)</table>',
        client.get("/app/forms/household/draft").text,
        re.S,
    ).group(1)
    assert "uuid:try-1" in tests
    link = re.search(r'href="(/app/forms/household/draft/tests/\d+\.xml)"', tests).group(1)
    assert b"<instanceID>uuid:try-1</instanceID>" in client.get(link).data
    # The list and the form page point at the draft.
    assert 'href="/app/forms/household/draft"' in client.get("/app/forms").text
    assert "Có bản nháp phiên bản 2 chờ xuất bản." in client.get("/app/forms/household").text
    # In English too.
    english = client.get("/app/forms/household/draft?lang=en").text
    assert "Changes from the version in use" in english and "Phone number" in english
    client.get("/app/forms?lang=vi")  # the choice is remembered: back to Vietnamese

    done = client.post("/app/forms/household/draft/publish", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["Location"] == "/app/forms/household"
    page = client.get("/app/forms/household").text
    assert "Đã xuất bản household phiên bản 2." in page and "chờ xuất bản" not in page
    assert client.get("/app/forms/household/draft").status_code == 404


def test_discard_and_the_errors_a_designer_can_act_on(client, web_login, publish, db):
    publish("household", version="1")
    token = web_login("minh", "designer")
    taken = upload(client, token, "household_next", "1")
    assert taken.status_code == 409 and "đã được xuất bản" in taken.text
    assert upload(client, token, "household_next", "2").status_code == 303
    gone = client.post("/app/forms/household/draft/discard", data={"csrf_token": token})
    assert gone.status_code == 303 and gone.headers["Location"] == "/app/forms"
    assert "Đã bỏ bản nháp của household." in client.get("/app/forms").text
    with db.session() as s:
        assert s.scalars(select(FormDraft)).all() == []
        kinds = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.action.like("form.draft%"))
            .order_by(AuditEvent.id)
        )
        assert list(kinds) == ["form.draft.save", "form.draft.discard"]
    # Every upload from the page is a draft: there is no button that publishes at once.
    now = upload(client, token, "household_next", "3", action="publish")
    assert now.status_code == 303 and now.headers["Location"] == "/app/forms/household/draft"
    with db.session() as s:
        assert s.scalar(select(FormDraft.version)) == "3"


def test_drafts_are_for_designers(client, web_login, publish):
    publish("household", version="1")
    web_login("lan", "supervisor")
    assert client.get("/app/forms/household/draft").status_code == 403
