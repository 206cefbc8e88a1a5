"""Credentials that must stop working: after log-out, a password change and disabling a user,
for each kind khudan hands out (API bearer tokens, page session cookies, collector token URLs).
Re-enabling a user must not bring any of them back."""

from __future__ import annotations

import pytest

from khudan.services import users

PASSWORD = "correct horse"
COOKIE = "khudan_session"


def api_token(client, username: str) -> dict:
    r = client.post("/api/v1/sessions", json={"username": username, "password": PASSWORD})
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def page_cookie(client, web_login, username: str, role: str) -> tuple[str, str]:
    """Log in through the form; (the session cookie's value, the CSRF token)."""
    csrf = web_login(username, role)
    return client.get_cookie(COOKIE).value, csrf


def page_works(app, cookie: str) -> bool:
    """A fresh browser carrying only this (copied) cookie: does /app/ open or go to log-in?"""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other.get("/app/").status_code == 200


def phone_works(client, token_url_token: str) -> bool:
    phone = {"X-OpenRosa-Version": "1.0"}
    return client.head(f"/key/{token_url_token}/submission", headers=phone).status_code == 204


@pytest.fixture
def admin(client, make_user):
    make_user("boss", "admin")
    return api_token(client, "boss")


def test_api_log_out_ends_that_token_only(client, make_user):
    make_user("lan", "supervisor")
    first, second = api_token(client, "lan"), api_token(client, "lan")
    assert client.delete("/api/v1/sessions/current", headers=first).status_code == 204
    assert client.get("/api/v1/users/current", headers=first).status_code == 401
    assert client.get("/api/v1/users/current", headers=second).status_code == 200


def test_page_log_out_ends_the_session_even_for_a_copied_cookie(app, client, web_login):
    cookie, csrf = page_cookie(client, web_login, "lan", "supervisor")
    assert page_works(app, cookie)
    assert client.post("/app/logout", data={"csrf_token": csrf}).status_code == 302
    assert not page_works(app, cookie)


def test_a_password_change_ends_other_page_sessions_and_api_tokens(app, client, web_login):
    cookie, csrf = page_cookie(client, web_login, "lan", "supervisor")
    bearer = api_token(app.test_client(), "lan")
    r = client.post(
        "/app/password",
        data={
            "csrf_token": csrf,
            "current": PASSWORD,
            "new": "a much newer one",
            "again": "a much newer one",
        },
    )
    assert r.status_code == 302
    assert client.get("/api/v1/users/current", headers=bearer).status_code == 401
    assert not page_works(app, cookie)  # the old cookie's session is gone
    assert client.get("/app/").status_code == 200  # this browser got a new one


def test_disabling_ends_everything_and_re_enabling_revives_nothing(
    app, client, web_login, admin, db
):
    cookie, _csrf = page_cookie(client, web_login, "thu", "collector")
    bearer = api_token(app.test_client(), "thu")
    with db.session() as s:
        token = users.issue_token(s, users.get_user(s, "thu"))
        s.commit()
    assert page_works(app, cookie) and phone_works(client, token)

    for enabled in (False, True):
        r = client.patch("/api/v1/users/thu", json={"enabled": enabled}, headers=admin)
        assert r.status_code == 200
        assert client.get("/api/v1/users/current", headers=bearer).status_code == 401, enabled
        assert not page_works(app, cookie), enabled
        assert not phone_works(client, token), enabled
    # Only new credentials work after re-enabling.
    assert client.get("/api/v1/users/current", headers=api_token(client, "thu")).status_code == 200
