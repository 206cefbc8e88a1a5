"""How phones authenticate: Digest over HTTP, Basic only over HTTPS, tokens in the URL."""

from __future__ import annotations

import base64

import pytest
from collect import CollectClient, digest_header, flask_sender, parse_digest_challenge
from factories import household_xml
from sqlalchemy import event, select

from khudan.app import create_app
from khudan.models import SubmissionVersion, User
from khudan.openrosa import auth
from khudan.services import users

OR = {"X-OpenRosa-Version": "1.0"}


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **OR}


def challenge(client, path="/formList") -> dict:
    return parse_digest_challenge(client.get(path, headers=OR).headers.get_all("WWW-Authenticate"))


def test_digest_with_the_right_password_passes(client, make_user):
    make_user("thu")
    ch = challenge(client)
    header = digest_header(ch, "thu", "correct horse", "GET", "http://localhost/formList", 1)
    assert client.get("/formList", headers={"Authorization": header, **OR}).status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("thu", "wrong password"), ("nobody", "correct horse")],
    ids=["wrong-password", "unknown-user"],
)
def test_digest_with_wrong_credentials_is_401_with_a_new_challenge(
    client, make_user, username, password
):
    make_user("thu")
    header = digest_header(challenge(client), username, password, "GET", "/formList", 1)
    r = client.get("/formList", headers={"Authorization": header, **OR})
    assert r.status_code == 401
    assert "Wrong username or password" in r.get_data(as_text=True)
    assert r.headers["WWW-Authenticate"].startswith("Digest ")


def test_digest_signed_for_another_path_is_refused(client, make_user):
    make_user("thu")
    header = digest_header(challenge(client), "thu", "correct horse", "GET", "/submission", 1)
    assert client.get("/formList", headers={"Authorization": header, **OR}).status_code == 401


def test_forged_nonce_is_refused(client, make_user):
    make_user("thu")
    ch = {"realm": "khudan", "nonce": auth.make_nonce("another-secret")}
    header = digest_header(ch, "thu", "correct horse", "GET", "/formList", 1)
    assert client.get("/formList", headers={"Authorization": header, **OR}).status_code == 401


def test_stale_nonce_gets_a_stale_challenge_and_the_retry_passes(client, make_user):
    make_user("thu")
    old = {"realm": "khudan", "nonce": auth.make_nonce("test-secret", now=1_000_000)}
    header = digest_header(old, "thu", "correct horse", "GET", "/formList", 1)
    r = client.get("/formList", headers={"Authorization": header, **OR})
    assert r.status_code == 401 and "stale=true" in r.headers["WWW-Authenticate"]
    fresh = parse_digest_challenge(r.headers.get_all("WWW-Authenticate"))
    header = digest_header(fresh, "thu", "correct horse", "GET", "/formList", 1)
    assert client.get("/formList", headers={"Authorization": header, **OR}).status_code == 200


def test_disabled_user_cannot_log_in(client, make_user, db):
    make_user("thu")
    with db.session() as s:
        s.scalar(select(User).where(User.username == "thu")).enabled = False
        s.commit()
    c = CollectClient(flask_sender(client), "http://localhost", "thu", "correct horse")
    assert c.form_list()[0].status == 401


def test_basic_over_plain_http_is_refused_with_a_reason(client, make_user):
    make_user("thu")
    r = client.get("/formList", headers=basic("thu", "correct horse"))
    assert r.status_code == 401
    assert "HTTPS" in r.get_data(as_text=True)
    assert [h.split()[0] for h in r.headers.get_all("WWW-Authenticate")] == ["Digest"]


def test_basic_over_https_passes_and_is_offered(client, make_user):
    make_user("thu")
    r = client.get("/formList", headers=OR, base_url="https://localhost")
    assert [h.split()[0] for h in r.headers.get_all("WWW-Authenticate")] == ["Digest", "Basic"]
    r = client.get("/formList", headers=basic("thu", "correct horse"), base_url="https://localhost")
    assert r.status_code == 200
    r = client.get("/formList", headers=basic("thu", "nope"), base_url="https://localhost")
    assert r.status_code == 401


def test_basic_behind_a_trusted_proxy_uses_x_forwarded_proto(settings, db, make_user):
    make_user("thu")
    headers = {**basic("thu", "correct horse"), "X-Forwarded-Proto": "https"}
    untrusted = create_app(settings, db=db).test_client()
    assert untrusted.get("/formList", headers=headers).status_code == 401
    trusted = create_app(settings.but(trusted_proxies=1), db=db).test_client()
    assert trusted.get("/formList", headers=headers).status_code == 200


def test_passwords_are_stored_only_as_hashes(make_user, db):
    make_user("thu", password="correct horse")
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "thu"))
    assert "correct horse" not in (user.password_hash + user.digest_ha1)
    assert user.password_hash.startswith(users.PASSWORD_METHOD.split(":")[0] + ":")
    assert users.password_method({}) == "scrypt"  # outside the test suite (see tests/conftest.py)
    assert user.digest_ha1 == users.digest_ha1("thu", "correct horse")


