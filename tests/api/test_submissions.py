"""Submissions through the REST API: scoping, filters, detail, files, review, comments, audit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from factories import domain_sample, jpeg
from sqlalchemy import select
from stored import count

from khudan.models import AuditEvent, PovertyFact
from khudan.services import forms

FORMS = Path(__file__).resolve().parents[2] / "forms"
PHOTO = jpeg(color=(90, 120, 30))


@pytest.fixture
def two_households(registry, db, storage, collector):
    """A poverty review in Xã Nhơn Châu (21607, with a photo) and one in Phường Quy Nhơn Bắc."""
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)
    rural = domain_sample("pov1.xml", **{"<house_photo />": "<house_photo>house.jpg</house_photo>"})
    urban = domain_sample(
        "pov2.xml", **{"<household_code />": "<household_code>QNB-K01-004</household_code>"}
    )
    assert [r.status for r in collector.submit(rural, {"house.jpg": PHOTO})] == [201]
    assert [r.status for r in collector.submit(urban)] == [201]


def ids(client, headers, query="") -> list[str]:
    r = client.get(f"/api/v1/submissions{query}", headers=headers)
    assert r.status_code == 200, r.json
    return [item["commune_code"] for item in r.json["items"]]


def first_id(client, headers) -> int:
    return client.get("/api/v1/submissions?sort=id", headers=headers).json["items"][0]["id"]


def test_scoping_admin_all_supervisor_subtree_collector_own(
    client, login, two_households, make_user
):
    assert sorted(ids(client, login())) == ["21553", "21607"]
    assert ids(client, login("lan", "supervisor", areas=("21607",))) == ["21607"]
    assert ids(client, login("binh", "supervisor", areas=("52",))) != []  # the whole province
    assert ids(client, login("vy", "supervisor")) == []  # no areas: nothing
    assert sorted(ids(client, login("thu2", "collector", areas=("52",)))) == []  # not theirs
    r = client.get("/api/v1/submissions", headers=login("dung", "designer"))
    assert r.status_code == 403 and r.json["code"] == "403.2"
    assert client.get("/api/v1/submissions").status_code == 401


def test_filters_sorting_and_pagination(client, login, two_households):
    admin = login()
    assert ids(client, admin, "?area=21607.T01") == ["21607"]
    assert ids(client, admin, "?area=52&sort=id") == ["21607", "21553"]
    assert ids(client, admin, "?period=2026") == ["21553"]
    assert ids(client, admin, "?form=poverty_review&version=2026120501&sort=-id") == [
        "21553",
        "21607",
    ]
    assert ids(client, admin, "?form=nosuch") == []
    assert sorted(ids(client, admin, "?submitter=thu")) == ["21553", "21607"]
    assert ids(client, admin, "?submitter=nobody") == []
    # pov2 left required questions unanswered: checked against the form, it has problems.
    assert ids(client, admin, "?has_problems=true") == ["21553"]
    assert ids(client, admin, "?review_state=hasIssues") == ["21553"]
    assert ids(client, admin, "?has_problems=false&review_state=received") == ["21607"]
    page = client.get("/api/v1/submissions?per_page=1&page=2&sort=id", headers=admin).json
    assert (page["total"], page["page"], len(page["items"])) == (2, 2, 1)
    assert page["items"][0]["commune_code"] == "21553"
    bad = client.get("/api/v1/submissions?sort=nosuch&per_page=0", headers=admin)
    assert bad.status_code == 422 and set(bad.json["details"]["errors"]) == {"sort", "per_page"}


def test_detail_nests_answers_with_labels_files_and_history(client, login, two_households):
    admin = login()
    sid = first_id(client, admin)
    r = client.get(f"/api/v1/submissions/{sid}", headers=admin)
    assert r.status_code == 200
    body = r.json
    assert body["answers"]["household"]["household_code"] == "NC-T01-017"
    assert isinstance(body["answers"]["member"], list) and len(body["answers"]["member"]) == 5
    assert body["answers"]["member"][0]["m_name"] == "Nguyễn Văn Hải"
    assert body["labels"]["/data/member"] == {
        "vi": "Thành viên hộ gia đình",
        "en": "Household member",
    }
    [photo] = body["attachments"]
    assert (photo["name"], photo["exists"], photo["content_type"]) == (
        "house.jpg",
        True,
        "image/jpeg",
    )
    meta = photo["photo"]
    assert (meta["width"], meta["height"], meta["taken_at"]) == (64, 48, None)  # no EXIF
    assert meta["thumbnails"] == {size: f"{photo['url']}?size={size}" for size in ("320", "1280")}
    thumb = client.get(meta["thumbnails"]["320"], headers=admin)
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.get_data()[:2] == b"\xff\xd8"
    thumb.close()
    assert body["versions"][0]["current"] is True and body["problems"] == []
    assert body["instance_name"] == "NC-T01-017 - Nguyễn Văn Hải"
    xml = client.get(f"/api/v1/submissions/{sid}.xml", headers=admin)
    assert xml.status_code == 200 and xml.data == domain_sample(
        "pov1.xml", **{"<house_photo />": "<house_photo>house.jpg</house_photo>"}
    )


def test_attachment_download_has_type_disposition_etag(client, login, two_households):
    admin = login()
    sid = first_id(client, admin)
    r = client.get(f"/api/v1/submissions/{sid}/attachments/house.jpg", headers=admin)
    assert r.status_code == 200 and r.data == PHOTO
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Content-Disposition"].startswith("inline")
    assert r.headers["ETag"] == f'"{hashlib.md5(PHOTO).hexdigest()}"'
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    r.close()
    again = client.get(
        f"/api/v1/submissions/{sid}/attachments/house.jpg",
        headers={**admin, "If-None-Match": r.headers["ETag"]},
    )
    assert again.status_code == 304
    missing = client.get(f"/api/v1/submissions/{sid}/attachments/nosuch.jpg", headers=admin)
    assert missing.status_code == 404


def test_out_of_scope_detail_is_404_not_403(client, login, two_households):
    sid = first_id(client, login())  # the 21607 household
    other = login("hoa", "supervisor", areas=("21553",))
    for path in (
        f"/api/v1/submissions/{sid}",
        f"/api/v1/submissions/{sid}.xml",
        f"/api/v1/submissions/{sid}/attachments/house.jpg",
        f"/api/v1/submissions/{sid}/comments",
    ):
        assert client.get(path, headers=other).status_code == 404
    r = client.patch(f"/api/v1/submissions/{sid}", headers=other, json={"review_state": "approved"})
    assert r.status_code == 404


def test_reject_needs_a_comment_and_removes_the_household_from_the_facts(
    client, login, two_households, db
):
    lan = login("lan", "supervisor", areas=("21607",))
    sid = first_id(client, lan)
    assert count(db, PovertyFact) == 2
    r = client.patch(f"/api/v1/submissions/{sid}", headers=lan, json={"review_state": "rejected"})
    assert r.status_code == 422 and r.json["code"] == "422.7"
    r = client.patch(
        f"/api/v1/submissions/{sid}",
        headers=lan,
        json={"review_state": "rejected", "comment": "Sai hộ, khảo sát lại"},
    )
    assert r.status_code == 200 and r.json["review_state"] == "rejected"
    assert [c["body"] for c in r.json["comments"]] == ["Sai hộ, khảo sát lại"]
    assert r.json["comments"][0]["author"] == "lan"
    with db.session() as s:
        assert [f.commune_code for f in s.scalars(select(PovertyFact))] == ["21553"]
    r = client.patch(f"/api/v1/submissions/{sid}", headers=lan, json={"review_state": "approved"})
    assert r.status_code == 200
    assert count(db, PovertyFact) == 2  # counted again
    with db.session() as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.details)
            .where(AuditEvent.action == "submission.review")
            .order_by(AuditEvent.id)
        ).all()
    assert [d for _, d in events] == [
        {"from": "received", "to": "rejected"},
        {"from": "rejected", "to": "approved"},
    ]


def test_roles_that_may_not_review(client, login, two_households):
    sid = first_id(client, login())
    for role in ("collector", "designer"):
        headers = login(f"u_{role}", role, areas=("52",))
        r = client.patch(
            f"/api/v1/submissions/{sid}", headers=headers, json={"review_state": "approved"}
        )
        assert r.status_code == 403


def test_comments_thread(client, login, two_households):
    lan = login("lan", "supervisor", areas=("21607",))
    sid = first_id(client, lan)
    r = client.post(f"/api/v1/submissions/{sid}/comments", headers=lan, json={"body": "Ảnh mờ"})
    assert r.status_code == 201 and r.json["author"] == "lan"
    assert (
        client.post(
            f"/api/v1/submissions/{sid}/comments", headers=lan, json={"body": ""}
        ).status_code
        == 422
    )
    thread = client.get(f"/api/v1/submissions/{sid}/comments", headers=lan).json
    assert [c["body"] for c in thread] == ["Ảnh mờ"]


def test_bulk_review_is_all_or_nothing_within_scope(client, login, two_households, db):
    admin = login()
    all_ids = [i["id"] for i in client.get("/api/v1/submissions", headers=admin).json["items"]]
    lan = login("lan", "supervisor", areas=("21607",))
    r = client.post(
        "/api/v1/submissions/review", headers=lan, json={"ids": all_ids, "review_state": "approved"}
    )
    assert r.status_code == 404  # one of them is outside lan's areas: nothing changes
    assert ids(client, admin, "?review_state=approved") == []
    r = client.post(
        "/api/v1/submissions/review",
        headers=admin,
        json={"ids": all_ids, "review_state": "approved"},
    )
    assert r.status_code == 200 and r.json == {"updated": 2}
    assert sorted(ids(client, admin, "?review_state=approved")) == ["21553", "21607"]


def test_audit_log_is_for_admins_and_filters(client, login, two_households):
    admin = login()
    lan = login("lan", "supervisor", areas=("21607",))
    assert client.get("/api/v1/audit", headers=lan).status_code == 403
    r = client.get("/api/v1/audit?action=user.login&actor=lan", headers=admin)
    assert r.status_code == 200 and r.json["total"] == 1
    assert r.json["items"][0]["action"] == "user.login"
