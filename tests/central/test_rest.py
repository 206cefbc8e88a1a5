"""The ODK Central REST subset under /v1: log-in, the one project, forms and versions, submissions,
files, review and comments, with khudan's roles and areas applied to every row."""

from __future__ import annotations

import hashlib

from factories import jpeg
from sqlalchemy import select

from khudan.models import AuditEvent, Submission

P = "/v1/projects/1"
PHOTO = jpeg(color=(40, 90, 160))  # as the households fixture sends it


def test_log_in_as_central_answers_200_with_a_bearer_token_that_users_current_accepts(
    client, make_user
):
    make_user("lan", "supervisor")
    r = client.post("/v1/sessions", json={"email": "lan", "password": "correct horse"})
    assert r.status_code == 200
    assert set(r.json) == {"token", "csrf", "expiresAt", "createdAt"}
    assert r.json["expiresAt"].endswith("Z")
    headers = {"Authorization": f"Bearer {r.json['token']}"}
    me = client.get("/v1/users/current", headers=headers)
    assert me.status_code == 200
    assert (me.json["displayName"], me.json["email"], me.json["type"]) == ("lan", "lan", "user")
    # Logging out ends the token at once.
    assert client.delete("/v1/sessions/current", headers=headers).json == {"success": True}
    gone = client.get("/v1/users/current", headers=headers)
    assert gone.status_code == 401 and gone.json["code"] == "401.4"


def test_wrong_password_is_401_and_too_many_are_429(client, make_user):
    make_user("lan", "supervisor")
    for _ in range(5):
        r = client.post("/v1/sessions", json={"email": "lan", "password": "nope"})
        assert r.status_code == 401 and r.json["code"] == "401.2"
    r = client.post("/v1/sessions", json={"email": "lan", "password": "correct horse"})
    assert r.status_code == 429
    assert client.post("/v1/sessions", json={"password": "x"}).status_code == 422
    assert client.get("/v1/users/current").status_code == 401


def test_one_project_holds_every_form_with_central_keys(client, households, central_login):
    h = central_login("dung", "designer")
    projects = client.get("/v1/projects", headers=h).json
    assert [(p["id"], p["name"]) for p in projects] == [(1, "khudan")]
    assert client.get(f"{P}", headers=h).json["id"] == 1
    other = client.get("/v1/projects/2/forms", headers=h)
    assert other.status_code == 404 and "project 2" in other.json["message"]
    listed = client.get(f"{P}/forms", headers=h).json
    assert [f["xmlFormId"] for f in listed] == ["household"]
    form = listed[0]
    for key in ("name", "enketoId", "keyId", "updatedAt", "publishedAt"):
        assert key in form  # pyodk requires these keys, even when null
    assert (form["projectId"], form["version"], form["state"]) == (1, "1", "open")
    xml = client.get(f"{P}/forms/household.xml", headers=h)
    assert xml.status_code == 200 and b'id="household"' in xml.data
    assert form["hash"] == hashlib.md5(xml.data).hexdigest()
    assert client.get(f"{P}/forms/nosuch", headers=h).status_code == 404


def test_form_versions_newest_first_each_with_its_xml(client, publish, central_login):
    publish("simple", version="1")
    publish("simple", version="2")
    h = central_login()
    versions = client.get(f"{P}/forms/simple/versions", headers=h).json
    assert [v["version"] for v in versions] == ["2", "1"]
    one = client.get(f"{P}/forms/simple/versions/1", headers=h).json
    assert one["version"] == "1" and one["hash"] == versions[1]["hash"]
    xml = client.get(f"{P}/forms/simple/versions/1.xml", headers=h)
    assert b'version="1"' in xml.data
    assert client.get(f"{P}/forms/simple/versions/9", headers=h).status_code == 404


