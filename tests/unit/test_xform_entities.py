"""What an XForm declares about entities and what a submission sends, read as the spec says:
entities at the root and, since 2025.1, one per repeat instance (forms converted by pyxform)."""

from __future__ import annotations

from xml.etree import ElementTree

from pyxform.xls2xform import convert

from khudan.xforms import entities

IN_REPEAT = """
| survey |  |  |  |  |
|  | type | name | label | save_to |
|  | text | village | Village | |
|  | begin_repeat | members | Members | |
|  | text | mname | Name | full_name |
|  | integer | age | Age | age |
|  | end_repeat | | | |
| entities | | | | |
|  | list_name | label | repeat |
|  | people | ${mname} | ${members} |
"""


def test_an_entity_per_repeat_instance():
    xml = convert(xlsform=IN_REPEAT, form_name="data").xform.encode()
    (declared,) = entities.declarations(xml)
    assert declared.list_name == "people" and declared.container == "/data/members"
    assert declared.may_create and not declared.may_update
    assert declared.properties == {"full_name": "mname", "age": "age"}
    submission = ElementTree.fromstring(
        "<data id='data'><village>T01</village>"
        + "".join(
            f"<members><mname>{name}</mname><age>{age}</age><meta>"
            f"<entity dataset='people' create='1' id='{uid}'><label>{name}</label></entity>"
            "</meta></members>"
            for name, age, uid in (("An", 30, "a" * 8), ("Bình", "", "b" * 8))
        )
        + "<meta><instanceID>uuid:x</instanceID></meta></data>"
    )
    sent = entities.sent(submission, [declared])
    assert [(s.uuid, s.label, s.data, s.create, s.update) for s in sent] == [
        ("a" * 8, "An", {"full_name": "An", "age": "30"}, True, False),
        ("b" * 8, "Bình", {"full_name": "Bình", "age": ""}, True, False),
    ]
    assert all(s.base_version is None and s.branch_id is None for s in sent)


def test_a_form_without_entities_declares_none():
    xml = convert(
        xlsform="| survey | | | |\n| | type | name | label |\n| | text | q | Q |\n", form_name="d"
    ).xform.encode()
    assert entities.declarations(xml) == []