@pytest.fixture
def token(db, make_user, publish):
    publish("household")
    make_user("thu")
    with db.session() as s:
        token = users.issue_token(s, users.get_user(s, "thu"))
        s.commit()
    return token


def test_token_url_needs_no_password_and_keeps_its_prefix(client, token, db):
    phone = CollectClient(flask_sender(client), f"http://localhost/key/{token}")
    reply, listed = phone.form_list()
    assert reply.status == 200
    assert listed[0]["downloadUrl"] == f"http://localhost/key/{token}/forms/household.xml"
    assert listed[0]["manifestUrl"] == f"http://localhost/key/{token}/forms/household/manifest"
    assert phone.request("GET", listed[0]["downloadUrl"]).status == 200
    assert [r.status for r in phone.submit(household_xml("uuid:t1"))] == [201]
    with db.session() as s:
        version = s.scalar(select(SubmissionVersion))
        assert version.submitter_id == users.get_user(s, "thu").id


@pytest.mark.parametrize("bad", ["A" * 64, "short", "x" * 63 + "!"])
def test_unknown_token_is_403_not_a_challenge(client, token, bad):
    r = client.get(f"/key/{bad}/formList", headers=OR)
    assert r.status_code == 403
    assert "WWW-Authenticate" not in r.headers
    assert "QR" in r.get_data(as_text=True)


def test_revoked_token_is_403(client, token, db):
    with db.session() as s:
        assert users.revoke_tokens(s, users.get_user(s, "thu")) == 1
        s.commit()
    assert client.head(f"/key/{token}/submission", headers=OR).status_code == 403


def test_a_nul_in_the_username_is_a_wrong_login_not_a_crash(client, make_user):
    make_user("thu")
    header = digest_header(challenge(client), "th\x00u", "correct horse", "GET", "/formList", 1)
    r = client.get("/formList", headers={"Authorization": header, **OR})
    assert r.status_code == 401


def test_a_phones_sign_in_writes_nothing_and_reads_outside_any_transaction(
    settings, make_user, publish, db
):
    """Checking a Digest header commits nothing: a preflight makes no commit, a submission only
    its own, and a wrong password still writes (its try is counted). On PostgreSQL the reads go
    through the autocommit reader, so no BEGIN and ROLLBACK round trips either: the preflight
    opens no transaction and the submission one. (SQLite's reader is by design an ordinary
    session, whose driver sends no BEGIN for reads: there only the commits are counted.)"""
    publish("household")
    make_user("thu")
    client = create_app(settings.but(process_inline=False), db=db).test_client()  # as served
    postgres = db.engine.dialect.name == "postgresql"
    opened, committed = [], []

    def begun(conn) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            opened.append(conn)

    def commit(conn) -> None:
        committed.append(conn)

    def counted() -> tuple[int, int | None]:
        """(commits, transactions opened on PostgreSQL) since the last call."""
        found = (len(committed), len(opened) if postgres else None)
        opened.clear()
        committed.clear()
        return found

    phone = CollectClient(flask_sender(client), "http://localhost", "thu", "correct horse")
    assert phone.preflight().status == 204  # answers the challenge: the next request need not
    event.listen(db.engine, "begin", begun)
    event.listen(db.engine, "commit", commit)
    try:
        assert phone.preflight().status == 204
        assert counted() == (0, 0 if postgres else None)
        assert [r.status for r in phone.submit(household_xml("uuid:tx1"))] == [201]
        assert counted() == (1, 1 if postgres else None)  # the submission's own
        wrong = CollectClient(flask_sender(client), "http://localhost", "thu", "wrong horse")
        assert wrong.preflight().status == 401
        assert counted()[0] >= 1  # the wrong password was counted
    finally:
        event.remove(db.engine, "begin", begun)
        event.remove(db.engine, "commit", commit)


def test_a_phones_sign_in_is_one_read(settings, make_user, publish, db):
    """Collect signs every request with Digest: the user and the throttle record of the pair
    (address, name) are read together, so a preflight costs one statement; after wrong passwords
    the pair's record is still found and the good password then forgives it."""
    publish("household")
    make_user("thu")
    client = create_app(settings.but(process_inline=False), db=db).test_client()
    statements: list[str] = []

    def run(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    phone = CollectClient(flask_sender(client), "http://localhost", "thu", "correct horse")
    assert phone.preflight().status == 204
    event.listen(db.engine, "before_cursor_execute", run)
    try:
        statements.clear()
        assert phone.preflight().status == 204
        assert len(statements) == 1, statements
        wrong = CollectClient(flask_sender(client), "http://localhost", "thu", "wrong horse")
        assert wrong.preflight().status == 401
        statements.clear()
        assert phone.preflight().status == 204  # claims its try, then is forgiven: writes
        assert any(s.lstrip().upper().startswith("UPDATE") for s in statements), statements
        statements.clear()
        assert phone.preflight().status == 204  # the record is clean again: one read
        assert len(statements) == 1, statements
    finally:
        event.remove(db.engine, "before_cursor_execute", run)
