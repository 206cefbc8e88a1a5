"""server/web/answers.py: a submission's answers laid out as the form is, from a real XForm."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from xlsform import xlsx_bytes

from khudan.services import forms
from khudan.web.answers import Answer, Group, Repeat, label_text, layout
from khudan.xforms.schema import read_choice_labels, read_xform
from khudan.xforms.submission import read_submission

FORM = """
| survey |
| | type | name | label::Tiếng Việt (vi) | label::English (en) | relevant | required | calculation |
| | begin group | hh | Hộ | Household | | | |
| | text | head | Chủ hộ | Head | | yes | |
| | select_one yn | poor | **Hộ** nghèo? | Poor? | | | |
| | text | why | Lý do | Why | ${poor} = 'yes' | | |
| | note | hint | Ghi chú cho người hỏi | A note | | | |
| | end group | | | | | | |
| | begin repeat | member | Thành viên | Member | | | |
| | text | m_name | Họ tên | Name | | | |
| | integer | m_age | Tuổi | Age | | | |
| | calculate | m_adult | | | | | ${m_age} >= 18 |
| | end repeat | | | | | | |
| | select_one_from_file areas.csv | area | Thôn | Village | | | |
| choices |
| | list_name | name | label::Tiếng Việt (vi) | label::English (en) |
| | yn | yes | Có | Yes |
| | yn | no | Không | No |
| settings |
| | form_id | version | default_language |
| | layout_test | 1 | Tiếng Việt (vi) |
"""
ANSWERS = (
    "<data id='layout_test' version='1'><hh><head>Lê Văn Tám</head><poor>no</poor><why/>"
    "<hint/></hh><member><m_name>Lê Văn Tám</m_name><m_age>40</m_age><m_adult>true</m_adult>"
    "</member><member><m_name>Lê Thị Hoa</m_name><m_age>8</m_age><m_adult>false</m_adult></member>"
    "<area>21607.T01</area><meta><instanceID>uuid:1</instanceID></meta></data>"
)


def laid_out(lang: str = "vi", problems=(), places=None) -> list:
    from khudan.services.submissions import nested_answers

    xml, _warnings = forms.convert_xlsform(xlsx_bytes(FORM))
    fields = read_xform(xml).fields
    repeats = {f["path"] for f in fields if f["kind"] == "repeat"}
    answers = nested_answers(read_submission(ANSWERS.encode()).root, repeats)
    return layout(fields, answers, read_choice_labels(xml), lang, problems, places)


def test_groups_repeats_and_answers_in_the_forms_order():
    group, members, area = laid_out(places={"21607.T01": "Thôn Bắc"})
    assert isinstance(group, Group) and group.label == "Hộ"
    # the note and the unanswered conditional question are left out; markdown is not shown
    assert [(a.label, a.value) for a in group.items] == [
        ("Chủ hộ", "Lê Văn Tám"),
        ("Hộ nghèo?", "Không"),
    ]
    assert isinstance(members, Repeat) and members.columns == ["Họ tên", "Tuổi"]  # no calculation
    assert [[a.value for a in row] for row in members.rows] == [
        ["Lê Văn Tám", "40"],
        ["Lê Thị Hoa", "8"],
    ]
    assert isinstance(area, Answer) and area.value == "Thôn Bắc (21607.T01)"


def test_english_labels_and_problems_on_their_answer():
    problem = SimpleNamespace(path="/data/member[2]/m_age")
    _group, members, _area = laid_out("en", [problem])
    assert members.label == "Member" and members.columns == ["Name", "Age"]
    assert members.rows[1][1].problems == [problem] and members.rows[0][1].problems == []


def test_label_text_falls_back_to_vietnamese_then_the_only_language():
    assert label_text({"vi": "Tên", "en": "Name"}, "en") == "Name"
    assert label_text({"vi": "Tên"}, "en") == "Tên"
    assert label_text({"default": "_Tên_ **hộ**"}, "vi") == "Tên hộ"
    assert label_text(None, "vi") == ""


@pytest.mark.parametrize(
    ("kind", "raw", "shown"),
    [
        ("int", "1200000", "1.200.000"),
        ("decimal", "36.0", "36"),
        ("decimal", "7.25", "7,25"),
        ("date", "2026-11-29", "29/11/2026"),
        ("dateTime", "2026-11-29T03:44:10.012Z", "29/11/2026 10:44"),  # Vietnam time
        ("dateTime", "2026-11-29T10:44:10.012+07:00", "29/11/2026 10:44"),
        ("int", "12a", "12a"),  # not a number: shown as sent
    ],
)
def test_numbers_and_times_are_shown_as_people_here_write_them(kind, raw, shown):
    f = {"path": "/data/x", "name": "x", "kind": "field", "type": kind, "label": {"vi": "X"}}
    [answer] = layout([f], {"x": raw}, {}, "vi")
    assert (answer.value, answer.raw) == (shown, raw)
