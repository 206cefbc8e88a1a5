"""Users through the REST API: who am I, and what an admin does with people, passwords and phone
tokens. Every change leaves an audit row; no response ever carries a password hash or a Digest HA1."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from sqlalchemy import select

from khudan.app import create_app
from khudan.models import AuditEvent, User

USER_ROUTES = [
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/thu"),
    ("PATCH", "/api/v1/users/thu"),
    ("POST", "/api/v1/users/thu/password"),
    ("POST", "/api/v1/users/thu/tokens"),
    ("DELETE", "/api/v1/users/thu/tokens"),
]


def events(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )


def secrets_of(db, username: str) -> tuple[str, str]:
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        return user.password_hash, user.digest_ha1


def assert_no_secrets(db, response, username: str) -> None:
    body = response.get_data(as_text=True)
    assert "password_hash" not in body and "digest_ha1" not in body
    for secret in secrets_of(db, username):
        assert secret not in body


def log_in(client, username: str, password: str):
    return client.post("/api/v1/sessions", json={"username": username, "password": password})


@pytest.mark.parametrize(("method", "path"), [*USER_ROUTES, ("GET", "/api/v1/users/current")])
def test_every_users_route_needs_a_log_in(client, method, path):
    r = client.open(path, method=method, json={})
    assert r.status_code == 401 and r.json["code"] == "401.5"


@pytest.mark.parametrize(("method", "path"), USER_ROUTES)
@pytest.mark.parametrize("role", ["designer", "supervisor", "collector"])
def test_only_an_admin_manages_users(client, login, make_user, method, path, role):
    make_user("thu", "collector")
    r = client.open(path, method=method, json={}, headers=login("someone", role))
    assert r.status_code == 403 and r.json["code"] == "403.2"


def test_current_user_is_your_own_record_without_secrets(client, db, login):
    headers = login("lan", "supervisor", areas=("21607", "21553"))
    r = client.get("/api/v1/users/current", headers=headers)
    assert r.status_code == 200
    assert {k: r.json[k] for k in ("username", "role", "enabled", "areas")} == {
        "username": "lan",
        "role": "supervisor",
        "enabled": True,
        "areas": ["21553", "21607"],
    }
    assert_no_secrets(db, r, "lan")


def test_list_users_and_filter_by_role(client, db, login, make_user):
    headers = login()
    make_user("thu", "collector")
    make_user("lan", "supervisor")
    r = client.get("/api/v1/users", headers=headers)
    assert r.status_code == 200
    assert [u["username"] for u in r.json] == ["admin1", "thu", "lan"]
    for name in ("admin1", "thu", "lan"):
        assert_no_secrets(db, r, name)
    r = client.get("/api/v1/users?role=collector", headers=headers)
    assert [u["username"] for u in r.json] == ["thu"]


def test_an_unknown_role_filter_is_422(client, login):
    r = client.get("/api/v1/users?role=boss", headers=login())
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert set(r.json["details"]["errors"]) == {"role"}


def test_create_without_password_returns_a_generated_one_once_and_it_logs_in(client, db, login):
    headers = login()
    r = client.post(
        "/api/v1/users",
        json={"username": "thu", "role": "collector", "areas": ["21607"]},
        headers=headers,
    )
    assert r.status_code == 201
    password = r.json.pop("password")
    assert len(password) == 14
    assert {k: r.json[k] for k in ("username", "role", "enabled", "areas")} == {
        "username": "thu",
        "role": "collector",
        "enabled": True,
        "areas": ["21607"],
    }
    assert_no_secrets(db, r, "thu")
    assert log_in(client, "thu", password).status_code == 201
    again = client.get("/api/v1/users/thu", headers=headers)
    assert again.status_code == 200 and "password" not in again.json
    assert_no_secrets(db, again, "thu")
    [event] = events(db, "user.create")
    assert event.target == "user:thu"
    assert event.details == {"role": "collector", "areas": ["21607"], "password_generated": True}


def test_create_with_a_chosen_password_does_not_echo_it(client, db, login):
    r = client.post(
        "/api/v1/users",
        json={"username": "lan", "role": "supervisor", "password": "mật khẩu dài"},
        headers=login(),
    )
    assert r.status_code == 201 and "password" not in r.json
    assert r.json["areas"] == []
    assert "mật khẩu dài" not in r.get_data(as_text=True)
    assert log_in(client, "lan", "mật khẩu dài").status_code == 201
    assert events(db, "user.create")[0].details["password_generated"] is False


def test_create_an_existing_username_is_409(client, login, make_user):
    make_user("thu", "collector")
    r = client.post("/api/v1/users", json={"username": "thu", "role": "collector"}, headers=login())
    assert r.status_code == 409 and r.json["code"] == "409.6"


def test_create_with_invalid_fields_is_422_per_field(client, db, login):
    headers = login()
    r = client.post(
        "/api/v1/users",
        json={"username": "a:b", "role": "boss", "password": "short", "areas": "21607"},
        headers=headers,
    )
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert set(r.json["details"]["errors"]) == {"username", "role", "password", "areas"}
    r = client.post("/api/v1/users", json={"nickname": "x"}, headers=headers)
    assert set(r.json["details"]["errors"]) == {"username", "role", "nickname"}
    for name in ("xa/thu", "thu?", "thu#1", "50%"):  # the name goes into /users/<name> URLs
        r = client.post(
            "/api/v1/users",
            json={"username": name, "role": "collector", "password": "long enough"},
            headers=headers,
        )
        assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"username"}, name
    assert events(db, "user.create") == []


def test_unknown_area_codes_are_422_once_the_registry_is_loaded(client, db, login, registry):
    r = client.post(
        "/api/v1/users",
        json={"username": "thu", "role": "collector", "areas": ["21607", "99999", "21607.T09"]},
        headers=login(),
    )
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert r.json["details"]["errors"] == {
        "areas": {"1": ["Unknown area code '99999'."], "2": ["Unknown area code '21607.T09'."]}
    }
    assert events(db, "user.create") == []


def test_area_codes_are_not_checked_while_the_registry_is_empty(client, login):
    r = client.post(
        "/api/v1/users",
        json={"username": "thu", "role": "collector", "areas": ["21607"]},
        headers=login(),
    )
    assert r.status_code == 201 and r.json["areas"] == ["21607"]


def test_get_or_change_an_unknown_user_is_404(client, login):
    headers = login()
    for method, path in USER_ROUTES[2:]:
        r = client.open(path.replace("thu", "nobody"), method=method, json={}, headers=headers)
        assert r.status_code == 404 and r.json["code"] == "404.4", (method, path)


def test_patch_changes_role_replaces_areas_and_is_audited(client, db, login, make_user, registry):
    headers = login()
    make_user("thu", "collector", areas=("21607",))
    r = client.patch(
        "/api/v1/users/thu",
        json={"role": "supervisor", "areas": ["21553", "21607.T01"]},
        headers=headers,
    )
    assert r.status_code == 200
    assert r.json["role"] == "supervisor" and r.json["areas"] == ["21553", "21607.T01"]
    assert_no_secrets(db, r, "thu")
    assert client.get("/api/v1/users/thu", headers=headers).json["areas"] == [
        "21553",
        "21607.T01",
    ]
    [event] = events(db, "user.update")
    assert event.target == "user:thu"
    assert event.details == {
        "role": ["collector", "supervisor"],
        "areas": [["21607"], ["21553", "21607.T01"]],
    }
    # The same values again change nothing and log nothing.
    r = client.patch("/api/v1/users/thu", json={"areas": ["21607.T01", "21553"]}, headers=headers)
    assert r.status_code == 200 and len(events(db, "user.update")) == 1


def test_disabling_a_user_stops_their_log_in_and_sessions(client, db, login):
    admin = login()
    lan = login("lan", "supervisor")
    r = client.patch("/api/v1/users/lan", json={"enabled": False}, headers=admin)
    assert r.status_code == 200 and r.json["enabled"] is False
    assert client.get("/api/v1/users/current", headers=lan).status_code == 401
    assert log_in(client, "lan", "correct horse").status_code == 401
    assert events(db, "user.update")[0].details == {"enabled": [True, False]}
    r = client.patch("/api/v1/users/lan", json={"enabled": True}, headers=admin)
    assert r.json["enabled"] is True
    assert log_in(client, "lan", "correct horse").status_code == 201


def test_patch_with_invalid_fields_is_422_per_field(client, login, make_user, registry):
    headers = login()
    make_user("thu", "collector")
    r = client.patch(
        "/api/v1/users/thu",
        json={"role": "boss", "enabled": "perhaps", "password": "x"},
        headers=headers,
    )
    assert r.status_code == 422
    assert set(r.json["details"]["errors"]) == {"role", "enabled", "password"}
    r = client.patch("/api/v1/users/thu", json={"areas": ["nowhere"]}, headers=headers)
    assert r.status_code == 422
    assert r.json["details"]["errors"] == {"areas": {"0": ["Unknown area code 'nowhere'."]}}


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(client, db, login, make_user):
    headers = login()
    for change in ({"enabled": False}, {"role": "designer"}):
        r = client.patch("/api/v1/users/admin1", json=change, headers=headers)
        assert r.status_code == 409 and r.json["code"] == "409.8"
    make_user("admin2", "admin")
    r = client.patch("/api/v1/users/admin1", json={"role": "designer"}, headers=headers)
    assert r.status_code == 200 and r.json["role"] == "designer"


def test_password_reset_generates_one_shown_once_and_ends_sessions(client, db, login):
    admin = login()
    lan = login("lan", "supervisor")
    r = client.post("/api/v1/users/lan/password", headers=admin)
    assert r.status_code == 200 and r.json["username"] == "lan"
    password = r.json["password"]
    assert_no_secrets(db, r, "lan")
    assert client.get("/api/v1/users/current", headers=lan).status_code == 401
    assert log_in(client, "lan", "correct horse").status_code == 401
    assert log_in(client, "lan", password).status_code == 201
    [event] = events(db, "user.password")
    assert event.target == "user:lan"
    assert event.details == {"password_generated": True, "sessions_ended": 1}
    assert password not in str(event.details)


def test_password_reset_to_a_chosen_password(client, db, login, make_user):
    make_user("thu", "collector")
    r = client.post(
        "/api/v1/users/thu/password", json={"password": "new password 1"}, headers=login()
    )
    assert r.status_code == 200 and "password" not in r.json
    assert log_in(client, "thu", "new password 1").status_code == 201


def test_password_reset_with_a_short_password_is_422(client, login, make_user):
    make_user("thu", "collector")
    headers = login()
    r = client.post("/api/v1/users/thu/password", json={"password": "short"}, headers=headers)
    assert r.status_code == 422 and set(r.json["details"]["errors"]) == {"password"}
    r = client.post(
        "/api/v1/users/thu/password", data="password=x", content_type="text/plain", headers=headers
    )
    assert r.status_code == 415


def test_a_token_gives_a_server_url_and_a_collect_qr_png_and_revoking_stops_it(
    client, db, login, make_user
):
    headers = login()
    make_user("thu", "collector")
    r = client.post("/api/v1/users/thu/tokens", headers=headers)
    assert r.status_code == 201
    server_url = r.json["server_url"]
    assert server_url.startswith("http://localhost/key/")
    token = server_url.rsplit("/", 1)[1]
    assert len(token) == 64
    prefix = "data:image/png;base64,"
    assert r.json["qr_png"].startswith(prefix)
    png = base64.b64decode(r.json["qr_png"].removeprefix(prefix), validate=True)
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size[0] == image.size[1] > 100
    assert_no_secrets(db, r, "thu")
    phone = {"X-OpenRosa-Version": "1.0"}
    assert client.head(f"/key/{token}/submission", headers=phone).status_code == 204
    assert events(db, "user.token.issue")[0].target == "user:thu"
    assert token not in str(events(db, "user.token.issue")[0].details)

    client.post("/api/v1/users/thu/tokens", headers=headers)
    r = client.delete("/api/v1/users/thu/tokens", headers=headers)
    assert r.status_code == 200 and r.json == {"revoked": 2}
    assert client.head(f"/key/{token}/submission", headers=phone).status_code == 403
    assert client.delete("/api/v1/users/thu/tokens", headers=headers).json == {"revoked": 0}
    revokes = events(db, "user.token.revoke")
    assert [e.details for e in revokes] == [{"revoked": 2}, {"revoked": 0}]


def test_a_token_url_uses_the_public_url_when_set(settings, db, login, make_user):
    headers = login()
    make_user("thu", "collector")
    app = create_app(settings.but(public_url="https://khaosat.example.vn"), db=db)
    r = app.test_client().post("/api/v1/users/thu/tokens", headers=headers)
    assert r.status_code == 201
    assert r.json["server_url"].startswith("https://khaosat.example.vn/key/")


def test_every_users_route_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/swagger.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    assert set(paths["/users"]) >= {"get", "post"}
    assert "get" in paths["/users/current"]
    assert set(paths["/users/{username}"]) >= {"get", "patch"}
    assert "post" in paths["/users/{username}/password"]
    assert set(paths["/users/{username}/tokens"]) >= {"post", "delete"}
    assert {"201", "401", "403", "409", "422"} <= set(paths["/users"]["post"]["responses"])
    created = spec.json["definitions"]["UserWithPassword"]["properties"]
    assert "password" in created and "password_hash" not in created


def test_a_users_name_and_phone_through_the_api(client, login):
    admin = login()
    r = client.post(
        "/api/v1/users",
        json={
            "username": "thu",
            "role": "designer",
            "full_name": "Lê Thu",
            "phone": "+84 912 345 678",
        },
        headers=admin,
    )
    assert r.status_code == 201 and (r.json["full_name"], r.json["phone"]) == (
        "Lê Thu",
        "+84 912 345 678",
    )
    r = client.patch("/api/v1/users/thu", json={"phone": ""}, headers=admin)
    assert r.status_code == 200 and r.json["phone"] is None
    r = client.patch("/api/v1/users/thu", json={"phone": "not a phone"}, headers=admin)
    assert r.status_code == 422
