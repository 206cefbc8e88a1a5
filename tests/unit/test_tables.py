"""khudan.xforms.tables: a form's submissions as ODK Central's flat tables, from a real pyxform
form (tests/forms/export_nested.md) and submission XML as Collect writes it."""

from __future__ import annotations

from xlsform import form_md, xlsx_bytes

from khudan.services.forms import convert_xlsform
from khudan.xforms.safexml import parse_stored
from khudan.xforms.schema import read_choice_labels, read_xform
from khudan.xforms.tables import flatten, pick, tables

SUBMISSION = b"""<?xml version='1.0' encoding='UTF-8' ?><data id="export_nested" version="1">
<hh_code>H1</hh_code>
<member><m_name>An</m_name><work><m_jobs>farm trade</m_jobs></work>
  <child><c_age>3</c_age></child><child><c_age>7</c_age></child></member>
<member><m_name>Binh</m_name><work><m_jobs /></work></member>
<meta><instanceID>uuid:1</instanceID></meta></data>"""


def xform() -> bytes:
    xml, _ = convert_xlsform(xlsx_bytes(form_md("export_nested")))
    return xml


def test_a_table_per_repeat_with_group_paths_flattened_and_choice_labels():
    xml = xform()
    main, member, child = tables([read_xform(xml).fields], read_choice_labels(xml))
    assert (main.path, main.name) == ("/data", "")
    assert [c.name for c in main.columns] == ["hh_code", "meta-instanceID"]
    assert (member.name, [c.name for c in member.columns]) == ("member", ["m_name", "work-m_jobs"])
    jobs = member.columns[1]
    assert jobs.multiple and pick(jobs.choices["trade"], "vi") == "Buôn bán"
    assert pick(member.columns[0].label, "en") == "Họ tên"  # one language: it serves for all
    assert (child.path, [c.name for c in child.columns]) == ("/data/member/child", ["c_age"])


def test_rows_of_nested_repeats_point_at_their_parent():
    repeats = frozenset({"/data/member", "/data/member/child"})
    main, rows = flatten(parse_stored(SUBMISSION), "uuid:1", repeats)
    assert main == {"/data/hh_code": "H1", "/data/meta/instanceID": "uuid:1"}
    assert [(r.table, r.parent_key, r.key, r.index) for r in rows] == [
        ("/data/member", "uuid:1", "uuid:1/member[1]", 1),
        ("/data/member/child", "uuid:1/member[1]", "uuid:1/member[1]/child[1]", 1),
        ("/data/member/child", "uuid:1/member[1]", "uuid:1/member[1]/child[2]", 2),
        ("/data/member", "uuid:1", "uuid:1/member[2]", 2),
    ]
    assert rows[0].values == {"/data/member/m_name": "An", "/data/member/work/m_jobs": "farm trade"}
    assert rows[2].values == {"/data/member/child/c_age": "7"}


def test_a_question_only_an_older_version_asked_comes_after_the_current_ones():
    current = read_xform(xform()).fields
    older = [
        *current,
        {"path": "/data/old_q", "name": "old_q", "kind": "field", "type": "int", "repeat": None},
    ]
    [main, *_] = tables([current, older], {})
    assert [c.name for c in main.columns] == ["hh_code", "meta-instanceID", "old_q"]
