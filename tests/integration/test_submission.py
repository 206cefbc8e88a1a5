"""POST /submission as ODK Collect sends it, and every way it can go wrong.

Central's black-box tests (shared/protocol §8, CB:test/integration/api/submissions.js) are the
acceptance list; each test names the behaviour it guards.
"""

from __future__ import annotations

import hashlib

import pytest
from collect import CollectClient, flask_sender, multipart
from conftest import VILLAGES_CSV
from factories import household_xml, jpeg, noisy_jpeg
from sqlalchemy import select
from stored import attachment_hashes, count, sha

from khudan.models import AuditEvent, Blob, FormState, Submission, SubmissionVersion
from khudan.services import forms

OR = {"X-OpenRosa-Version": "1.0"}


@pytest.fixture
def household(publish):
    publish("household")


def test_head_submission_is_204_with_openrosa_headers(collector):
    reply = collector.preflight()
    assert reply.status == 204 and reply.body == b""
    assert reply.headers["x-openrosa-version"] == "1.0"
    assert reply.headers["x-openrosa-accept-content-length"] == "100000000"
    assert "date" in reply.headers


def test_head_submission_needs_auth_and_the_openrosa_header(client, collector):
    assert client.head("/submission", headers=OR).status_code == 401
    assert (
        collector.request(
            "HEAD", "http://localhost/submission", headers={"X-OpenRosa-Version": "0.9"}
        ).status
        == 400
    )


def test_accept_content_length_follows_the_setting(collector_with):
    c = collector_with(max_request_bytes=5_000_000)
    assert c.preflight().headers["x-openrosa-accept-content-length"] == "5000000"


def test_submission_with_photos_is_stored_byte_for_byte(collector, household, db, storage):
    house, m1 = jpeg(color=(10, 20, 30)), jpeg(color=(200, 100, 0))
    xml = household_xml(
        "uuid:a1", members=(("Lê Thị Hoa", "1700000001.jpg"),), house_photo="1700000000.jpg"
    )
    replies = collector.submit(xml, {"1700000000.jpg": house, "1700000001.jpg": m1})
    assert [r.status for r in replies] == [201]
    assert replies[0].headers["content-type"] == "text/xml; charset=utf-8"
    assert "successful" in replies[0].message
    with db.session() as s:
        version = s.scalar(select(SubmissionVersion))
        assert version.xml == xml  # byte for byte
        assert version.instance_name == "HH-01 - Nguyễn Văn An"
        assert version.device_id == collector.device_id
        assert version.user_agent.startswith("org.odk.collect.android/")
        submission = s.get(Submission, version.submission_id)
        assert submission.review_state == "received"
        assert submission.current_version_id == version.id
    assert attachment_hashes(db, "uuid:a1") == {
        "1700000000.jpg": sha(house),
        "1700000001.jpg": sha(m1),
    }
    with db.session() as s:
        blob = s.scalar(select(Blob).where(Blob.sha256 == sha(house)))
    with storage.open(blob.storage_key) as fh:
        assert fh.read() == house
    assert blob.content_type == "image/jpeg" and blob.md5 == hashlib.md5(house).hexdigest()


def test_resending_identical_xml_stores_nothing_twice_and_fills_missing_files(
    collector, household, db
):
    house = jpeg()
    xml = household_xml("uuid:r1", house_photo="house.jpg")
    first = collector.submit(xml)  # the photo did not make it
    assert first[0].status == 201 and "house.jpg" in first[0].message
    assert attachment_hashes(db, "uuid:r1") == {"house.jpg": None}
    again = collector.submit(xml, {"house.jpg": house})
    assert again[0].status == 201
    assert count(db, Submission) == 1 and count(db, SubmissionVersion) == 1
    assert attachment_hashes(db, "uuid:r1") == {"house.jpg": sha(house)}
    third = collector.submit(xml, {"house.jpg": house})
    assert third[0].status == 201 and "already" in third[0].message
    assert count(db, Submission) == 1 and count(db, Blob) == 2  # the photo, villages.csv


