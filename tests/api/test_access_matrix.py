"""Who may do what: every route of /api/v1/swagger.json × every role × area scope, in one table.

The world is built once for the module, as a deployment would hold it: the official registry with
three residential areas, the shipped poverty_review form published from forms/poverty_review.xlsx
(and the household test form, for a media file designers may replace), and two households sent
through the OpenRosa API by two collectors: S1 in Xã Nhơn Châu (21607, with a photo) and S2 in
Phường Quy Nhơn Bắc (21553). Building it costs about two seconds (password hashes, the
registry), too much to repeat for each of the ~300 cases; so it is shared, and every write below is
idempotent (publish the same XLSForm again, set a state or a total to what it is, approve what is
approved) or aims at a throwaway target (user "spare", a fresh token for logging out, a new username
per create). The rows' checks on lists and counts hold whatever order the cases run in.

Outcomes: OK is any 2xx or 304; 401 not logged in; 403 the role may not; 404 the row is outside the
caller's areas (answered exactly as if it did not exist, so its existence does not leak).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from collect import CollectClient, flask_sender
from factories import domain_sample, jpeg
from sqlalchemy import select
from stored import empty
from xlsform import form_md, xlsx_bytes

from khudan.app import create_app
from khudan.config import Settings
from khudan.models import User
from khudan.services import areas, drafts, entities, forms, users
from khudan.storage import LocalStorage

PASSWORD = "correct horse"
POVERTY_XLSX = (Path(__file__).resolve().parents[2] / "forms" / "poverty_review.xlsx").read_bytes()
PHOTO = jpeg(color=(20, 140, 60))

ROLES = ("admin", "designer", "sup21607", "sup21553", "col21607", "anon")
USERS = {  # role -> (username, role, areas)
    "admin": ("admin1", "admin", ()),
    "designer": ("dung", "designer", ()),
    "sup21607": ("lan", "supervisor", ("21607",)),
    "sup21553": ("hoa", "supervisor", ("21553",)),
    "col21607": ("thu", "collector", ("21607",)),
}
OK = "OK"

# Who, in the table below.
EVERYONE = "admin designer sup21607 sup21553 col21607 anon"
LOGGED_IN = "admin designer sup21607 sup21553 col21607"
ADMIN = "admin"
DESIGNERS = "admin designer"
REVIEWERS = "admin sup21607 sup21553"
READERS = "admin sup21607 sup21553 col21607"


@dataclass
class World:
    client: object
    headers: dict[str, dict]  # role -> Authorization header (anon: none)
    ids: dict[str, int]  # "S1" (21607) and "S2" (21553) -> submission id
    version: str  # poverty_review's version

    def login(self, username: str) -> dict:
        r = self.client.post("/api/v1/sessions", json={"username": username, "password": PASSWORD})
        assert r.status_code == 201, r.json
        return {"Authorization": f"Bearer {r.json['token']}"}


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the path as in swagger.json
    url: str  # {S1}, {S2} and {version} are filled in from the world
    ok: str  # roles that succeed
    hidden: str = ""  # roles answered 404: the row is outside their areas
    refused: str = ""  # roles answered 422: what they send lies outside their areas
    json: dict | Callable[[dict], dict] | None = None  # a callable gets the submission ids
    upload: Callable[[], dict] | None = None  # multipart form fields
    fresh_token: bool = False  # log in anew and use that token (logging out ends it)
    check: Callable[[str, object, World], None] | None = field(default=None, compare=False)
    prepare: Callable[[World], None] | None = field(default=None, compare=False)  # before each
    note: str = ""  # to tell two rows with the same URL apart

    def expected(self, role: str):
        if role in self.ok.split():
            return OK
        if role in self.hidden.split():
            return 404
        if role in self.refused.split():
            return 422
        return 401 if role == "anon" else 403

    def __str__(self) -> str:
        return f"{self.method} {self.url}{f' ({self.note})' if self.note else ''}"


# -- drafts: the rows that publish or discard one each get a fresh one of the simple form -------

DRAFT_VERSIONS = itertools.count(2)


def household_draft_upload() -> dict:
    data = xlsx_bytes(form_md("household_next", version="9"))
    return {"file": (io.BytesIO(data), "household_next.xlsx")}


def simple_draft(world: World) -> None:
    runtime = world.client.application.extensions["khudan"]
    version = str(next(DRAFT_VERSIONS))
    xml = forms.convert_xlsform(xlsx_bytes(form_md("simple", version=version)))[0]
    drafts.save(runtime.db, runtime.storage, xml=xml, validate=False)


# -- checks of what a successful answer holds, per role ------------------------------------------

VISIBLE = {"admin": {"S1", "S2"}, "sup21607": {"S1"}, "sup21553": {"S2"}, "col21607": {"S1"}}
COUNTED = {"admin": 2, "designer": 2, "sup21607": 1, "sup21553": 1, "col21607": 1}
COMMUNES = {
    "admin": {"21553", "21607"},
    "designer": {"21553", "21607"},
    "sup21607": {"21607"},
    "sup21553": {"21553"},
    "col21607": {"21607"},
}


def sees_only_own_submissions(role, r, world):
    names = {v: k for k, v in world.ids.items()}
    assert {names[item["id"]] for item in r.json["items"]} == VISIBLE[role]
    assert r.json["total"] == len(VISIBLE[role])


def sees_none_of_21607(role, r, world):
    expected = 1 if "S1" in VISIBLE[role] else 0
    assert r.json["total"] == expected and len(r.json["items"]) == expected


def exports_only_visible(role, r, world):
    names = {v: k for k, v in world.ids.items()}
    rows = csv.DictReader(io.StringIO(r.get_data().decode("utf-8-sig")))
    assert {names[int(row["submission_id"])] for row in rows} == VISIBLE[role]


def counts_own_submissions(role, r, world):
    rows = r.json if isinstance(r.json, list) else [r.json]
    [form] = [f for f in rows if f["form_id"] == "poverty_review"]
    assert form["submission_count"] == COUNTED[role]


def sees_own_communes(role, r, world):
    communes = {a["code"] for a in r.json["items"]}
    assert communes & {"21553", "21607"} == COMMUNES[role]
    assert r.json["total"] == len(communes)  # a count never includes what is hidden


def finds_21607_in_scope(role, r, world):
    found = {a["code"] for a in r.json["items"]}
    assert ("21607" in found) == ("21607" in COMMUNES[role])
    assert r.json["total"] == len(found)


def counts_own_children(role, r, world):
    if role.startswith(("sup", "col")):
        assert r.json["children"] == 1


def areas_csv_has_own_areas(role, r, world):
    text = r.get_data(as_text=True)
    if role == "designer":  # designers do not collect: their cascade list is empty
        assert text == "name,label,level,parent,kind\n"
        return
    assert ("21607.T01" in text) == ("21607" in COMMUNES[role])
    assert ("21553.K01" in text) == ("21553" in COMMUNES[role])


def tops_in_scope(role, r, world):
    tops = [a["code"] for a in r.json["areas"]]
    if role == "admin":
        assert "52" in tops
    else:
        assert tops == sorted(COMMUNES[role])


def same_as_admin(role, r, world):
    """A supervisor of 21607 counts in 21607 what an admin does."""
    everything = world.client.get(r.request.full_path, headers=world.headers["admin"]).json
    assert any(v for cls in ("poor", "near_poor") for v in everything[cls].values())
    assert r.json == everything


def is_me(role, r, world):
    assert r.json["username"] == USERS[role][0]


_new_names = itertools.count(1)

E1, E2, E3 = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
ENTITIES_SEEN = {"admin": 3, "designer": 3, "sup21607": 2, "sup21553": 1, "col21607": 2}


def entity_csv_upload() -> dict:
    data = f"label,name,commune,area_code\nNC-1,{E1},21607,21607.T01\n".encode()
    return {"file": (io.BytesIO(data), "households.csv")}


def undelete(world: World, uuid: str) -> None:
    from sqlalchemy import update

    from khudan.models import Entity

    db = world.client.application.extensions["khudan"].db
    with db.session() as s:
        s.execute(update(Entity).where(Entity.uuid == uuid).values(deleted_at=None))
        s.commit()


def counts_own_entities(role, r, world):
    [households] = r.json
    assert households["entities"] in (ENTITIES_SEEN[role], ENTITIES_SEEN[role] - 1)


def sees_own_entities(role, r, world):
    uuids = {e["uuid"] for e in r.json["items"]}
    assert (E1 in uuids) == (role in ("admin", "sup21607", "col21607"))
    assert (E2 in uuids) == (role in ("admin", "sup21553"))


def poverty_xlsx_upload() -> dict:
    return {"file": (io.BytesIO(POVERTY_XLSX), "poverty_review.xlsx")}


# -- the matrix: one row per route (and per submission where scope decides) ---------------------

ROWS = [
    # sessions
    Row(
        "POST", "/sessions", "/sessions", EVERYONE, json={"username": "khach", "password": PASSWORD}
    ),
    Row("DELETE", "/sessions/current", "/sessions/current", LOGGED_IN, fresh_token=True),
    # users
    Row("GET", "/users/current", "/users/current", LOGGED_IN, check=is_me),
    Row("GET", "/users", "/users", ADMIN),
    Row(
        "POST",
        "/users",
        "/users",
        ADMIN,
        json=lambda ids: {
            "username": f"new{next(_new_names)}",
            "role": "supervisor",
            "areas": ["21607"],
        },
    ),
    Row("GET", "/users/{username}", "/users/spare", ADMIN),
    Row("PATCH", "/users/{username}", "/users/spare", ADMIN, json={"areas": ["21553"]}),
    Row(
        "POST",
        "/users/{username}/password",
        "/users/spare/password",
        ADMIN,
        json={"password": "another horse"},
    ),
    Row("POST", "/users/{username}/tokens", "/users/spare/tokens", ADMIN),
    Row("DELETE", "/users/{username}/tokens", "/users/spare/tokens", ADMIN),
    # areas
    Row("GET", "/areas", "/areas?parent=52&per_page=1000", LOGGED_IN, check=sees_own_communes),
    Row("GET", "/areas", "/areas?q=Nh%C6%A1n%20Ch%C3%A2u", LOGGED_IN, check=finds_21607_in_scope),
    Row("GET", "/areas/{code}", "/areas/52", LOGGED_IN, check=counts_own_children),
    Row("GET", "/areas/{code}", "/areas/21607", "admin designer sup21607 col21607", "sup21553"),
    Row("GET", "/areas/{code}", "/areas/21607.T01", "admin designer sup21607 col21607", "sup21553"),
    Row("GET", "/areas/{code}", "/areas/21553.K01", "admin designer sup21553", "sup21607 col21607"),
    Row("PATCH", "/areas/{code}", "/areas/21607.T01", ADMIN, json={"households_total": 120}),
    Row(
        "POST",
        "/areas/import",
        "/areas/import",
        ADMIN,
        json={"rows": [{"commune_code": "21607", "code": "T02", "name": "Thôn Trung"}]},
    ),
    # entity lists: E1 lives in 21607, E2 in 21553, E3 (21607) is deleted again and again
    Row("GET", "/entity-lists", "/entity-lists", LOGGED_IN, check=counts_own_entities),
    Row("GET", "/entity-lists/{name}", "/entity-lists/households", LOGGED_IN),
    Row(
        "PATCH",
        "/entity-lists/{name}",
        "/entity-lists/households",
        ADMIN,
        json={"approval_required": True},
    ),
    Row(
        "GET",
        "/entity-lists/{name}/entities",
        "/entity-lists/households/entities",
        READERS,  # not designers: the lists, not the households in them
        check=sees_own_entities,
    ),
    Row(
        "POST",
        "/entity-lists/{name}/entities",
        "/entity-lists/households/entities",
        "admin sup21607",
        refused="sup21553",
        json={"label": "NC-new", "data": {"commune": "21607", "area_code": "21607.T01"}},
    ),
    Row(
        "GET",
        "/entity-lists/{name}/entities.csv",
        "/entity-lists/households/entities.csv",
        REVIEWERS,
    ),
    Row(
        "POST",
        "/entity-lists/{name}/import",
        "/entity-lists/households/import",
        REVIEWERS,
        upload=entity_csv_upload,
    ),
    Row(
        "POST",
        "/entity-lists/{name}/seed",
        "/entity-lists/households/seed",
        REVIEWERS,
        json={"period": "2099"},  # no review then: nothing changes, whoever runs it
    ),
    Row(
        "GET",
        "/entity-lists/{name}/entities/{uuid}",
        f"/entity-lists/households/entities/{E1}",
        "admin sup21607 col21607",
        "sup21553",
    ),
    Row(
        "PATCH",
        "/entity-lists/{name}/entities/{uuid}",
        f"/entity-lists/households/entities/{E1}",
        "admin sup21607",
        "sup21553",
        json={"data": {"head_name": "Nguyễn Văn Hải"}},
    ),
    Row(
        "DELETE",
        "/entity-lists/{name}/entities/{uuid}",
        f"/entity-lists/households/entities/{E3}",
        "admin sup21607",
        "sup21553",
        prepare=lambda world: undelete(world, E3),
    ),
    # audit
    Row("GET", "/audit", "/audit?action=user.login", ADMIN),
    Row("GET", "/audit/login-failures", "/audit/login-failures", ADMIN),
    # the work queue (retrying with nothing parked changes nothing)
    Row("GET", "/queue", "/queue", ADMIN),
    Row("POST", "/queue/retry", "/queue/retry", ADMIN),
    # forms
    Row("GET", "/forms", "/forms", LOGGED_IN, check=counts_own_submissions),
    Row("POST", "/forms", "/forms?publish=true", DESIGNERS, upload=poverty_xlsx_upload),
    Row(
        "GET",
        "/forms/{form_id}",
        "/forms/poverty_review",
        LOGGED_IN,
        check=counts_own_submissions,
    ),
    Row("PATCH", "/forms/{form_id}", "/forms/poverty_review", DESIGNERS, json={"state": "open"}),
    # form drafts (the world holds a draft of household version 9)
    Row("POST", "/forms/drafts", "/forms/drafts", DESIGNERS, upload=household_draft_upload),
    Row("GET", "/forms/{form_id}/draft", "/forms/household/draft", DESIGNERS),
    Row("GET", "/forms/{form_id}/draft.xml", "/forms/household/draft.xml", DESIGNERS),
    Row("DELETE", "/forms/{form_id}/draft", "/forms/simple/draft", DESIGNERS, prepare=simple_draft),
    Row(
        "POST",
        "/forms/{form_id}/draft/publish",
        "/forms/simple/draft/publish",
        DESIGNERS,
        prepare=simple_draft,
    ),
    Row("GET", "/forms/{form_id}/versions", "/forms/poverty_review/versions", LOGGED_IN),
    Row(
        "GET",
        "/forms/{form_id}/versions/{version}.xml",
        "/forms/poverty_review/versions/{version}.xml",
        LOGGED_IN,
    ),
    Row(
        "GET",
        "/forms/{form_id}/versions/{version}.xlsx",
        "/forms/poverty_review/versions/{version}.xlsx",
        LOGGED_IN,
    ),
    Row("GET", "/forms/{form_id}/media", "/forms/poverty_review/media", LOGGED_IN),
    Row(
        "GET",
        "/forms/{form_id}/media/{filename}",
        "/forms/poverty_review/media/areas.csv",
        LOGGED_IN,
        check=areas_csv_has_own_areas,
    ),
    Row(
        "PUT",
        "/forms/{form_id}/media/{filename}",
        "/forms/household/media/villages.csv",
        DESIGNERS,
        upload=lambda: {"file": (io.BytesIO(b"name,label\nt1,Thon 1\n"), "villages.csv")},
    ),
    Row(
        "GET",
        "/forms/{form_id}/submissions.csv",
        "/forms/poverty_review/submissions.csv",
        READERS,
        check=exports_only_visible,
    ),
    Row(
        "GET",
        "/forms/{form_id}/submissions.xlsx",
        "/forms/poverty_review/submissions.xlsx?attachments=true",
        READERS,
    ),
    # reports: S1 (period 2025) is in 21607
    Row("GET", "/reports/poverty", "/reports/poverty?period=2025", REVIEWERS, check=tops_in_scope),
    Row(
        "GET",
        "/reports/poverty",
        "/reports/poverty?period=2025&area=21607",
        "admin sup21607",
        "sup21553",
    ),
    *(
        Row(
            "GET",
            f"/reports/poverty.{ext}",
            f"/reports/poverty.{ext}?period=2025&area=21607",
            "admin sup21607",
            "sup21553",
        )
        for ext in ("xlsx", "csv")
    ),
    *(
        Row(
            "GET",
            f"/reports/{report}.{ext}",
            f"/reports/{report}.{ext}?period=2025&area=21607",
            "admin sup21607",
            "sup21553",
        )
        for report in ("cultural-family", "satisfaction")
        for ext in ("xlsx", "csv")
    ),
    *(
        Row(
            "GET",
            f"/reports/charts/{kind}.png",
            f"/reports/charts/{kind}.png?period=2025&area=21607",
            "admin sup21607",
            "sup21553",
        )
        for kind in ("poverty-rate", "deprivation", "change")
    ),
    Row(
        "GET",
        "/reports/official/{table}.{fmt}",
        "/reports/official/ket-qua.json?period=2025&area=21607",
        "admin sup21607",
        "sup21553",
    ),
    Row(
        "GET",
        "/reports/poverty/transitions",
        "/reports/poverty/transitions?period=2025&area=21607",
        "admin sup21607",
        "sup21553",
        check=same_as_admin,
    ),
    Row(
        "GET",
        "/reports/cultural-family",
        "/reports/cultural-family?period=2025&area=21607",
        "admin sup21607",
        "sup21553",
    ),
    Row(
        "GET",
        "/reports/satisfaction",
        "/reports/satisfaction?period=2025&area=21607",
        "admin sup21607",
        "sup21553",
    ),
    # submissions: S1 is in 21607 (sent by col21607), S2 in 21553 (sent by another collector)
    Row("GET", "/submissions", "/submissions", READERS, check=sees_only_own_submissions),
    Row("GET", "/submissions", "/submissions?area=21607", READERS, check=sees_none_of_21607),
    Row(
        "POST",
        "/submissions/review",
        "/submissions/review",
        "admin sup21607",
        "sup21553",
        json=lambda ids: {"ids": [ids["S1"]], "review_state": "approved"},
        note="S1",
    ),
    Row(
        "POST",
        "/submissions/review",
        "/submissions/review",
        "admin sup21553",
        "sup21607",
        json=lambda ids: {"ids": [ids["S2"]], "review_state": "approved"},
        note="S2",
    ),
]
INSTANCE_IDS = {
    "S1": "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7",
    "S2": "uuid:08ac4fdd-e12d-43d4-bd99-605082c28f66",
}
for _s, _ok, _hidden, _reviewers, _unseen in (
    ("S1", "admin sup21607 col21607", "sup21553", "admin sup21607", "sup21553"),
    ("S2", "admin sup21553", "sup21607 col21607", "admin sup21553", "sup21607"),
):
    ROWS += [
        Row("GET", "/submissions/{submission_id}", f"/submissions/{{{_s}}}", _ok, _hidden),
        Row(
            "GET",
            "/submissions/by-instance/{instance_id}",
            f"/submissions/by-instance/{INSTANCE_IDS[_s]}",
            _ok,
            _hidden,
        ),
        Row(
            "PATCH",
            "/submissions/{submission_id}",
            f"/submissions/{{{_s}}}",
            _reviewers,
            _unseen,
            json={"review_state": "approved"},
        ),
        Row("GET", "/submissions/{submission_id}.xml", f"/submissions/{{{_s}}}.xml", _ok, _hidden),
        Row(
            "GET",
            "/submissions/{submission_id}/comments",
            f"/submissions/{{{_s}}}/comments",
            _ok,
            _hidden,
        ),
        Row(
            "POST",
            "/submissions/{submission_id}/comments",
            f"/submissions/{{{_s}}}/comments",
            _reviewers,
            _unseen,
            json={"body": "Đã xem / seen"},
        ),
    ]
ROWS.append(
    Row(
        "GET",
        "/submissions/{submission_id}/attachments/{name}",
        "/submissions/{S1}/attachments/house.jpg",
        "admin sup21607 col21607",
        "sup21553",
    )
)


@pytest.fixture(scope="module")
def world(database, database_url, tmp_path_factory):
    root = tmp_path_factory.mktemp("matrix")
    settings = Settings(
        database_url=database_url,
        media_root=root / "media",
        secret_key="test-secret",
        forms_dir=root / "forms",
        odk_validate=False,
        process_inline=True,
    )
    app = create_app(settings, db=database)
    client = app.test_client()
    with database.session() as s:
        areas.load_official(s)
        areas.import_areas(
            s,
            [
                {
                    "commune_code": "21607",
                    "code": "T01",
                    "name": "Thôn Bắc",
                    "households_total": "120",
                },
                {"commune_code": "21607", "code": "T02", "name": "Thôn Trung"},
                {"commune_code": "21553", "code": "K01", "name": "Tổ dân phố 1"},
            ],
        )
        for username, role, scopes in [
            *USERS.values(),
            ("nam", "collector", ("21553",)),
            ("spare", "collector", ()),
            ("khach", "collector", ()),
        ]:
            users.create_user(s, username, role, PASSWORD, list(scopes))
        s.commit()
    storage = LocalStorage(settings.media_root)
    published = forms.publish(
        database,
        storage,
        xml=forms.convert_xlsform(POVERTY_XLSX)[0],
        xlsx=POVERTY_XLSX,
        validate=False,
    )
    household = xlsx_bytes(form_md("household", version="1"))
    forms.publish(
        database,
        storage,
        xml=forms.convert_xlsform(household)[0],
        xlsx=household,
        media={"villages.csv": b"name,label\nt1,Thon 1\n"},
        validate=False,
    )
    next_household = xlsx_bytes(form_md("household_next", version="9"))
    drafts.save(database, storage, xml=forms.convert_xlsform(next_household)[0], validate=False)
    with database.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin1"))
        rows = [
            f"{E1},NC-1 - An,21607,21607.T01",
            f"{E2},QN-1 - Tám,21553,21553.K01",
            f"{E3},NC-3 - Ba,21607,21607.T01",
        ]
        data = ("name,label,commune,area_code\n" + "\n".join(rows) + "\n").encode()
        report = entities.import_csv(s, entities.get_list(s, "households"), data, admin)
        assert report.created == 3 and not report.rejected
        s.commit()
    rural = domain_sample("pov1.xml", **{"<house_photo />": "<house_photo>house.jpg</house_photo>"})
    urban = domain_sample(
        "pov2.xml", **{"<household_code />": "<household_code>QNB-K01-004</household_code>"}
    )
    for username, xml, files in (("thu", rural, {"house.jpg": PHOTO}), ("nam", urban, None)):
        phone = CollectClient(flask_sender(client), "http://localhost", username, PASSWORD)
        assert [r.status for r in phone.submit(xml, files)] == [201]
    w = World(client, {}, {}, published.version)
    w.headers = {role: w.login(name) for role, (name, _, _) in USERS.items()}
    w.headers["anon"] = {}
    listed = client.get("/api/v1/submissions?sort=id", headers=w.headers["admin"]).json["items"]
    w.ids = {"S1" if s["commune_code"] == "21607" else "S2": s["id"] for s in listed}
    assert sorted(w.ids) == ["S1", "S2"]
    yield w
    empty(database)


def test_the_matrix_covers_every_documented_route(world):
    doc = world.client.get("/api/v1/swagger.json").json
    documented = {
        (method.upper(), path)
        for path, operations in doc["paths"].items()
        for method in operations
        if method != "parameters"
    }
    covered = {(row.method, row.route) for row in ROWS}
    assert documented - covered == set(), "routes without a row in the access matrix"
    assert covered - documented == set(), "rows for routes the OpenAPI document does not list"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", ROWS, ids=str)
def test_access(world, row: Row, role: str):
    client = world.client
    headers = world.headers[role]
    if row.fresh_token and role != "anon":
        headers = world.login(USERS[role][0])
    url = "/api/v1" + row.url.format(version=world.version, **world.ids)
    kwargs = {}
    if row.json is not None:
        kwargs["json"] = row.json(world.ids) if callable(row.json) else row.json
    if row.upload is not None:
        kwargs.update(data=row.upload(), content_type="multipart/form-data")
    if row.prepare is not None:
        row.prepare(world)
    r = client.open(url, method=row.method, headers=headers, **kwargs)
    r.get_data()
    r.close()
    expected = row.expected(role)
    if expected == OK:
        assert 200 <= r.status_code < 300 or r.status_code == 304, (r.status_code, r.json)
        if row.check is not None:
            row.check(role, r, world)
    else:
        assert r.status_code == expected, (r.status_code, r.json)
        assert r.json["code"].startswith(f"{expected}.") and r.json["code"] != "404.0", r.json
    if row.fresh_token and role != "anon":  # the token really ended
        assert client.get("/api/v1/users/current", headers=headers).status_code == 401