def test_submissions_list_detail_xml_versions_and_files(client, households, central_login):
    h = central_login()
    r = client.get(f"{P}/forms/household/submissions", headers=h)
    assert r.headers["X-Total-Count"] == "3"
    assert [s["instanceId"] for s in r.json] == ["uuid:h3", "uuid:h2", "uuid:h1"]
    first = r.json[0]
    assert first["reviewState"] is None and isinstance(first["submitterId"], int)
    assert first["currentVersion"]["instanceName"] == "HH-03 - Nguyễn Văn An"
    paged = client.get(f"{P}/forms/household/submissions?limit=1&offset=1", headers=h).json
    assert [s["instanceId"] for s in paged] == ["uuid:h2"]
    one = client.get(f"{P}/forms/household/submissions/uuid%3Ah2", headers=h).json
    assert one["instanceName"] == "HH-02 - Trần Thị Bình"
    xml = client.get(f"{P}/forms/household/submissions/uuid%3Ah2.xml", headers=h)
    assert b"<instanceID>uuid:h2</instanceID>" in xml.data
    files = client.get(f"{P}/forms/household/submissions/uuid%3Ah2/attachments", headers=h)
    assert files.json == [{"exists": True, "name": "b.jpg"}, {"exists": True, "name": "house.jpg"}]
    photo = client.get(f"{P}/forms/household/submissions/uuid%3Ah2/attachments/b.jpg", headers=h)
    assert photo.status_code == 200 and photo.data == PHOTO
    photo.close()
    missing = client.get(f"{P}/forms/household/submissions/uuid%3Ah2/attachments/x.jpg", headers=h)
    assert missing.status_code == 404
    history = client.get(f"{P}/forms/household/submissions/uuid%3Ah2/versions", headers=h).json
    assert [(v["instanceId"], v["current"]) for v in history] == [("uuid:h2", True)]
    assert client.get(f"{P}/forms/household/submissions/uuid%3Anone", headers=h).status_code == 404


def test_rows_follow_roles_and_areas(client, two_communes, central_login):
    url = f"{P}/forms/poverty_review/submissions"

    def communes(headers) -> list[str | None]:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.json
        with client.application.extensions["khudan"].db.session() as s:
            ids = [row["instanceId"] for row in r.json]
            return sorted(
                s.scalars(select(Submission.commune_code).where(Submission.instance_id.in_(ids)))
            )

    assert communes(central_login()) == ["21553", "21607"]
    lan = central_login("lan", "supervisor", areas=("21607",))
    assert communes(lan) == ["21607"]
    assert communes(central_login("vy", "supervisor")) == []
    assert communes(central_login("thu2", "collector", areas=("52",))) == []  # not theirs
    designer = client.get(url, headers=central_login("dung", "designer"))
    assert designer.status_code == 403 and designer.json["code"] == "403.2"
    # A row outside the supervisor's areas is not found, in the list, the detail and OData.
    everything = {s["instanceId"] for s in client.get(url, headers=central_login("root")).json}
    (outside,) = everything - {s["instanceId"] for s in client.get(url, headers=lan).json}
    assert client.get(f"{url}/{outside}", headers=lan).status_code == 404
    feed = client.get(f"{P}/forms/poverty_review.svc/Submissions?$count=true", headers=lan).json
    assert feed["@odata.count"] == 1 and feed["value"][0]["__id"] != outside


def test_review_and_comments_as_pyodk_sends_them(client, households, central_login, db):
    h = central_login("lan", "admin")
    url = f"{P}/forms/household/submissions/uuid%3Ah1"
    ok = client.patch(url, json={"reviewState": "approved"}, headers=h)
    assert ok.status_code == 200 and ok.json["reviewState"] == "approved"
    # Rejecting needs a reason: 422 until the reviewer has commented (pyodk: comment first).
    refused = client.patch(url, json={"reviewState": "rejected"}, headers=h)
    assert refused.status_code == 422 and refused.json["code"] == "422.7"
    said = client.post(f"{url}/comments", json={"body": "Thiếu ảnh nhà"}, headers=h)
    assert said.status_code == 200 and said.json["body"] == "Thiếu ảnh nhà"
    assert isinstance(said.json["actorId"], int) and said.json["createdAt"].endswith("Z")
    rejected = client.patch(url, json={"reviewState": "rejected"}, headers=h)
    assert rejected.status_code == 200 and rejected.json["reviewState"] == "rejected"
    # The comment counted once: the next flag needs a new one (or one in the body).
    again = client.patch(url, json={"reviewState": "hasIssues"}, headers=h)
    assert again.status_code == 422
    flagged = client.patch(url, json={"reviewState": "hasIssues", "comment": "Xem lại"}, headers=h)
    assert flagged.json["reviewState"] == "hasIssues"
    back = client.patch(url, json={"reviewState": None}, headers=h)
    assert back.json["reviewState"] is None
    comments = client.get(f"{url}/comments", headers=h).json
    assert [c["body"] for c in comments] == ["Xem lại", "Thiếu ảnh nhà"]  # newest first
    edited = client.patch(url, json={"reviewState": "edited"}, headers=h)
    assert (
        edited.status_code == 422 and "edit" in edited.json["details"]["errors"]["reviewState"][0]
    )
    bogus = client.patch(url, json={"reviewState": "done"}, headers=h)
    assert bogus.status_code == 422
    with db.session() as s:
        reviews = s.scalars(
            select(AuditEvent.details)
            .where(AuditEvent.action == "submission.review")
            .order_by(AuditEvent.id)
        ).all()
    assert [d["to"] for d in reviews] == ["approved", "rejected", "hasIssues", "received"]