def test_a_new_file_is_one_statement_and_known_bytes_keep_their_row(collector, household, db):
    """A photo khudan has never seen is one INSERT (it says the row's id); the same bytes in a
    second submission find the row the first wrote: one row, both attachments on it."""
    from sqlalchemy import event

    from khudan.models import Attachment

    house = jpeg(color=(9, 8, 7))
    statements: list[str] = []

    def keep(conn, cursor, statement, *args) -> None:
        statements.append(" ".join(statement.split()).upper())

    collector.preflight()
    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        first = collector.submit(
            household_xml("uuid:b1", house_photo="house.jpg"), {"house.jpg": house}
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert [r.status for r in first] == [201]
    assert sum(s.startswith("INSERT INTO BLOBS") for s in statements) == 1
    assert not [s for s in statements if "FROM BLOBS WHERE BLOBS.SHA256" in s]  # no look first
    second = collector.submit(
        household_xml("uuid:b2", code="HH-02", house_photo="house.jpg"), {"house.jpg": house}
    )
    assert [r.status for r in second] == [201]
    with db.session() as s:
        ids = s.scalars(select(Blob.id).where(Blob.sha256 == sha(house))).all()
        assert len(ids) == 1
        on = s.scalars(select(Attachment.blob_id).where(Attachment.name == "house.jpg")).all()
    assert on == ids * 2


def test_an_arrived_file_is_never_replaced_by_a_resend(collector, household, db):
    xml = household_xml("uuid:r2", house_photo="house.jpg")
    original = jpeg(color=(1, 2, 3))
    collector.submit(xml, {"house.jpg": original})
    collector.submit(xml, {"house.jpg": jpeg(color=(9, 9, 9))})
    assert attachment_hashes(db, "uuid:r2") == {"house.jpg": sha(original)}


def test_same_instance_id_with_different_xml_is_409(collector, household, db):
    assert collector.submit(household_xml("uuid:c1", head="An"))[0].status == 201
    reply = collector.submit(household_xml("uuid:c1", head="Bình"))[0]
    assert reply.status == 409
    assert "identical" in reply.message and 'nature="error"' in reply.text
    assert count(db, SubmissionVersion) == 1


def test_same_instance_id_on_another_form_is_a_new_submission(collector, publish, db):
    publish("household")
    publish("simple")
    assert collector.submit(household_xml("uuid:same"))[0].status == 201
    simple = (
        b'<data id="simple" version="1"><name>An</name><age>3</age>'
        b"<meta><instanceID>uuid:same</instanceID></meta></data>"
    )
    assert collector.submit(simple)[0].status == 201
    assert count(db, Submission) == 2


def test_split_upload_with_is_incomplete_assembles_one_submission(collector_with, db, household):
    c = collector_with(max_request_bytes=5_000)
    photos = {f"p{i}.jpg": noisy_jpeg(50, 40, seed=i) for i in range(3)}
    assert all(2_000 < len(p) < 5_000 for p in photos.values())
    xml = household_xml("uuid:s1", members=(("A", "p1.jpg"), ("B", "p2.jpg")), house_photo="p0.jpg")
    replies = c.submit(xml, photos)
    assert [r.status for r in replies] == [201, 201, 201], [r.message for r in replies]
    assert "Partial" in replies[0].message and "successful" in replies[-1].message
    assert count(db, Submission) == 1
    assert attachment_hashes(db, "uuid:s1") == {n: sha(d) for n, d in photos.items()}


def test_parts_the_xml_does_not_name_are_ignored(collector, household, db):
    xml = household_xml("uuid:u1", house_photo="house.jpg")
    reply = collector.submit(
        xml, {"house.jpg": jpeg(), "stray.jpg": jpeg(color=(5, 5, 5)), "notes.txt": b"hello"}
    )[0]
    assert reply.status == 201
    assert attachment_hashes(db, "uuid:u1") == {"house.jpg": sha(jpeg())}
    assert count(db, Blob) == 2  # the photo, and the form's villages.csv


def test_non_ascii_attachment_names_are_kept(collector, household, db):
    name = "ảnh nhà 😂.jpg"
    xml = household_xml("uuid:n1", house_photo=name)
    assert collector.submit(xml, {name: jpeg()})[0].status == 201
    assert attachment_hashes(db, "uuid:n1") == {name: sha(jpeg())}


def test_path_tricks_in_file_names_never_reach_the_disk(collector, household, db, settings):
    name = "../../../etc/evil.jpg"
    xml = household_xml("uuid:p1", house_photo=name)
    assert collector.submit(xml, {name: jpeg()})[0].status == 201
    assert attachment_hashes(db, "uuid:p1") == {name: sha(jpeg())}
    stored = sorted(p.name for p in settings.media_root.rglob("*") if p.is_file())
    # the photo (64 px: its own thumbnails) and the form's villages.csv: every name is a hash
    assert stored == sorted([sha(jpeg()), sha(VILLAGES_CSV)])
    assert not (settings.media_root.parent / "etc").exists()


def test_edit_with_deprecated_id_is_a_new_version_and_carries_files_forward(
    collector, household, db
):
    house, member = jpeg(color=(1, 1, 1)), jpeg(color=(2, 2, 2))
    old = household_xml("uuid:e1", members=(("A", "m.jpg"),), house_photo="h.jpg")
    collector.submit(old, {"h.jpg": house, "m.jpg": member})
    new_member = jpeg(color=(3, 3, 3))
    edit = household_xml(
        "uuid:e2",
        head="Trần Thị Bé",
        members=(("A", "m2.jpg"),),
        house_photo="h.jpg",
        deprecated_id="uuid:e1",
    )
    reply = collector.submit(edit, {"m2.jpg": new_member})[0]
    assert reply.status == 201
    with db.session() as s:
        submission = s.scalar(select(Submission))
        versions = s.scalars(select(SubmissionVersion).order_by(SubmissionVersion.id)).all()
        assert [v.instance_id for v in versions] == ["uuid:e1", "uuid:e2"]
        assert submission.current_version_id == versions[1].id
        assert submission.review_state == "edited"
        assert versions[0].xml == old  # the old version is kept
    assert attachment_hashes(db, "uuid:e2") == {"h.jpg": sha(house), "m2.jpg": sha(new_member)}
    assert attachment_hashes(db, "uuid:e1") == {"h.jpg": sha(house), "m.jpg": sha(member)}
    with db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "submission.edit"))
        assert event.details == {"instance_id": "uuid:e2", "deprecated_id": "uuid:e1"}
        assert event.target == f"submission:{submission.id}"


