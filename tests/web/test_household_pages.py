"""The household registry on the pages: a supervisor's list (search without marks, conflicts),
a household's page with its reviews across periods and every version, a conflict settled, an
import with rejected lines, the download, and the admin's approval setting."""

from __future__ import annotations

import csv
import io
import re
import uuid

from collect import CollectClient, flask_sender
from factories import domain_sample
from sqlalchemy import func, select

from khudan.models import Entity, EntityList, Submission, User
from khudan.services import submissions

PASSWORD = "correct horse"

LAST_YEAR = (
    "label,household_code,head_name,province,commune,area_code,poverty_class,period\n"
    "NC-T01-017 - Nguyễn Văn Hải,NC-T01-017,Nguyễn Văn Hải,52,21607,21607.T01,poor,2025\n"
    "NC-T01-018 - Trần Thị Hoa,NC-T01-018,Trần Thị Hoa,52,21607,21607.T01,near_poor,2025\n"
    "QN-K01-001 - Lê Văn Tám,QN-K01-001,Lê Văn Tám,52,21553,21553.K01,poor,2025\n"
).encode()


def _import(client, csrf) -> None:
    r = client.post(
        "/app/lists/households/import",
        data={"file": (io.BytesIO(LAST_YEAR), "households.csv"), "csrf_token": csrf},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303


def test_a_supervisor_imports_finds_and_opens_a_household(client, web_login, registry, shipped):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    _import(client, csrf)
    page = client.get("/app/households").text
    assert "Nguyễn Văn Hải" in page and "Trần Thị Hoa" in page
    assert "Lê Văn Tám" not in page  # rejected: outside Xã Nhơn Châu
    found = client.get("/app/households?q=nguyen+van+hai").text
    assert "Nguyễn Văn Hải" in found and "Trần Thị Hoa" not in found
    link = re.search(r'href="(/app/lists/households/[0-9a-f-]{36})"', found).group(1)
    one = client.get(link).text
    assert "NC-T01-017" in one and "Nhập từ tệp CSV" in one and "Lịch sử thay đổi" in one


def test_the_import_says_which_lines_were_left_out(client, web_login, registry, shipped):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    r = client.post(
        "/app/lists/households/import",
        data={"file": (io.BytesIO(LAST_YEAR), "households.csv"), "csrf_token": csrf},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Đã thêm 2" in r.text and "Dòng 4: outside your areas" in r.text


def test_a_household_page_lists_its_reviews_across_periods(
    client, web_login, registry, shipped, db, make_user
):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    _import(client, csrf)
    make_user("thu", "collector", areas=("21607",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    assert [r.status for r in phone.submit(domain_sample("pov1.xml"))] == [201]
    with db.session() as s:
        lst = s.scalar(select(EntityList))
        hid = s.scalar(select(Entity.uuid).where(Entity.label.like("NC-T01-017%")))
        sub = s.scalar(select(Submission))
        lan = s.scalar(select(User).where(User.username == "lan"))
        submissions.set_review_state(s, lan, sub, "approved", None)
        s.commit()
        assert lst.approval_required
    page = client.get(f"/app/lists/households/{hid}").text
    reviews = re.search(r'<section class="card" id="reviews">(.*?)</section>', page, re.S).group(1)
    assert "2025" in reviews and "Hộ nghèo" in reviews and "Xem phiếu" in reviews


def test_a_conflict_is_shown_and_settled(client, web_login, registry, shipped, db):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    _import(client, csrf)
    with db.session() as s:
        entity = s.scalar(select(Entity).where(Entity.label.like("NC-T01-018%")))
        entity.conflict = "hard"
        hid, version = entity.uuid, entity.version
        s.commit()
    listed = client.get("/app/households?conflict=1").text
    assert "Trần Thị Hoa" in listed and "Nguyễn Văn Hải" not in listed
    page = client.get(f"/app/lists/households/{hid}").text
    assert 'id="conflict"' in page
    r = client.post(
        f"/app/lists/households/{hid}/edit",
        data={
            "csrf_token": csrf,
            "base_version": str(version),
            "label": "NC-T01-018 - Trần Thị Hòa",
            "p_head_name": "Trần Thị Hòa",
            "resolve": "1",
        },
    )
    assert r.status_code == 303
    with db.session() as s:
        entity = s.scalar(select(Entity).where(Entity.uuid == hid))
        assert entity.conflict is None and entity.version == version + 1
        assert entity.data["head_name"] == "Trần Thị Hòa"
    stale = client.post(
        f"/app/lists/households/{hid}/edit",
        data={"csrf_token": csrf, "base_version": str(version), "p_head_name": "X"},
        follow_redirects=True,
    )
    assert "đã được sửa" in stale.text  # 409.31 in words, nothing saved
    with db.session() as s:
        assert s.scalar(select(Entity.data).where(Entity.uuid == hid))["head_name"] != "X"


def test_the_download_holds_the_readers_areas_only(client, web_login, registry, shipped, db):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    _import(client, csrf)
    r = client.get("/app/lists/households/export.csv")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert sorted(row["household_code"] for row in rows) == ["NC-T01-017", "NC-T01-018"]
    assert all(uuid.UUID(row["name"]).version == 4 for row in rows)


def test_only_an_admin_changes_when_submissions_apply(client, web_login, registry, shipped, db):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    assert 'id="settings"' not in client.get("/app/households").text
    denied = client.post(
        "/app/lists/households/settings", data={"csrf_token": csrf, "approval_required": "0"}
    )
    assert denied.status_code == 403
    client.post("/app/logout", data={"csrf_token": csrf})
    csrf = web_login("an", "admin")
    assert 'id="settings"' in client.get("/app/households").text
    r = client.post(
        "/app/lists/households/settings", data={"csrf_token": csrf, "approval_required": "0"}
    )
    assert r.status_code == 303
    with db.session() as s:
        assert s.scalar(select(EntityList.approval_required)) is False


def test_a_submissions_page_says_what_it_does_to_the_household(
    client, web_login, registry, shipped, db, make_user
):
    csrf = web_login("lan", "supervisor", areas=("21607",))
    make_user("thu", "collector", areas=("21607",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    assert [r.status for r in phone.submit(domain_sample("pov1.xml"))] == [201]
    with db.session() as s:
        sid = s.scalar(select(Submission.id))
    page = client.get(f"/app/submissions/{sid}").text
    assert 'id="entities"' in page and "khi phiếu được duyệt" in page
    r = client.post(
        f"/app/submissions/{sid}/review", data={"csrf_token": csrf, "review_state": "approved"}
    )
    assert r.status_code in (302, 303)
    page = client.get(f"/app/submissions/{sid}").text
    section = re.search(r'<section class="card" id="entities".*?</section>', page, re.S).group(0)
    assert "NC-T01-017 - Nguyễn Văn Hải" in section and "phiên bản 1" in section


def test_last_periods_reviews_become_the_list_without_copies(
    client, web_login, registry, shipped, db, make_user
):
    """A deployment that reviewed 2025 in khudan seeds the list from those reviews; seeding again
    duplicates nothing, and a household already listed is brought up to the period."""
    csrf = web_login("lan", "supervisor", areas=("21607",))
    make_user("thu", "collector", areas=("21607",))
    phone = CollectClient(flask_sender(client), "http://localhost", "thu", PASSWORD)
    for code in ("NC-T01-017", "NC-T01-030"):
        xml = domain_sample(
            "pov1.xml",
            **{
                "NC-T01-017<": f"{code}<",
                "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4()),
            },
        )
        assert [r.status for r in phone.submit(xml)] == [201]
    _import(client, csrf)  # NC-T01-017 (period 2025 already) and NC-T01-018 are listed
    page = client.get("/app/households").text
    assert 'id="seed"' in page and "<option>2025</option>" in page
    r = client.post(
        "/app/lists/households/seed",
        data={"csrf_token": csrf, "period": "2025"},
        follow_redirects=True,
    )
    assert "Đã thêm 1, cập nhật 0, giữ nguyên 1 hộ" in r.text
    again = client.post(
        "/app/lists/households/seed",
        data={"csrf_token": csrf, "period": "2025"},
        follow_redirects=True,
    )
    assert "Đã thêm 0, cập nhật 0, giữ nguyên 2 hộ" in again.text
    with db.session() as s:
        added = s.scalar(select(Entity).where(Entity.label.like("NC-T01-030%")))
        assert added.data["poverty_class"] == "poor" and added.data["period"] == "2025"
        assert added.area_code == "21607.T01" and added.data["household_size"] == "5"
        assert s.scalar(select(func.count()).select_from(Entity)) == 3