def test_collectors_read_but_do_not_review(client, households, central_login):
    h = central_login("thu3", "collector")
    url = f"{P}/forms/household/submissions/uuid%3Ah1"
    assert client.get(f"{P}/forms/household/submissions", headers=h).json == []  # not theirs
    assert client.patch(url, json={"reviewState": "approved"}, headers=h).status_code == 403
    assert client.post(f"{url}/comments", json={"body": "x"}, headers=h).status_code == 403


def test_central_endpoints_khudan_does_not_offer_are_json_404(client, central_login):
    h = central_login()
    for method, path in [
        ("post", f"{P}/app-users"),
        ("post", f"{P}/forms/household/draft"),
        ("post", f"{P}/forms/household/submissions"),
        ("get", "/v1/audits"),
    ]:
        r = getattr(client, method)(path, headers=h)
        assert r.status_code == 404 and r.json["code"] == "404.4", path


def test_ruodk_requests_extended_metadata_and_fields(client, households, make_user, db):
    """What ruODK sends: Basic auth over HTTPS, X-Extended-Metadata, and /fields to type the
    OData columns."""
    make_user("lan", "supervisor", areas=())
    make_user("root", "admin")
    headers = {"X-Extended-Metadata": "true", "Accept": "application/xml"}

    def get(user: str, path: str):
        r = client.get(path, headers=headers, auth=(user, "correct horse"), base_url="https://x")
        assert r.status_code == 200, r.json
        return r.json

    flag = {"reviewState": "hasIssues", "comment": "Thiếu ảnh"}
    r = client.patch(
        f"{P}/forms/household/submissions/uuid%3Ah1",
        json=flag,
        auth=("root", "correct horse"),
        base_url="https://x",
    )
    assert r.status_code == 200
    (form,) = get("root", f"{P}/forms")
    assert form["submissions"] == 3
    assert form["reviewStates"] == {"received": 2, "hasIssues": 1, "edited": 0}
    assert form["lastSubmission"].endswith("Z") and "createdBy" in form
    # Counts follow the caller's areas: a supervisor with none sees none.
    assert get("lan", f"{P}/forms/household")["submissions"] == 0
    project = get("root", P)
    assert (project["forms"], project["lastSubmission"]) == (1, form["lastSubmission"])
    (first, *_rest) = get("root", f"{P}/forms/household/submissions")
    assert first["submitter"]["displayName"] == "thu"
    fields = get("root", f"{P}/forms/household/fields?odata=true")
    by_path = {f["path"]: f for f in fields}
    assert by_path["/member"]["type"] == "repeat" and by_path["/meta"]["type"] == "structure"
    assert by_path["/member/m_photo"]["binary"] is True
    assert by_path["/hh_size"]["type"] == "int" and by_path["/location"]["type"] == "geopoint"
    # Without TLS the password is refused, as for the rest of the API.
    plain = client.get(f"{P}/forms", auth=("root", "correct horse"))
    assert plain.status_code == 401 and plain.json["code"] == "401.3"


