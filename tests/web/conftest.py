"""Fixtures for the web pages through Flask's test client: read the CSRF token from a page, and
log in through the real log-in form."""

from __future__ import annotations

import re

import pytest

# make_user's default password (tests/conftest.py); not imported from there because pytest may
# have another conftest module under that name by the time these tests are collected.
PASSWORD = "correct horse"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


@pytest.fixture
def web_login(client, make_user):
    """``web_login("lan", "supervisor", areas=("52",))``: create the user and log ``client`` in
    through the log-in form; returns the CSRF token for the pages' POSTs."""

    def do(username: str, role: str = "supervisor", areas: tuple[str, ...] = ()) -> str:
        make_user(username, role, areas=areas)
        token = csrf_of(client.get("/app/login").text)
        reply = client.post(
            "/app/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
        )
        assert reply.status_code == 302, reply.text
        return csrf_of(client.get("/app/password").text)

    return do