def test_edit_of_an_unknown_submission_is_404(collector, household):
    reply = collector.submit(household_xml("uuid:x2", deprecated_id="uuid:nosuch"))[0]
    assert reply.status == 404 and "uuid:nosuch" in reply.message


def test_edit_of_an_out_of_date_copy_is_409(collector, household, db):
    collector.submit(household_xml("uuid:o1"))
    assert collector.submit(household_xml("uuid:o2", deprecated_id="uuid:o1"))[0].status == 201
    reply = collector.submit(household_xml("uuid:o3", head="X", deprecated_id="uuid:o1"))[0]
    assert reply.status == 409 and "out of date" in reply.message
    assert count(db, SubmissionVersion) == 2


def test_closed_form_refuses_and_closing_form_accepts(collector, household, db):
    forms.set_state(db, "household", FormState.CLOSING)
    assert collector.submit(household_xml("uuid:k1"))[0].status == 201
    forms.set_state(db, "household", FormState.CLOSED)
    reply = collector.submit(household_xml("uuid:k2"))[0]
    assert reply.status == 409 and "closed" in reply.message


def test_older_published_version_still_accepts_submissions(collector, publish, db):
    publish("household", version="1")
    publish("household", version="2")
    assert collector.submit(household_xml("uuid:v1", version="1"))[0].status == 201
    with db.session() as s:
        version = s.scalar(select(SubmissionVersion))
        assert version.form_version.version == "1"


def test_unknown_form_is_404(collector, household):
    reply = collector.submit(household_xml("uuid:f1", form_id="nosuch"))[0]
    assert reply.status == 404 and "nosuch" in reply.message


