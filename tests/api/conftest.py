"""Helpers for REST API tests: log in as a role (optionally scoped to areas) and call with JSON."""

from __future__ import annotations

import pytest

from khudan.services import areas


@pytest.fixture
def login(client, make_user):
    """login("lan", "supervisor", areas=("21607",)) -> headers with a fresh bearer token."""

    def do(username: str = "admin1", role: str = "admin", areas: tuple[str, ...] = ()) -> dict:
        make_user(username, role, areas=areas)
        r = client.post(
            "/api/v1/sessions", json={"username": username, "password": "correct horse"}
        )
        assert r.status_code == 201, r.json
        return {"Authorization": f"Bearer {r.json['token']}"}

    return do


@pytest.fixture
def registry(db, official_areas):
    """The official provinces and communes, and two thôn of Xã Nhơn Châu and one tổ dân phố."""
    with db.session() as s:
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
        s.commit()