def test_lists_properties_and_many_entities_refuse_what_central_refuses(client, central_login, db):
    """Bad names, a property or list that is already there, an empty or mixed bulk body, and a
    uuid sent twice in one bulk: each a clear error, and nothing kept."""
    from khudan.models import Entity

    admin = central_login()
    new = client.post(f"{P}/datasets", json={"name": "ho dan"}, headers=admin)
    assert new.status_code == 422 and new.json["code"] == "422.38"
    made = client.post(f"{P}/datasets", json={"name": "ho_dan"}, headers=admin)
    assert made.status_code == 200 and made.json["approvalRequired"] is False
    again = client.post(f"{P}/datasets", json={"name": "ho_dan"}, headers=admin)
    assert again.status_code == 409 and again.json["code"] == "409.32"
    props = f"{P}/datasets/ho_dan/properties"
    assert client.post(props, json={"name": "so_nguoi"}, headers=admin).json == {"success": True}
    twice = client.post(props, json={"name": "so_nguoi"}, headers=admin)
    assert twice.status_code == 409 and twice.json["code"] == "409.33"
    reserved = client.post(props, json={"name": "__id"}, headers=admin)
    assert reserved.status_code == 422 and reserved.json["code"] == "422.30"
    assert (
        client.post(
            f"{P}/datasets/khong_co/properties", json={"name": "x"}, headers=admin
        ).status_code
        == 404
    )

    url = f"{P}/datasets/ho_dan/entities"
    empty = client.post(url, json={"entities": []}, headers=admin)
    assert empty.status_code == 422 and empty.json["code"] == "422.37"
    mixed = client.post(url, json={"label": "A", "entities": [{"label": "B"}]}, headers=admin)
    assert mixed.status_code == 422 and "entities" in mixed.json["details"]["errors"]
    uuid = "0b7e6a3c-3d0f-4c55-9a57-1c3f1b9a4d21"
    twice = client.post(
        url,
        json={
            "entities": [
                {"uuid": uuid, "label": "Hộ A", "data": {"so_nguoi": "4"}},
                {"uuid": uuid, "label": "Hộ B", "data": {"so_nguoi": "2"}},
            ],
            "source": {"name": "ho.csv", "size": 2},
        },
        headers=admin,
    )
    assert twice.status_code == 422 and twice.json["code"] == "422.36"
    assert twice.json["details"]["index"] == 2 and uuid in twice.json["details"]["en"]
    with db.session() as s:
        assert s.scalars(select(Entity)).all() == []
    fine = client.post(
        url,
        json={"entities": [{"label": "Hộ A", "data": {"so_nguoi": "4"}}, {"label": "Hộ B"}]},
        headers=admin,
    )
    assert fine.status_code == 200 and fine.json == {"success": True}
    listed = client.get(url, headers=admin).json
    assert sorted(e["currentVersion"]["label"] for e in listed) == ["Hộ A", "Hộ B"]


def test_a_bulk_names_its_first_item_that_cannot_be_made_and_costs_the_same_statements_for_ten_or_two_hundred(
    client, central_login, db
):
    """The items are checked first and written together: the error names the first item that
    fails, whether it is taken already or malformed, and a bulk's statements do not grow with its
    items (two batched INSERTs, not three statements an entity)."""
    from sqlalchemy import event

    from khudan.models import Entity, EntityVersion

    admin = central_login()
    assert client.post(f"{P}/datasets", json={"name": "ho_dan"}, headers=admin).status_code == 200
    client.post(f"{P}/datasets/ho_dan/properties", json={"name": "so_nguoi"}, headers=admin)
    url = f"{P}/datasets/ho_dan/entities"
    taken = "0b7e6a3c-3d0f-4c55-9a57-1c3f1b9a4d21"
    first = client.post(url, json={"uuid": taken, "label": "Hộ A"}, headers=admin)
    assert first.status_code == 200

    def bulk(*items):
        return client.post(url, json={"entities": list(items)}, headers=admin)

    fine, stranger = {"label": "Hộ mới"}, {"label": "Hộ lạ", "data": {"khong_co": "1"}}
    existing = {"uuid": taken.upper(), "label": "Hộ A lần nữa"}
    r = bulk(fine, existing, stranger)
    assert r.status_code == 422 and (r.json["details"]["index"], r.json["details"]["total"]) == (
        2,
        3,
    )
    assert taken in r.json["details"]["en"]
    r = bulk(fine, stranger, existing)
    assert r.status_code == 422 and r.json["details"]["index"] == 2
    assert "khong_co" in r.json["details"]["en"]

    # Statements as SQLAlchemy runs them (an INSERT of many rows is one, whatever the driver
    # then sends: on SQLite a row at a time, as SQLAlchemy keeps the returned ids in order).
    statements = []
    event.listen(db.engine, "before_execute", lambda _c, clause, *_a: statements.append(clause))
    counts = []
    for size in (10, 200):
        statements.clear()
        items = [{"label": f"Hộ {size}-{n}", "data": {"so_nguoi": str(n % 7)}} for n in range(size)]
        assert bulk(*items).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    with db.session() as s:
        assert len(s.scalars(select(Entity)).all()) == 1 + 10 + 200
        versions = s.scalars(select(EntityVersion).where(EntityVersion.version == 1)).all()
        assert len(versions) == 211 and {v.source for v in versions} == {"api"}
        made = s.scalars(select(Entity).where(Entity.label == "Hộ 200-8")).one()
        assert made.data == {"so_nguoi": "1"} and made.version == 1
