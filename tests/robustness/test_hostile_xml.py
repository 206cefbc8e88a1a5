"""Submissions built to cost the server (#18): nesting thousands deep, repeats with thousands of
members, documents with too many elements. Each is refused with a message Collect shows, before
the work grows; what a real household sends is unchanged, and a long repeat costs linear work.
"""

from __future__ import annotations

import datetime as dt
from xml.etree.ElementTree import fromstring

import pytest
from stored import count

from khudan import errors
from khudan.models import Submission
from khudan.xforms import xpath

INSTANCE = "uuid:5d7c0a0e-4b1f-4c55-9d8e-000000000{n:03}"


def big_repeat_xml(members: int, n: int = 1) -> bytes:
    """A submission of tests/forms/big_repeat.md as JavaRosa writes it."""
    body = "".join(
        f"<member><m_name>Người {i}</m_name><m_age>{i % 90}</m_age><m_index>{i + 1}</m_index>"
        "<m_school/></member>"
        for i in range(members)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><data id="big_repeat" version="1">{body}'
        f"<meta><instanceID>{INSTANCE.format(n=n)}</instanceID></meta></data>"
    ).encode()


def test_nesting_thousands_deep_is_a_400_not_a_500(publish, collector, db):
    publish("big_repeat")
    deep = "<g>" * 5_000 + "</g>" * 5_000
    xml = (
        f'<?xml version="1.0"?><data id="big_repeat" version="1">{deep}'
        f"<meta><instanceID>{INSTANCE.format(n=2)}</instanceID></meta></data>"
    ).encode()
    [reply] = collector.submit(xml)
    assert reply.status == 400
    assert reply.message == errors.XML_TOO_DEEP(limit=100).message
    assert count(db, Submission) == 0


def test_a_repeat_longer_than_the_cap_is_refused(publish, collector_with, db):
    publish("big_repeat")
    phone = collector_with(repeat_max_members=50)
    [reply] = phone.submit(big_repeat_xml(51))
    assert reply.status == 413
    assert reply.message == errors.REPEAT_TOO_LONG(name="member", limit=50).message
    assert [r.status for r in phone.submit(big_repeat_xml(50, n=3))] == [201]  # at the cap: fine
    assert count(db, Submission) == 1


def test_a_submission_with_too_many_elements_is_refused(publish, collector_with, db):
    publish("big_repeat")
    phone = collector_with(submission_max_nodes=1_000)
    [reply] = phone.submit(big_repeat_xml(200))  # 200 members x 5 elements
    assert reply.status == 413
    assert reply.message == errors.XML_TOO_MANY_NODES(limit=1_000).message
    assert count(db, Submission) == 0


def test_position_in_a_long_repeat_numbers_the_siblings_once(publish, collector, db, monkeypatch):
    """2,000 members each asking position(..) used to scan all 2,000 siblings each: quadratic.
    Counted, not timed (bench/repeat_members.py times it)."""
    publish("big_repeat")
    scans = []
    numbered = xpath.number_siblings

    def counting(parent, name, positions):
        scans.append(name)
        numbered(parent, name, positions)

    monkeypatch.setattr(xpath, "number_siblings", counting)
    body = big_repeat_xml(2_000).replace(b"<m_name>Ng\xc6\xb0\xe1\xbb\x9di 0<", b"<m_name>first<")
    assert [r.status for r in collector.submit(body)] == [201]
    assert scans == ["member"]  # once for every member's position(..), not once per member


@pytest.mark.parametrize("members", [1, 2_000])
def test_position_answers_are_each_members_own(members):
    """The shared numbering gives each member its own position, as scanning did."""
    root = fromstring(big_repeat_xml(members))
    evaluator = xpath.Evaluator(root, dt.date(2026, 1, 1))
    got = [evaluator.evaluate("position(..)", m.find("m_name")) for m in root.iter("member")]
    assert got == list(range(1, members + 1))


def test_an_xform_nested_thousands_deep_is_a_400_on_publish(client, make_user):
    """XForms are read with the same limit (XLSX parts: test_xlsform_limits.py)."""
    make_user("dee", "designer")
    r = client.post("/api/v1/sessions", json={"username": "dee", "password": "correct horse"})
    headers = {"Authorization": f"Bearer {r.json['token']}"}
    deep = (
        b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        + b"<g>" * 5_000
        + b"</g>" * 5_000
        + b"</h:html>"
    )
    r = client.post("/api/v1/forms", headers=headers, data=deep, content_type="application/xml")
    assert r.status_code == 400 and r.json["code"] == "400.21"
