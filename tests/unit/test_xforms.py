"""Reading XForms and submission instances (server/xforms): pure functions, real pyxform output."""

from __future__ import annotations

import pytest
from xlsform import form_md, xlsx_bytes

from khudan import errors
from khudan.services.forms import convert_xlsform
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission


@pytest.fixture(scope="module")
def household_xform() -> bytes:
    return convert_xlsform(xlsx_bytes(form_md("household", version="2026112901")))[0]


def test_read_xform_identity_fields_and_media(household_xform):
    info = read_xform(household_xform)
    assert (info.form_id, info.version, info.title) == ("household", "2026112901", "Hộ gia đình")
    by_path = {f["path"]: f for f in info.fields}
    assert by_path["/data/member"]["kind"] == "repeat"
    assert by_path["/data/member/m_photo"] == {
        "path": "/data/member/m_photo",
        "name": "m_photo",
        "kind": "field",
        "type": "binary",
        "repeat": "/data/member",
        "label": {"vi": "Ảnh", "en": "Photo"},
        "control": "upload",
    }
    assert by_path["/data/hh_code"]["required"] == "true()"
    assert by_path["/data/hh_size"]["type"] == "int"
    assert by_path["/data/meta/instanceID"]["preload"] == "uid"
    assert info.binary_paths == {"/data/member/m_photo", "/data/house_photo"}
    assert info.media_expected == ["villages.csv"]
    # Depth-first document order, each repeat described once.
    paths = [f["path"] for f in info.fields]
    assert paths.index("/data/member") < paths.index("/data/member/m_name")
    assert paths.count("/data/member/m_name") == 1


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        (b"<html><body>not a form</body></html>", "not an XForm"),
        (
            b'<h:html xmlns:h="http://www.w3.org/1999/xhtml" xmlns="http://www.w3.org/2002/xforms">'
            b"<h:head><model><instance><data/></instance></model></h:head></h:html>",
            "no id",
        ),
        (
            b'<h:html xmlns:h="http://www.w3.org/1999/xhtml" xmlns="http://www.w3.org/2002/xforms">'
            b"<h:head><model/></h:head></h:html>",
            "no primary instance",
        ),
    ],
)
def test_read_xform_refuses_what_is_not_a_usable_xform(xml, words):
    with pytest.raises(errors.Problem) as info:
        read_xform(xml)
    assert info.value.code == "422.2" and words in info.value.message


def test_read_submission_with_orx_meta_and_prefixed_version():
    xml = (
        b'<data xmlns:orx="http://openrosa.org/xforms" id="f" orx:version="3">'
        b"<orx:meta><orx:instanceID>uuid:1</orx:instanceID>"
        b"<orx:deprecatedID>uuid:0</orx:deprecatedID>"
        b"<orx:instanceName> An </orx:instanceName></orx:meta></data>"
    )
    info = read_submission(xml)
    assert (info.form_id, info.version, info.instance_id) == ("f", "3", "uuid:1")
    assert (info.deprecated_id, info.instance_name) == ("uuid:0", "An")


def test_read_submission_instance_id_directly_under_root():
    info = read_submission(b'<data id="f"><instanceID>uuid:9</instanceID></data>')
    assert info.instance_id == "uuid:9" and info.version == ""


def test_submission_without_instance_id_is_identified_by_its_content():
    a = read_submission(b'<data id="f"><x>1</x></data>')
    b = read_submission(b'<data id="f"><x>1</x></data>')
    c = read_submission(b'<data id="f"><x>2</x></data>')
    assert a.instance_id == b.instance_id != c.instance_id
    assert a.instance_id.startswith("sha256:")


def test_referenced_files_come_from_binary_fields_only_in_order_once():
    xml = (
        b'<data id="f"><note>x.jpg</note><member><p>a.jpg</p></member>'
        b"<member><p>b.jpg</p></member><member><p></p></member><member><p>a.jpg</p></member>"
        b"<house>h.jpg</house></data>"
    )
    names = read_submission(xml).referenced_files({"/data/member/p", "/data/house"})
    assert names == ["a.jpg", "b.jpg", "h.jpg"]


def test_read_answers_by_name_with_repeats_as_lists(household_xform):
    from khudan.xforms.answers import read_answers
    from khudan.xforms.safexml import parse

    fields = read_xform(household_xform).fields
    xml = (
        '<data id="household" version="1"><hh_code> H1 </hh_code><head>An</head>'
        "<member><m_name>An</m_name><m_photo>a.jpg</m_photo></member>"
        "<member><m_name>Bình</m_name><m_photo/></member>"
        "<meta><instanceID>uuid:1</instanceID></meta></data>"
    ).encode()
    answers = read_answers(parse(xml), fields)
    assert answers.get("hh_code") == "H1" and answers.get("nosuch") == ""
    assert answers.paths["instanceID"] == "/data/meta/instanceID"
    assert answers.repeats["member"] == [
        {"m_name": "An", "m_photo": "a.jpg"},
        {"m_name": "Bình", "m_photo": ""},
    ]


def test_stored_xml_is_read_fast_but_a_doctype_is_still_refused():
    from khudan.xforms.safexml import parse_stored

    assert parse_stored(b"<data id='x'><a>1</a></data>").find("a").text == "1"
    bomb = b'<!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><data>&b;</data>'
    with pytest.raises(errors.Problem) as refused:
        parse_stored(bomb)
    assert refused.value.kind is errors.XML_DTD_FORBIDDEN
