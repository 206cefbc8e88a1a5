"""Log-in, log-out, password change, CSRF, language and roles on the web pages (Flask client)."""

from __future__ import annotations

import pytest

from khudan.models import ApiSession
from khudan.services import throttle

from .conftest import PASSWORD, csrf_of


def log_in(client, username: str, password: str = PASSWORD, **extra):
    token = csrf_of(client.get("/app/login").text)
    data = {"username": username, "password": password, "csrf_token": token, **extra}
    return client.post("/app/login", data=data)


def cookie_header(reply, name: str) -> str:
    (header,) = [h for h in reply.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return header


def test_root_and_pages_send_a_visitor_to_log_in(client):
    assert client.get("/").headers["Location"] == "/app/"
    reply = client.get("/app/password?x=1")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/app/login?next=/app/password?x%3D1"


def test_login_opens_the_dashboard_and_logout_revokes_the_token(client, make_user, db):
    make_user("lan", "supervisor", areas=("52",))
    reply = log_in(client, "lan")
    assert reply.status_code == 302 and reply.headers["Location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200
    assert "Xin chào lan" in page.text and 'href="/app/review"' in page.text
    assert '<span class="badge">52</span>' in page.text
    with db.session() as s:
        (row,) = s.query(ApiSession).all()
        assert row.revoked_at is None

    reply = client.post("/app/logout", data={"csrf_token": csrf_of(page.text)})
    assert reply.headers["Location"] == "/app/login"
    assert "Bạn đã đăng xuất." in client.get("/app/login").text
    assert client.get("/app/").status_code == 302
    with db.session() as s:
        assert s.query(ApiSession).one().revoked_at is not None


def test_wrong_password_is_refused_with_a_message(client, make_user):
    make_user("lan", "supervisor")
    reply = log_in(client, "lan", "wrong password")
    assert reply.status_code == 401
    assert "Tên người dùng hoặc mật khẩu không đúng." in reply.text
    assert 'value="lan"' in reply.text  # the username stays filled in
    assert client.get("/app/").status_code == 302


def test_failed_logins_are_throttled_as_in_the_api(client, make_user):
    make_user("lan", "supervisor")
    for _ in range(throttle.FREE_FAILURES):
        assert log_in(client, "lan", "wrong password").status_code == 401
    reply = log_in(client, "lan")  # even the right password now waits
    assert reply.status_code == 429
    assert "Hãy đợi 1 giây rồi thử lại" in reply.text


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(client, make_user):
    make_user("lan", "supervisor")
    plain = cookie_header(log_in(client, "lan"), "khudan_session")
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain

    secure_client = client.application.test_client()
    token = csrf_of(secure_client.get("/app/login", base_url="https://khudan.example").text)
    form = {"username": "lan", "password": PASSWORD, "csrf_token": token}
    # Over HTTPS a post must also come from this site (CSRFProtect's strict Referer check).
    refused = secure_client.post("/app/login", data=form, base_url="https://khudan.example")
    assert refused.status_code == 400
    reply = secure_client.post(
        "/app/login",
        data=form,
        base_url="https://khudan.example",
        headers={"Referer": "https://khudan.example/app/login"},
    )
    header = cookie_header(reply, "khudan_session")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_cookie_is_secure_behind_a_trusted_https_proxy(settings, db, make_user):
    from khudan.app import create_app

    make_user("lan", "supervisor")
    client = create_app(settings.but(trusted_proxies=1), db=db).test_client()
    proxied = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/app/login"}
    token = csrf_of(client.get("/app/login", headers=proxied).text)
    reply = client.post(
        "/app/login",
        data={"username": "lan", "password": PASSWORD, "csrf_token": token},
        headers=proxied,
    )
    assert "Secure" in cookie_header(reply, "khudan_session")


@pytest.mark.parametrize("path", ["/app/login", "/app/logout", "/app/password"])
def test_a_post_without_the_csrf_token_is_refused(client, make_user, path):
    make_user("lan", "supervisor")
    assert log_in(client, "lan").status_code == 302
    for data, headers in (({}, {}), ({"csrf_token": "forged"}, {"X-CSRF-Token": "forged"})):
        reply = client.post(
            path, data={**data, "username": "lan", "password": PASSWORD}, headers=headers
        )
        assert reply.status_code == 400
        assert "Hãy tải lại trang rồi thử lại." in reply.text
    assert client.get("/app/").status_code == 200  # still logged in: logout was refused


def test_the_csrf_header_is_accepted_for_fetch_calls(client, web_login):
    token = web_login("lan")
    reply = client.post("/app/logout", headers={"X-CSRF-Token": token})
    assert reply.status_code == 302
    assert client.get("/app/").status_code == 302


def test_language_switch_sets_a_cookie_and_translates_the_page(client, web_login):
    web_login("lan")
    page = client.get("/app/?lang=en")
    assert '<html lang="en">' in page.text and "Hello lan" in page.text
    assert "khudan_lang=en" in cookie_header(page, "khudan_lang")
    assert "Hello lan" in client.get("/app/").text  # the cookie keeps it
    page = client.get("/app/?lang=vi")
    assert '<html lang="vi">' in page.text and "Xin chào lan" in page.text
    assert '<html lang="vi">' in client.get("/app/?lang=xx").text  # unknown: Vietnamese


def test_errors_from_services_follow_the_language(client, make_user):
    make_user("lan", "supervisor")
    client.get("/app/login?lang=en")
    reply = log_in(client, "lan", "wrong password")
    assert "Wrong username or password." in reply.text
    assert "Tên người dùng" not in reply.text


@pytest.mark.parametrize(
    "next_url, lands_on",
    [
        ("/app/password", "/app/password"),
        ("https://evil.example/", "/app/"),
        ("//evil.example/", "/app/"),
        ("/\\evil.example", "/app/"),
        ("javascript:alert(1)", "/app/"),
        ("/\tevil", "/app/"),
    ],
)
def test_next_only_leads_to_a_page_of_this_site(client, make_user, next_url, lands_on):
    make_user("lan", "supervisor")
    assert log_in(client, "lan", next=next_url).headers["Location"] == lands_on


def test_collectors_are_told_to_use_odk_collect(client, web_login):
    web_login("thu", "collector")
    page = client.get("/app/")
    assert "ODK Collect" in page.text and "Tổng quan" not in page.text


def test_a_page_for_other_roles_is_403(app, client, web_login):
    from khudan.models import Role
    from khudan.web import auth

    @auth.login_required(Role.ADMIN)
    def admin_only():
        return "secret"

    app.add_url_rule("/app/admin-only", "web.admin_only", admin_only)  # as a page module would
    web_login("lan")
    reply = client.get("/app/admin-only")
    assert reply.status_code == 403
    assert "Tài khoản lan (Giám sát viên) không được mở trang này." in reply.text


def test_nav_lists_only_pages_the_role_may_open(client, web_login):
    web_login("lan")
    page = client.get("/app/").text
    assert 'href="/app/review"' in page and 'href="/app/users"' not in page


def test_change_password(client, web_login, db):
    token = web_login("lan")
    form = {"csrf_token": token, "current": PASSWORD, "new": "a new secret", "again": "x"}
    assert "không giống nhau" in client.post("/app/password", data=form).text
    assert "ít nhất 8 ký tự" in client.post("/app/password", data={**form, "new": "short"}).text
    wrong = client.post("/app/password", data={**form, "current": "nope", "again": "a new secret"})
    assert wrong.status_code == 400 and "Mật khẩu hiện tại không đúng." in wrong.text

    reply = client.post("/app/password", data={**form, "again": "a new secret"})
    assert reply.status_code == 302
    assert "Đã đổi mật khẩu." in client.get("/app/").text  # still logged in, on a new token
    with db.session() as s:
        assert [r.revoked_at is None for r in s.query(ApiSession).order_by(ApiSession.id)] == [
            False,
            True,
        ]
    other = client.application.test_client()
    assert log_in(other, "lan").status_code == 401
    assert log_in(other, "lan", "a new secret").status_code == 302


def test_a_favicon_and_the_swagger_introduction_shows_the_bearer_header(client):
    page = client.get("/app/login").text
    assert 'rel="icon" href="/app/static/favicon.svg"' in page
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["Location"].endswith("/app/static/favicon.svg")
    with client.get("/app/static/favicon.svg") as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    spec = client.get("/api/v1/swagger.json").json
    # Markdown: inside a code span "<token>" is shown, not taken for an HTML tag and dropped.
    assert "`Authorization: Bearer <token>`" in spec["info"]["description"]
