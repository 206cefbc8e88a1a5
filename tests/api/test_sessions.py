"""Log-in, log-out, rate limiting and the error format shared by every API route."""

from __future__ import annotations

import base64

from khudan.services import throttle, users


def test_login_gives_a_bearer_token_that_logout_revokes(client, make_user):
    make_user("lan", "supervisor")
    r = client.post("/api/v1/sessions", json={"username": "lan", "password": "correct horse"})
    assert r.status_code == 201
    assert r.json["username"] == "lan" and r.json["role"] == "supervisor"
    assert r.json["expires_at"] and len(r.json["token"]) > 30
    headers = {"Authorization": f"Bearer {r.json['token']}"}
    assert client.delete("/api/v1/sessions/current", headers=headers).status_code == 204
    again = client.delete("/api/v1/sessions/current", headers=headers)
    assert again.status_code == 401 and again.json["code"] == "401.4"


def test_wrong_password_is_401_json_in_the_language_asked_for(client, make_user):
    make_user("lan", "supervisor")
    r = client.post("/api/v1/sessions", json={"username": "lan", "password": "nope"})
    assert r.status_code == 401 and r.headers["Content-Language"] == "vi"  # the default
    assert r.json == {
        "code": "401.2",
        "details": None,
        "message": "Tên người dùng hoặc mật khẩu không đúng.",
    }
    for header in ("en", "en-GB,en;q=0.9", "fr, en;q=0.5"):
        r = client.post(
            "/api/v1/sessions",
            json={"username": "lan", "password": "nope"},
            headers={"Accept-Language": header},
        )
        assert r.json["message"] == "Wrong username or password.", header
        assert r.headers["Content-Language"] == "en"


def test_an_unknown_name_costs_a_password_check_like_a_known_one(client, make_user, monkeypatch):
    # Otherwise a log-in with a name nobody has answers faster, and names can be listed by timing.
    make_user("lan", "supervisor")
    checked = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda h, p: checked.append(p) or real(h, p))
    for name in ("lan", "nobody"):
        r = client.post("/api/v1/sessions", json={"username": name, "password": "nope"})
        assert r.status_code == 401 and r.json["code"] == "401.2"
    assert checked == ["nope", "nope"]


def test_failed_logins_slow_the_pair_down_but_never_lock_the_name(client, make_user):
    make_user("lan", "supervisor")
    for _ in range(throttle.FREE_FAILURES):
        r = client.post("/api/v1/sessions", json={"username": "lan", "password": "x"})
        assert r.status_code == 401
    r = client.post("/api/v1/sessions", json={"username": "lan", "password": "correct horse"})
    assert r.status_code == 429 and r.json["code"] == "429.2"
    assert r.headers["Retry-After"] == "1"
    # The same name from another address logs in: nobody can lock a supervisor out.
    r = client.post(
        "/api/v1/sessions",
        json={"username": "lan", "password": "correct horse"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert r.status_code == 201
    # Many names from one address reach the address's ceiling.
    make_user("hoa", "supervisor")
    for i in range(throttle.ADDRESS_CEILING):
        client.post(
            "/api/v1/sessions",
            json={"username": f"u{i}", "password": "x"},
            environ_base={"REMOTE_ADDR": "10.0.0.7"},
        )
    r = client.post(
        "/api/v1/sessions",
        json={"username": "hoa", "password": "correct horse"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert r.status_code == 429


def test_invalid_input_is_422_with_per_field_messages(client):
    r = client.post("/api/v1/sessions", json={"username": ""})
    assert r.status_code == 422 and r.json["code"] == "422.6"
    assert set(r.json["details"]["errors"]) == {"username", "password"}


def test_wrong_content_type_is_415_and_broken_json_is_400(client):
    r = client.post("/api/v1/sessions", data="username=lan", content_type="text/plain")
    assert r.status_code == 415 and r.json["code"] == "415.1"
    r = client.post("/api/v1/sessions", data="{", content_type="application/json")
    assert r.status_code == 400 and r.json["code"] == "400.8"


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/v1/nosuch")
    assert r.status_code == 404 and r.json["code"] == "404.0"


def test_basic_auth_only_over_https(client, make_user):
    make_user("lan", "supervisor")
    token = base64.b64encode(b"lan:correct horse").decode()
    headers = {"Authorization": f"Basic {token}"}
    r = client.delete("/api/v1/sessions/current", headers=headers)
    assert r.status_code == 401 and r.json["code"] == "401.3"
    r = client.delete("/api/v1/sessions/current", headers=headers, base_url="https://localhost")
    assert r.status_code == 204


def test_openapi_document_and_swagger_ui_are_served(client):
    spec = client.get("/api/v1/swagger.json")
    assert spec.status_code == 200 and spec.json["info"]["title"] == "khudan API"
    assert "/sessions" in spec.json["paths"]
    assert client.get("/api/v1/docs").status_code == 200
