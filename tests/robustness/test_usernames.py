"""Usernames a person cannot tell apart (#18): ``аdm`` (Cyrillic а), ``adm`` with a zero-width
space and ``Adm`` were all accepted beside ``adm``. Names are compared after NFKC, case folding
and reading Cyrillic and Greek look-alikes as Latin; invisible characters and mixed scripts are
refused outright. Names that differ visibly (Vietnamese tones) stay distinct.
"""

from __future__ import annotations

import pytest

from khudan import errors
from khudan.services import users


@pytest.fixture
def admin(client, make_user):
    make_user("admin1", "admin")
    r = client.post("/api/v1/sessions", json={"username": "admin1", "password": "correct horse"})
    return {"Authorization": f"Bearer {r.json['token']}"}


def create(client, admin, username: str):
    return client.post(
        "/api/v1/users", json={"username": username, "role": "collector"}, headers=admin
    )


@pytest.mark.parametrize(
    "name, twin",
    [("Adm", "adm"), ("ADM", "adm"), ("ａｄｍ", "adm"), ("асе", "ace"), ("АСЕ", "ace")],
    ids=["capital", "upper", "full-width", "all-cyrillic", "all-cyrillic-upper"],
)
def test_a_name_that_looks_like_an_existing_one_is_409(client, admin, make_user, name, twin):
    make_user(twin, "collector")
    r = create(client, admin, name)
    assert r.status_code == 409 and r.json["code"] == "409.20"
    assert r.json["message"] == errors.USERNAME_LOOKALIKE(username=name, existing=twin).message_vi


@pytest.mark.parametrize("name", ["аdm", "adм", "pαul"], ids=["cyrillic-a", "cyrillic-m", "greek"])
def test_a_name_mixing_scripts_is_422(client, admin, name):
    r = create(client, admin, name)
    assert r.status_code == 422 and "trộn chữ của nhiều hệ chữ viết" in str(r.json["details"])


@pytest.mark.parametrize(
    "name",
    ["adm\u200b", "\u200dadm", "ad\u00adm", "adm\u202e", "ad\u00a0m", "ad\tm"],
    ids=["zero-width-space", "zero-width-joiner", "soft-hyphen", "bidi-override", "nbsp", "tab"],
)
def test_a_name_with_an_invisible_character_is_422(client, admin, name):
    r = create(client, admin, name)
    assert r.status_code == 422 and "có ký tự ẩn hoặc ký tự điều khiển" in str(r.json["details"])


def test_names_that_differ_visibly_stay_distinct(client, admin):
    for name in ("hoa", "hòa", "hóa", "nguyễn.văn.an", "nguyen.van.an", "Đức"):
        assert create(client, admin, name).status_code == 201, name


def test_the_service_refuses_the_same_as_the_api(db, make_user):
    """The CLI and the web pages create users through the service: the same rules apply."""
    make_user("adm", "collector")
    with db.session() as session:
        with pytest.raises(errors.Problem) as lookalike:
            users.create_user(session, "ADM", "collector", "correct horse")
        assert lookalike.value.code == "409.20"
        with pytest.raises(errors.Problem) as invisible:
            users.create_user(session, "a\u200bdm", "collector", "correct horse")
        assert invisible.value.code == "422.4"


def test_the_reason_comes_in_the_clients_language(client, admin):
    """Service messages come from the gettext catalogs, in the API client's Accept-Language."""
    english = {**admin, "Accept-Language": "en"}
    r = client.post(
        "/api/v1/users", json={"username": "pαul", "role": "collector"}, headers=english
    )
    assert r.status_code == 422 and r.headers["Content-Language"] == "en"
    assert "mixes letters of several scripts (greek, latin)" in str(r.json["details"])
    assert "Not a username: it mixes" in str(r.json["details"])
