"""Role × page × area for every /app route (the API's own matrix is tests/api/test_access_matrix.py).

The world: the registry with thôn 21607.T01 (Xã Nhơn Châu) and tổ 21553.K01 (Phường Quy Nhơn Bắc),
the shipped poverty_review form, and two households with a photo each, one in each commune. People:
an admin, a designer, a supervisor and a collector of 21607. Tries, for each route: a visitor who is
not logged in (sent to log in, never served), each role the route is not for (403), and for
routes about one submission, area or report, the supervisor asking for 21553's (404, exactly as if
it did not exist). A test fails when a new /app route has no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from collect import CollectClient, flask_sender
from factories import domain_sample, jpeg
from sqlalchemy import select
from stored import empty
from web.conftest import csrf_of

from khudan.app import create_app
from khudan.config import Settings
from khudan.models import Submission, User
from khudan.services import areas, entities, forms, users
from khudan.storage import LocalStorage

PASSWORD = "correct horse"
FIRST = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
SECOND = "uuid:5ec0d000-0000-4000-8000-000000000002"
HMINE = "0a0a0a0a-0000-4000-8000-000000000001"  # a household of 21607 (and of 21553, below)
HTHEIRS = "0b0b0b0b-0000-4000-8000-000000000002"
ROLES = ("admin", "designer", "supervisor", "collector")
ANY = frozenset(ROLES)
ADMIN = frozenset({"admin"})
DESIGNERS = frozenset({"admin", "designer"})
REVIEWERS = frozenset({"admin", "supervisor"})
FILLERS = frozenset({"admin", "supervisor", "collector"})


@dataclass(frozen=True)
class Row:
    method: str
    rule: str  # the Flask rule it covers
    url: str  # with {mine} / {theirs} / {version} filled in
    allowed: frozenset
    elsewhere: str | None = None  # the same request for 21553: 404 for the supervisor


ROWS = [
    Row("GET", "/app/", "/app/", ANY),
    Row("GET", "/app/password", "/app/password", ANY),
    Row("POST", "/app/password", "/app/password", ANY),
    Row("POST", "/app/logout", "/app/logout", ANY),
    Row("GET", "/app/areas", "/app/areas", ADMIN),
    Row("POST", "/app/areas/import", "/app/areas/import", ADMIN),
    Row("POST", "/app/areas/preview", "/app/areas/preview", ADMIN),
    Row("POST", "/app/areas/thon", "/app/areas/thon", ADMIN),
    Row("GET", "/app/areas/search", "/app/areas/search?q=Nhon", REVIEWERS),
    Row("GET", "/app/households", "/app/households", REVIEWERS),
    Row("GET", "/app/lists/<name>", "/app/lists/households", REVIEWERS),
    Row(
        "GET",
        "/app/lists/<name>/<uuid>",
        "/app/lists/households/{hmine}",
        REVIEWERS,
        "/app/lists/households/{htheirs}",
    ),
    Row(
        "POST",
        "/app/lists/<name>/<uuid>/edit",
        "/app/lists/households/{hmine}/edit",
        REVIEWERS,
        "/app/lists/households/{htheirs}/edit",
    ),
    Row("POST", "/app/lists/<name>/import", "/app/lists/households/import", REVIEWERS),
    Row("POST", "/app/lists/<name>/seed", "/app/lists/households/seed", REVIEWERS),
    Row("GET", "/app/lists/<name>/export.csv", "/app/lists/households/export.csv", REVIEWERS),
    Row("POST", "/app/lists/<name>/settings", "/app/lists/households/settings", ADMIN),
    Row("GET", "/app/fill", "/app/fill", FILLERS),
    Row("GET", "/app/forms", "/app/forms", DESIGNERS),
    Row("POST", "/app/forms", "/app/forms", DESIGNERS),
    Row("GET", "/app/forms/<form_id>", "/app/forms/poverty_review", DESIGNERS),
    Row("POST", "/app/forms/<form_id>/state", "/app/forms/poverty_review/state", DESIGNERS),
    Row("POST", "/app/forms/<form_id>/media", "/app/forms/poverty_review/media", DESIGNERS),
    Row(
        "GET",
        "/app/forms/<form_id>/media/<filename>",
        "/app/forms/poverty_review/media/areas.csv",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/versions/<version>.xml",
        "/app/forms/poverty_review/versions/{version}.xml",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/versions/<version>.xlsx",
        "/app/forms/poverty_review/versions/{version}.xlsx",
        DESIGNERS,
    ),
    Row("GET", "/app/forms/<form_id>/draft", "/app/forms/poverty_review/draft", DESIGNERS),
    Row(
        "POST",
        "/app/forms/<form_id>/draft/discard",
        "/app/forms/poverty_review/draft/discard",
        DESIGNERS,
    ),
    Row(
        "POST",
        "/app/forms/<form_id>/draft/publish",
        "/app/forms/poverty_review/draft/publish",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/draft/form.xml",
        "/app/forms/poverty_review/draft/form.xml",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/draft/media/<filename>",
        "/app/forms/poverty_review/draft/media/areas.csv",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/draft/preview",
        "/app/forms/poverty_review/draft/preview",
        DESIGNERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/draft/tests/<int:test_id>.xml",
        "/app/forms/poverty_review/draft/tests/1.xml",
        DESIGNERS,
    ),
    Row("GET", "/app/forms/<form_id>/fill", "/app/forms/poverty_review/fill", FILLERS),
    Row(
        "GET",
        "/app/forms/<form_id>/fill/form.xml",
        "/app/forms/poverty_review/fill/form.xml",
        FILLERS,
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/fill/media/<filename>",
        "/app/forms/poverty_review/fill/media/areas.csv",
        FILLERS,
    ),
    Row(
        "POST",
        "/app/forms/<form_id>/fill/submission",
        "/app/forms/poverty_review/fill/submission",
        FILLERS,
    ),
    Row(
        "GET",
        "/app/results",
        "/app/results?period=2025&area=21607",
        REVIEWERS,
        "/app/results?period=2025&area=21553",
    ),
    Row(
        "GET",
        "/app/results/<kind>.<fmt>",
        "/app/results/poverty.xlsx?period=2025&area=21607",
        REVIEWERS,
        "/app/results/poverty.xlsx?period=2025&area=21553",
    ),
    Row(
        "GET",
        "/app/results/official/<table>.<fmt>",
        "/app/results/official/ket-qua.xlsx?period=2025&area=21607",
        REVIEWERS,
        "/app/results/official/ket-qua.xlsx?period=2025&area=21553",
    ),
    Row(
        "GET",
        "/app/charts/<kind>.png",
        "/app/charts/poverty-rate.png?period=2025&area=21607",
        REVIEWERS,
        "/app/charts/poverty-rate.png?period=2025&area=21553",
    ),
    Row("GET", "/app/review", "/app/review", REVIEWERS),
    Row("POST", "/app/review/bulk", "/app/review/bulk", REVIEWERS),
    Row("GET", "/app/map", "/app/map", REVIEWERS),
    Row(
        "GET",
        "/app/submissions/<int:submission_id>",
        "/app/submissions/{mine}",
        REVIEWERS,
        "/app/submissions/{theirs}",
    ),
    Row(
        "POST",
        "/app/submissions/<int:submission_id>/comments",
        "/app/submissions/{mine}/comments",
        REVIEWERS,
        "/app/submissions/{theirs}/comments",
    ),
    Row(
        "POST",
        "/app/submissions/<int:submission_id>/review",
        "/app/submissions/{mine}/review",
        REVIEWERS,
        "/app/submissions/{theirs}/review",
    ),
    Row(
        "GET",
        "/app/forms/<form_id>/submissions.<any(xlsx, csv):kind>",
        "/app/forms/poverty_review/submissions.csv",
        REVIEWERS,
    ),
    Row(
        "GET",
        "/app/submissions/<int:submission_id>/files/<path:name>",
        "/app/submissions/{mine}/files/h.jpg?size=320",
        REVIEWERS,
        "/app/submissions/{theirs}/files/h.jpg?size=320",
    ),
    Row(
        "GET",
        "/app/submissions/<int:submission_id>/edit",
        "/app/submissions/{mine}/edit",
        REVIEWERS,
        "/app/submissions/{theirs}/edit",
    ),
    Row(
        "GET",
        "/app/submissions/<int:submission_id>/edit/form.xml",
        "/app/submissions/{mine}/edit/form.xml",
        REVIEWERS,
        "/app/submissions/{theirs}/edit/form.xml",
    ),
    Row(
        "GET",
        "/app/submissions/<int:submission_id>/edit/instance.xml",
        "/app/submissions/{mine}/edit/instance.xml",
        REVIEWERS,
        "/app/submissions/{theirs}/edit/instance.xml",
    ),
    Row("GET", "/app/users", "/app/users", ADMIN),
    Row("GET", "/app/audit", "/app/audit?action=user.login", ADMIN),
    Row("GET", "/app/queue", "/app/queue", ADMIN),
    Row("POST", "/app/queue/retry", "/app/queue/retry", ADMIN),
    Row("POST", "/app/users", "/app/users", ADMIN),
    Row("GET", "/app/users/<username>", "/app/users/col", ADMIN),
    Row("POST", "/app/users/<username>/areas", "/app/users/col/areas", ADMIN),
    Row("POST", "/app/users/<username>/enabled", "/app/users/col/enabled", ADMIN),
    Row("POST", "/app/users/<username>/role", "/app/users/col/role", ADMIN),
    Row("POST", "/app/users/<username>/profile", "/app/users/col/profile", ADMIN),
    Row("POST", "/app/users/<username>/password", "/app/users/col/password", ADMIN),
    Row("GET", "/app/users/<username>/qr", "/app/users/col/qr", ADMIN),
    Row("POST", "/app/users/<username>/qr", "/app/users/col/qr", ADMIN),
    Row("POST", "/app/users/<username>/tokens/revoke", "/app/users/col/tokens/revoke", ADMIN),
]
# Not about who is asking: the log-in page itself and the pages' scripts and styles.
PUBLIC = {"/app/login", "/app/static/<path:filename>"}


@pytest.fixture(scope="module")
def world(database, tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    settings = Settings(
        database_url=database.url,
        media_root=root / "media",
        secret_key="test-secret",
        forms_dir=root / "forms",
        odk_validate=False,
        process_inline=True,
        instance_dir=root / "instance",
    )
    app = create_app(settings, db=database)
    storage = LocalStorage(settings.media_root)
    with database.session() as s:
        areas.load_official(s)
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ dân phố 1"},
            ],
        )
        for name, role, codes in (
            ("adm", "admin", []),
            ("des", "designer", []),
            ("sup", "supervisor", ["21607"]),
            ("col", "collector", ["21607"]),
            ("far", "collector", ["21553"]),
        ):
            users.create_user(s, name, role, PASSWORD, codes)
        s.commit()
    shipped = Path(__file__).resolve().parents[2] / "forms" / "poverty_review.xlsx"
    forms.publish_xlsform(database, storage, shipped, validate=False)
    client = app.test_client()
    photo = jpeg(640, 480)
    for who, xml in (
        ("col", domain_sample("pov1.xml")),
        (
            "far",
            domain_sample(
                "pov1.xml",
                **{FIRST: SECOND, "21607.T01<": "21553.K01<", "<commune>21607<": "<commune>21553<"},
            ),
        ),
    ):
        xml = xml.replace(b"<house_photo />", b"<house_photo>h.jpg</house_photo>")
        phone = CollectClient(flask_sender(client), "http://localhost", who, PASSWORD)
        assert phone.submit(xml, {"h.jpg": photo})[0].status == 201
    with database.session() as s:
        ids = dict(s.execute(select(Submission.instance_id, Submission.id)).all())
        version = forms.downloadable(s, "poverty_review")[1].version
        admin = s.scalar(select(User).where(User.username == "adm"))
        households = (
            f"name,label,commune,area_code\n{HMINE},NC-1,21607,21607.T01\n"
            f"{HTHEIRS},QN-1,21553,21553.K01\n"
        )
        entities.import_csv(s, entities.get_list(s, "households"), households.encode(), admin)
        s.commit()
    yield {
        "app": app,
        "mine": ids[FIRST],
        "theirs": ids[SECOND],
        "version": version,
        "hmine": HMINE,
        "htheirs": HTHEIRS,
    }
    empty(database)


def logged_in(app, username: str):
    client = app.test_client()
    token = csrf_of(client.get("/app/login").text)
    reply = client.post(
        "/app/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.text
    return client, csrf_of(client.get("/app/password").text)


def send(client, row: Row, url: str, csrf: str | None):
    """The reply, its body read and its file closed."""
    if row.method == "GET":
        with client.get(url) as reply:
            reply.get_data()
            return reply
    # A well-formed body, so that only who is asking decides the answer.
    data = {"review_state": "approved", "comment": "Đã xem", "body": "Đã xem"}
    return client.post(url, data={**data, "csrf_token": csrf} if csrf else data)


def test_every_page_route_has_a_row(world):
    rules = {
        (method, r.rule)
        for r in world["app"].url_map.iter_rules()
        if r.rule.startswith("/app") and r.rule not in PUBLIC
        for method in r.methods - {"HEAD", "OPTIONS"}
    }
    assert rules == {(row.method, row.rule) for row in ROWS}


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.url}")
def test_a_visitor_who_is_not_logged_in_is_never_served(world, row):
    url = row.url.format(**world)
    reply = send(world["app"].test_client(), row, url, None)
    assert reply.status_code in (302, 400, 401), reply.status_code
    if reply.status_code == 302:
        assert "/app/login" in reply.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_403_where_it_does_not_belong(world, role):
    name = {"admin": "adm", "designer": "des", "supervisor": "sup", "collector": "col"}[role]
    client, csrf = logged_in(world["app"], name)
    wrong = [
        (row.method, row.url, send(client, row, row.url.format(**world), csrf).status_code)
        for row in ROWS
        if role not in row.allowed
    ]
    assert [w for w in wrong if w[2] != 403] == []


def test_a_supervisor_gets_404_for_another_communes_rows(world):
    client, csrf = logged_in(world["app"], "sup")
    for row in ROWS:
        if row.elsewhere is None:
            continue
        mine = send(client, row, row.url.format(**world), csrf).status_code
        theirs = send(client, row, row.elsewhere.format(**world), csrf).status_code
        assert theirs == 404, (row.url, theirs)
        if row.method == "GET":
            assert mine == 200, (row.url, mine)


def test_every_state_changing_page_needs_the_csrf_token(world):
    client, csrf = logged_in(world["app"], "adm")
    for row in ROWS:
        if row.method != "POST":
            continue
        url = row.url.format(**world)
        assert client.post(url, data={"body": "x"}).status_code == 400, url
        assert client.post(url, data={"csrf_token": csrf[::-1]}).status_code == 400, url
    assert client.get("/app/").status_code == 200  # still logged in: nothing was done


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:evil.example",
    ],
)
def test_log_in_never_sends_anyone_to_another_site(world, target):
    client = world["app"].test_client()
    token = csrf_of(client.get("/app/login", query_string={"next": target}).text)
    reply = client.post(
        "/app/login",
        data={"username": "sup", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert reply.status_code == 302
    location = reply.headers["Location"]
    assert location.startswith("/app") and "evil" not in location, location


def test_every_response_carries_the_security_headers(world):
    client, _csrf = logged_in(world["app"], "adm")
    phone = {"X-OpenRosa-Version": "1.0"}
    urls = [
        "/app/",
        "/app/login",
        "/app/static/khudan.css",
        "/app/submissions/{mine}/files/h.jpg",
        "/app/results/poverty.xlsx?period=2025&area=21607",
        "/api/v1/docs",
        "/api/v1/swagger.json",
        "/api/v1/forms",
        "/formList",
        "/v1/projects",
        "/no/such/page",
    ]
    for scheme in ("http", "https"):
        for url in urls:
            with client.get(
                url.format(**world), headers=phone, base_url=f"{scheme}://localhost"
            ) as reply:
                h = reply.headers
                assert "frame-ancestors 'none'" in h.get("Content-Security-Policy", ""), url
                assert h.get("X-Content-Type-Options") == "nosniff", url
                assert h.get("Referrer-Policy") == "same-origin", url
                assert ("Strict-Transport-Security" in h) == (scheme == "https"), url
