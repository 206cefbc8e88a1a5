"""A submission made by JavaRosa itself, the form engine inside ODK Collect, is accepted as a phone's.

The form is downloaded through the form list and manifest as Collect downloads it, filled in and
serialised by JavaRosa (tests/clients/JrFill.java, using the JavaRosa pyxform ships), then sent with
real JPEGs. Nothing in the submission is written by hand, unlike tests/factories.py's household_xml.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from clients.javarosa import JavaRosaRefused, compile_jrfill, fill
from collect import CollectClient
from factories import jpeg
from sqlalchemy import select
from stored import attachment_bytes, count

from khudan.models import Attachment, Submission, SubmissionVersion

pytestmark = pytest.mark.needs("java", "jdk")

VILLAGES = "name,label\nt1,Thôn Phú Thạnh\nt2,Thôn An Lợi\n".encode()
UUID = re.compile(r"uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture(scope="session")
def jrfill(tmp_path_factory) -> Path:
    return compile_jrfill(tmp_path_factory.mktemp("jrfill"))


@pytest.fixture
def household_on_phone(publish, collector: CollectClient, tmp_path) -> tuple[bytes, Path]:
    """The household form and its media, published, then downloaded as Collect downloads them."""
    publish("household", media={"villages.csv": VILLAGES})
    reply, listed = collector.form_list()
    assert reply.status == 200 and [f["formID"] for f in listed] == ["household"]
    form = collector.request("GET", listed[0]["downloadUrl"])
    assert form.status == 200
    assert listed[0]["hash"] == "md5:" + hashlib.md5(form.body).hexdigest()
    media_dir = tmp_path / "household-media"
    media_dir.mkdir()
    _, files = collector.manifest(listed[0]["manifestUrl"])
    for f in files:
        (media_dir / f["filename"]).write_bytes(collector.request("GET", f["downloadUrl"]).body)
    assert (media_dir / "villages.csv").read_bytes() == VILLAGES
    return form.body, media_dir


@pytest.mark.usefixtures("jrfill")
def test_a_submission_javarosa_serialised_is_stored_as_sent(
    household_on_phone, collector, db, storage
):
    form_xml, media_dir = household_on_phone
    xml = fill(
        form_xml,
        {
            "hh_code": "HH-7",
            "head": "Nguyễn Văn An",
            "hh_size": 2,
            "member#": 2,
            "member[1]/m_name": "An",
            "member[1]/m_photo": "1700000001.jpg",
            "member[2]/m_name": "Bình",
            "member[2]/m_photo": "1700000002.jpg",
            "house_photo": "1700000000.jpg",
            "village": "t2",
            "location": "13.7765 109.2237 12 5",
        },
        media_dir,
    )
    root = ElementTree.fromstring(xml)
    instance_id = root.findtext("meta/instanceID")
    assert UUID.fullmatch(instance_id), instance_id
    assert root.findtext("meta/instanceName") == "HH-7 - Nguyễn Văn An"
    assert root.findtext("village") == "t2"
    assert root.findtext("location") == "13.7765 109.2237 12.0 5.0"

    photos = {
        "1700000000.jpg": jpeg(color=(10, 20, 30)),
        "1700000001.jpg": jpeg(color=(200, 100, 0)),
        "1700000002.jpg": jpeg(color=(0, 90, 160)),
    }
    replies = collector.submit(xml, photos)
    assert [r.status for r in replies] == [201], [r.message for r in replies]
    assert "successful" in replies[0].message
    with db.session() as s:
        version = s.scalar(select(SubmissionVersion))
        assert version.xml == xml  # JavaRosa's bytes, byte for byte
        assert version.instance_id == instance_id
        assert version.instance_name == "HH-7 - Nguyễn Văn An"
    assert attachment_bytes(db, storage, instance_id) == photos

    resend = collector.submit(xml, photos)
    assert [r.status for r in resend] == [201] and "already" in resend[0].message
    assert count(db, Submission) == 1 and count(db, SubmissionVersion) == 1
    assert count(db, Attachment) == 3


@pytest.mark.usefixtures("jrfill")
def test_javarosa_refuses_to_finalize_without_a_required_answer(household_on_phone, collector):
    form_xml, media_dir = household_on_phone
    with pytest.raises(JavaRosaRefused, match=r"required.*/data/hh_code") as refused:
        fill(form_xml, {"head": "Nguyễn Văn An", "village": "t1"}, media_dir)
    assert refused.value.status == 3
    assert not any(method == "POST" for method, _, _ in collector.requests)
