"""Password guessing and Digest replay, tried against every place a password is checked.

Tries: guessing a name faster than the growing delay allows; forty guesses at once (they must not
all pass one check); 300 wrong Digest answers as ODK Collect would send them; locking a supervisor
out from another address (must fail); replaying a captured Digest header (must get 401).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from collect import digest_header, parse_digest_challenge
from sqlalchemy import select, update

from khudan.models import LoginFailure, LoginThrottle
from khudan.services import throttle, users

PASSWORD = "correct horse"
PHONE = {"X-OpenRosa-Version": "1.0"}


def api_login(client, name: str, password: str, address: str = "127.0.0.1"):
    return client.post(
        "/api/v1/sessions",
        json={"username": name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_delay_doubles_after_the_free_failures(client, make_user, db):
    make_user("lan", "supervisor")
    waits = []
    for _ in range(throttle.FREE_FAILURES + 4):
        assert api_login(client, "lan", "wrong").status_code == 401
        r = api_login(client, "lan", "wrong")  # at once: free, or told how long to wait
        waits.append(int(r.headers["Retry-After"]) if r.status_code == 429 else 0)
        with db.session() as s:  # then time passes: the pair may try again
            s.execute(update(LoginThrottle).values(next_allowed_at=dt.datetime.now(dt.UTC)))
            s.commit()
    assert waits[:2] == [0, 0], waits  # a typo or two costs nothing
    delays = [w for w in waits if w]
    assert delays == sorted(delays) and delays[-1] >= 8 * delays[0], waits
    assert max(waits) <= throttle.MAX_DELAY.total_seconds()


def test_forty_guesses_at_once_get_no_more_checks_than_one_after_another(
    app, make_user, monkeypatch
):
    make_user("lan", "supervisor")
    checked, lock = [], threading.Lock()
    real = users.check_password

    def counting(user, password):
        with lock:
            checked.append(password)
        return real(user, password)

    monkeypatch.setattr(users, "check_password", counting)
    start = threading.Barrier(40)
    statuses = []

    def guess(i: int) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(api_login(client, "lan", f"guess {i}").status_code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [401, 429]
    assert len(checked) <= throttle.FREE_FAILURES, len(checked)


def challenge(client, path: str = "/formList") -> dict:
    reply = client.get(path, headers=PHONE)
    assert reply.status_code == 401
    return parse_digest_challenge(reply.headers.getlist("WWW-Authenticate"))


def test_digest_guessing_is_throttled_and_the_name_still_works_elsewhere(client, make_user, db):
    make_user("boss", "admin")
    make_user("thu", "collector")
    ch = challenge(client)
    statuses = []
    for nc in range(1, 301):
        auth = digest_header(ch, "boss", f"guess {nc}", "GET", "http://localhost/formList", nc)
        reply = client.get("/formList", headers={**PHONE, "Authorization": auth})
        statuses.append(reply.status_code)
    # The free failures, then one more each time a delay (1, 2, 4 … s) ran out during the run.
    assert statuses[: throttle.FREE_FAILURES] == [401] * throttle.FREE_FAILURES
    assert statuses.count(401) <= throttle.FREE_FAILURES + 4
    assert statuses.count(429) >= 290
    with db.session() as s:
        assert s.scalar(select(LoginFailure.id).where(LoginFailure.username == "boss").limit(1))
    # From this address even the right password waits now; from another, a collector works.
    # The delay in force may end just as the run does (on a slow machine): let it end, guess
    # once more (counted: a longer delay starts), then try the right password at once.
    with db.session() as s:
        s.execute(update(LoginThrottle).values(next_allowed_at=dt.datetime.now(dt.UTC)))
        s.commit()
    wrong = digest_header(ch, "boss", "guess 301", "GET", "http://localhost/formList", 301)
    assert client.get("/formList", headers={**PHONE, "Authorization": wrong}).status_code == 401
    right = digest_header(ch, "boss", PASSWORD, "GET", "http://localhost/formList", 302)
    assert client.get("/formList", headers={**PHONE, "Authorization": right}).status_code == 429
    other = {"REMOTE_ADDR": "10.1.1.1"}
    ch2 = parse_digest_challenge(
        client.get("/formList", headers=PHONE, environ_base=other).headers.getlist(
            "WWW-Authenticate"
        )
    )
    ok = digest_header(ch2, "thu", PASSWORD, "GET", "http://localhost/formList", 1)
    reply = client.get("/formList", headers={**PHONE, "Authorization": ok}, environ_base=other)
    assert reply.status_code == 200


def test_a_replayed_digest_header_is_refused(client, make_user):
    make_user("thu", "collector")
    ch = challenge(client)
    header = digest_header(ch, "thu", PASSWORD, "GET", "http://localhost/formList", 1)
    first = client.get("/formList", headers={**PHONE, "Authorization": header})
    assert first.status_code == 200
    replay = client.get("/formList", headers={**PHONE, "Authorization": header})
    assert replay.status_code == 401
    # Told the nonce is stale, Collect retries with a fresh one, without asking for a password.
    assert "stale=true" in replay.headers["WWW-Authenticate"]
    nxt = digest_header(ch, "thu", PASSWORD, "GET", "http://localhost/formList", 2)
    assert client.get("/formList", headers={**PHONE, "Authorization": nxt}).status_code == 200


@pytest.mark.parametrize("lower", [1, 0])
def test_a_lower_or_equal_count_is_a_replay_too(client, make_user, lower):
    make_user("thu", "collector")
    ch = challenge(client)
    url = "http://localhost/formList"
    assert (
        client.get(
            "/formList",
            headers={**PHONE, "Authorization": digest_header(ch, "thu", PASSWORD, "GET", url, 2)},
        ).status_code
        == 200
    )
    old = digest_header(ch, "thu", PASSWORD, "GET", url, lower or 2)
    assert client.get("/formList", headers={**PHONE, "Authorization": old}).status_code == 401


def test_admins_see_the_failed_attempts(client, make_user):
    make_user("boss", "admin")
    make_user("lan", "supervisor")
    for _ in range(3):
        api_login(client, "lan", "wrong", address="10.9.9.9")
    token = api_login(client, "boss", PASSWORD).json["token"]
    r = client.get("/api/v1/audit/login-failures", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert [(i["address"], i["username"], i["failures"]) for i in r.json["items"]] == [
        ("10.9.9.9", "lan", 3)
    ]
    assert dt.datetime.fromisoformat(r.json["items"][0]["last_failed_at"]).tzinfo is not None


def _post(client, header: str, xml: bytes):
    from collect import multipart

    body, ctype = multipart([("xml_submission_file", "s.xml", "text/xml", xml)])
    return client.post(
        "/submission",
        data=body,
        headers={**PHONE, "Authorization": header, "Content-Type": ctype},
    )


def test_a_captured_submission_header_cannot_carry_another_body(client, make_user, publish, db):
    """Digest signs the method and path, not the body: the count, recorded in the submission's
    own transaction, is what stops a replay with other answers, also after a refused body."""
    from factories import household_xml

    from khudan.models import Submission

    publish("household", media={})
    make_user("thu", "collector")
    ch = challenge(client)
    url = "http://localhost/submission"
    first = digest_header(ch, "thu", PASSWORD, "POST", url, 1)
    assert _post(client, first, household_xml("uuid:real-1")).status_code == 201
    replay = _post(client, first, household_xml("uuid:forged-1"))
    assert replay.status_code == 401 and "stale=true" in replay.headers["WWW-Authenticate"]
    broken = digest_header(ch, "thu", PASSWORD, "POST", url, 2)
    assert _post(client, broken, b"<not-xml").status_code == 400
    assert _post(client, broken, household_xml("uuid:forged-2")).status_code == 401
    third = digest_header(ch, "thu", PASSWORD, "POST", url, 3)
    assert _post(client, third, household_xml("uuid:real-2")).status_code == 201
    with db.session() as s:
        stored = sorted(s.scalars(select(Submission.instance_id)))
    assert stored == ["uuid:real-1", "uuid:real-2"]


def test_the_preflight_writes_nothing_and_its_replay_learns_nothing(client, make_user, db):
    """Collect's HEAD /submission before each upload: 204 with no write (no nonce count kept),
    so a replay of it gets the same empty 204; the POST after it still records its count."""
    from khudan.models import DigestNonce

    make_user("thu", "collector")
    ch = challenge(client, "/submission")
    header = digest_header(ch, "thu", PASSWORD, "HEAD", "http://localhost/submission", 1)
    for _ in range(2):
        reply = client.head("/submission", headers={**PHONE, "Authorization": header})
        assert reply.status_code == 204 and reply.data == b""
    with db.session() as s:
        assert s.scalar(select(DigestNonce.nonce)) is None