def test_unknown_form_version_is_404(collector, household):
    reply = collector.submit(household_xml("uuid:f2", version="-1"))[0]
    assert reply.status == 404 and "'-1'" in reply.message


def post(collector, body: bytes, content_type: str):
    return collector.request(
        "POST", "http://localhost/submission", body, {"Content-Type": content_type}
    )


@pytest.mark.parametrize(
    ("xml", "status", "words"),
    [
        (b"<data", 400, "not well-formed"),
        (b"", 400, "xml_submission_file"),
        (b"<data><meta/></data>", 400, "form id"),
        (
            b'<!DOCTYPE data [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<data id="household" version="1"><hh_code>&x;</hh_code></data>',
            400,
            "DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            b'<data id="household" version="1"><hh_code>&c;</hh_code></data>',
            400,
            "DOCTYPE",
        ),
        ("<data id='household' version='1'>".encode("utf-16"), 400, "not well-formed"),
    ],
    ids=["truncated", "empty", "no-form-id", "xxe", "billion-laughs", "truncated-utf16"],
)
def test_bad_xml_is_400_with_a_message(collector, household, db, xml, status, words):
    body, ctype = multipart([("xml_submission_file", "x.xml", "text/xml", xml)])
    reply = post(collector, body, ctype)
    assert reply.status == status
    assert words in reply.message and 'nature="error"' in reply.text
    assert count(db, Submission) == 0


def test_missing_xml_part_is_400(collector, household):
    body, ctype = multipart([("house.jpg", "house.jpg", "image/jpeg", jpeg())])
    reply = post(collector, body, ctype)
    assert reply.status == 400 and "xml_submission_file" in reply.message


def test_non_multipart_body_is_400(collector, household):
    reply = post(collector, household_xml("uuid:t1"), "text/xml")
    assert reply.status == 400 and "xml_submission_file" in reply.message


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"--abc\r\nContent-Disposition: form-data; name=x\r\n\r\nhello", "multipart/form-data"),
        (b"", "multipart/form-data; boundary=abc"),
        (
            b'--abc\r\nContent-Disposition: form-data; name="xml_submission_file"\r\n\r\n<da',
            "multipart/form-data; boundary=abc",
        ),
        (
            b'--abc\r\nContent-Disposition: form-data; name="x"\r\nhello\r\n--abc--\r\n',
            "multipart/form-data; boundary=abc",
        ),
    ],
    ids=["no-boundary", "empty-body", "truncated", "malformed-part-header"],
)
def test_broken_multipart_is_400(collector, household, db, body, ctype):
    reply = post(collector, body, ctype)
    assert reply.status == 400
    assert "multipart" in reply.message or "xml_submission_file" in reply.message
    assert count(db, Submission) == 0


def test_upload_over_the_limit_is_413(collector_with, db, household):
    c = collector_with(max_request_bytes=20_000)
    xml = household_xml("uuid:big", house_photo="big.jpg")
    body, ctype = multipart(
        [
            ("xml_submission_file", "x.xml", "text/xml", xml),
            ("big.jpg", "big.jpg", "image/jpeg", b"\xff" * 50_000),
        ]
    )
    reply = c.request("POST", "http://localhost/submission", body, {"Content-Type": ctype})
    assert reply.status == 413 and "20000" in reply.message
    assert count(db, Submission) == 0


def test_submission_without_instance_id_is_still_stored_once(collector, household, db):
    xml = b'<data id="household" version="1"><hh_code>H9</hh_code><head>An</head></data>'
    assert collector.submit(xml)[0].status == 201
    assert collector.submit(xml)[0].status == 201
    assert count(db, Submission) == 1


def test_a_designer_may_not_submit(client, make_user, household, db):
    make_user("dung", "designer")
    c = CollectClient(flask_sender(client), "http://localhost", "dung", "correct horse")
    reply = c.submit(household_xml("uuid:d1"))[0]
    assert reply.status == 403 and "designer" in reply.message
    assert count(db, Submission) == 0
