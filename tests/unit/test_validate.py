"""Checking a submission against its form (server/xforms/validate.py, server/xforms/xpath.py).

Forms are real: tests/forms/*.md and forms/*.xlsx go through pyxform, and the field schema is read
from the XForm as at publish. Each case is a submission body and the issues it must produce, as
``(path, rule)`` pairs; messages are checked where the form supplies its own.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import elementpath
import pytest
from xlsform import form_md, xlsx_bytes

from khudan.services.forms import convert_xlsform
from khudan.xforms import xpath
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission
from khudan.xforms.validate import Issue, validate
from khudan.xforms.xpath import Evaluator, Node, Unsupported, fast_expression

TODAY = dt.date(2026, 11, 29)
SHIPPED = Path(__file__).resolve().parents[2] / "forms"
SAMPLES = Path(__file__).parent / "domain" / "data"
VILLAGES = "name,label,commune\nT01,Thôn 1,21607\nP01,Tổ 1,00004\n".encode()
# The areas.csv khudan would write for the samples' areas (name,label,level,parent,kind).
AREAS = (
    "name,label,level,parent,kind\n"
    "52,Gia Lai,province,,\n"
    "21607,Xã Ia Hrung,commune,52,xa\n"
    "21553,Phường Hội Phú,commune,52,phuong\n"
    "21607-T01,Thôn Bắc,area,21607,\n"
    "21607-T02,Thôn Nam,area,21607,\n"
    "21553-K01,Tổ dân phố 1,area,21553,\n"
).encode()


@cache
def fields_of(name: str) -> list[dict]:
    """Field schema of tests/forms/<name>.md, or of forms/<name>.xlsx when it ships."""
    shipped = SHIPPED / f"{name}.xlsx"
    data = shipped.read_bytes() if shipped.exists() else xlsx_bytes(form_md(name, version="1"))
    return read_xform(convert_xlsform(data)[0]).fields


def submission(form_id: str, body: str) -> ET.Element:
    xml = (
        f'<data xmlns:orx="http://openrosa.org/xforms" id="{form_id}" version="1">{body}'
        "<meta><instanceID>uuid:1</instanceID></meta></data>"
    )
    return read_submission(xml.encode()).root


def found(form: str, body: str, media=None) -> list[Issue]:
    return validate(submission(form, body), fields_of(form), media=media, today=TODAY)


def pairs(issues: list[Issue]) -> set[tuple[str, str]]:
    return {(i.path, i.rule) for i in issues}


# -- types ------------------------------------------------------------------------------------

TYPES_OK = {
    "n": "42",
    "d": "-3.5",
    "day": "2024-02-29",
    "moment": "2026-11-29T03:44:10.012+07:00",
    "clock": "10:15:00.000+07:00",
    "point": "16.06 108.2 12.0 5.0",
    "trace": "16.0 108.0 0 0;16.1 108.1 0 0",
    "shape": "1 1 0 0;1 2 0 0;2 2 0 0;1 1 0 0",
    "words": "bất kỳ chữ gì",
    "code": "ABC 123",
    "photo": "1718000000.jpg",
    "score": "3",
    "ok": "OK",
}


def types_body(**changes: str) -> str:
    answers = {**TYPES_OK, **changes}
    return "".join(f"<{k}>{v}</{k}>" for k, v in answers.items())


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, set(), id="all-valid"),
        pytest.param({"n": "4.5"}, {("/data/n", "type")}, id="int-decimal"),
        pytest.param({"n": "99999999999"}, {("/data/n", "type")}, id="int-over-32-bits"),
        pytest.param({"d": "1,5"}, {("/data/d", "type")}, id="decimal-comma"),
        pytest.param({"d": "1e3"}, set(), id="decimal-exponent"),
        pytest.param({"day": "2026-02-30"}, {("/data/day", "type")}, id="date-impossible"),
        pytest.param({"day": "29/11/2026"}, {("/data/day", "type")}, id="date-format"),
        pytest.param({"moment": "2026-11-29 03:44"}, {("/data/moment", "type")}, id="datetime"),
        pytest.param({"moment": "2026-11-29T03:44:10Z"}, set(), id="datetime-utc"),
        pytest.param({"clock": "25:00"}, {("/data/clock", "type")}, id="time"),
        pytest.param({"point": "91 10"}, {("/data/point", "type")}, id="geopoint-latitude"),
        pytest.param({"point": "16.06"}, {("/data/point", "type")}, id="geopoint-one-number"),
        pytest.param({"trace": "16 108 0 0"}, {("/data/trace", "type")}, id="geotrace-one-point"),
        pytest.param({"shape": "1 1;1 2"}, {("/data/shape", "type")}, id="geoshape-two-points"),
        pytest.param({"photo": "../x.jpg"}, {("/data/photo", "type")}, id="binary-path"),
        pytest.param({"score": "9"}, {("/data/score", "constraint")}, id="range-bounds"),
        pytest.param({"score": "2.5"}, {("/data/score", "type")}, id="range-int"),
        pytest.param({"n": "", "day": ""}, set(), id="empty-is-not-a-type-error"),
    ],
)
def test_types(changes, expected):
    assert pairs(found("validate_types", types_body(**changes))) == expected


def test_type_issue_names_the_field_value_and_type_in_both_languages():
    (issue,) = found("validate_types", types_body(n="bốn"))
    assert issue == Issue(
        "/data/n",
        "type",
        "bốn",
        "Số nguyên: 'bốn' không phải số nguyên.",
        "Số nguyên: 'bốn' is not a whole number.",
    )


# -- choices ----------------------------------------------------------------------------------

CHOICES_OK = {
    "smoker": "yes",
    "fruits": "mango longan",
    "ranking": "durian mango longan",
    "province": "52",
    "commune": "21607",
    "village": "T01",
}


def choices_body(**changes: str) -> str:
    answers = {**CHOICES_OK, **changes}
    return "".join(f"<{k}>{v}</{k}>" for k, v in answers.items())


def test_choices_are_recorded_per_select_at_publish():
    by_path = {f["path"]: f for f in fields_of("validate_choices")}
    assert by_path["/data/smoker"]["control"] == "select1"
    assert by_path["/data/smoker"]["choices"] == {
        "instance": "yes_no",
        "nodeset": "instance('yes_no')/root/item",
        "value": "name",
        "values": ["yes", "no"],
    }
    assert by_path["/data/fruits"]["control"] == "select"
    commune = by_path["/data/commune"]["choices"]
    assert commune["values"] == ["21607", "00004"]
    assert {"name": "21607", "label": "Xã Ia Hrung", "province": "52"} in commune["items"]
    assert by_path["/data/village"]["choices"] == {
        "instance": "villages",
        "nodeset": "instance('villages')/root/item[commune =  /data/commune ]",
        "value": "name",
        "media": "villages.csv",
    }


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, set(), id="all-valid"),
        pytest.param({"smoker": "maybe"}, {("/data/smoker", "choice")}, id="inline-list"),
        pytest.param({"smoker": "yes no"}, {("/data/smoker", "type")}, id="two-for-one"),
        pytest.param({"fruits": "mango kiwi"}, {("/data/fruits", "choice")}, id="multiple"),
        pytest.param({"ranking": "mango mango"}, {("/data/ranking", "type")}, id="rank-twice"),
        pytest.param(
            {"commune": "99999"},
            {("/data/commune", "choice"), ("/data/village", "choice")},  # T01 is not in 99999
            id="not-in-list",
        ),
        pytest.param(
            {"commune": "00004", "village": "P01"},
            {("/data/commune", "choice")},
            id="cascade-instance-other-province",
        ),
        pytest.param({"village": "X99"}, {("/data/village", "choice")}, id="csv-not-in-file"),
        pytest.param({"village": "P01"}, {("/data/village", "choice")}, id="cascade-csv"),
    ],
)
def test_choices(changes, expected):
    issues = found("validate_choices", choices_body(**changes), {"villages.csv": VILLAGES})
    assert pairs(issues) == expected


def test_choice_issue_value_is_the_value_not_offered():
    issues = found(
        "validate_choices", choices_body(fruits="mango kiwi durian"), {"villages.csv": VILLAGES}
    )
    assert [(i.value, i.message_en) for i in issues] == [
        ("kiwi", "Trái cây: 'kiwi' is not one of the choices.")
    ]


def test_choices_from_media_not_given_are_not_checked():
    issues = found("validate_choices", choices_body(village="X99"), media=None)
    assert pairs(issues) == {("/data/village", "not-checked")}
    assert not issues[0].checked and "villages.csv" in issues[0].value


def test_inline_items_of_a_hand_written_xform():
    xform = (
        b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        b'<h:head><h:title>t</h:title><model><instance><data id="inline"><pick/><many/></data>'
        b'</instance><bind nodeset="/data/pick" type="string" required="true()"/>'
        b'<bind nodeset="/data/many" type="string"/></model></h:head><h:body>'
        b'<select1 ref="/data/pick"><label>Pick</label><item><label>A</label><value>a</value>'
        b"</item><item><label>B</label><value>b</value></item></select1>"
        b'<select ref="/data/many"><label>Many</label><item><label>A</label><value>a</value>'
        b"</item></select></h:body></h:html>"
    )
    fields = read_xform(xform).fields
    assert fields[0]["choices"] == {"values": ["a", "b"]}
    root = read_submission(b'<data id="inline"><pick>c</pick><many>a b</many></data>').root
    issues = validate(root, fields, today=TODAY)
    assert [(i.path, i.rule, i.value) for i in issues] == [
        ("/data/pick", "choice", "c"),
        ("/data/many", "choice", "b"),
    ]


# -- required when relevant -------------------------------------------------------------------


def member(name="", age="", job=None, school=None) -> str:
    adult = f"<adult><m_job>{job}</m_job></adult>" if job is not None else ""
    school = f"<m_school>{school}</m_school>" if school is not None else ""
    return f"<member><m_name>{name}</m_name><m_age>{age}</m_age>{adult}{school}</member>"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "<hh_size>2</hh_size>" + member("An", "40", "nông") + member("Bé", "10", school="C1"),
            set(),
            id="all-answered",
        ),
        pytest.param(
            "<hh_size>2</hh_size>" + member("An", "40") + member("Bé", "10"),
            {("/data/member[1]/adult/m_job", "required"), ("/data/member[2]/m_school", "required")},
            id="relevant-and-omitted",
        ),
        pytest.param(
            "<hh_size>2</hh_size>" + member("An", "40", "") + member("Bé", "3"),
            {("/data/member[1]/adult/m_job", "required")},
            id="relevant-and-empty; age 3 needs neither",
        ),
        pytest.param(
            "<hh_size>1</hh_size>" + member("An", ""),
            {("/data/member[1]/m_age", "required")},
            id="unknown-age-makes-nothing-relevant",
        ),
        pytest.param(
            "<hh_size>3</hh_size>" + member("A", "3") + member("B", "4") + member("C", "5"),
            {("/data/big_note", "required")},
            id="count-of-repeat-makes-a-question-relevant",
        ),
        pytest.param(
            "<hh_size></hh_size>",
            {("/data/hh_size", "required")},
            id="no-members",
        ),
    ],
)
def test_required_only_when_it_and_its_ancestors_are_relevant(body, expected):
    issues = found("validate_repeat", body)
    # odd_note's relevance uses random(): never required, listed once as not checked.
    assert pairs(i for i in issues if i.checked) == expected
    assert [(i.path, i.value) for i in issues if not i.checked] == [
        ("/data/odd_note", "random() < 2")
    ]


def test_required_message_is_the_forms_own():
    issues = found("validate_repeat", "<hh_size>1</hh_size>" + member("An", "40", ""))
    required = next(i for i in issues if i.rule == "required")
    assert (required.message_vi, required.message_en) == (
        "Hãy ghi nghề nghiệp",
        "Hãy ghi nghề nghiệp",
    )


# -- constraints ------------------------------------------------------------------------------

CONSTRAINTS_OK = {
    "age": "30",
    "code": "AB-12",
    "name": "Lan",
    "fruits": "mango",
    "born": "2000-01-01",
    "even": "4",
    "share": "0.5",
    "nick": "Bé",
    "tag": "x",
    "adult_word": "làm",
    "item": [("2", "first"), ("3", "second")],
    "total": "5",
    "year_word": "x",
}


def constraints_body(**changes) -> str:
    answers = {**CONSTRAINTS_OK, **changes}
    out = []
    for key, value in answers.items():
        if key == "item":
            out += [f"<item><qty>{q}</qty><first>{f}</first></item>" for q, f in value]
        else:
            out.append(f"<{key}>{value}</{key}>")
    return "".join(out)


NOT_CHECKED = ("/data/year_word", "not-checked")  # format-date() is outside the subset


@pytest.mark.parametrize(
    ("changes", "broken"),
    [
        pytest.param({}, None, id="all-valid"),
        pytest.param({"age": "130"}, "/data/age", id="comparison-and"),
        pytest.param({"code": "ab-12"}, "/data/code", id="regex"),
        pytest.param({"name": "L", "nick": "x"}, "/data/name", id="string-length"),
        pytest.param({"fruits": "none mango"}, "/data/fruits", id="selected-count-selected"),
        pytest.param({"born": "2026-11-30"}, "/data/born", id="today-date-comparison"),
        pytest.param({"even": "3"}, "/data/even", id="int-div-multiply"),
        pytest.param({"share": "1.5"}, "/data/share", id="number"),
        pytest.param({"nick": "Lan"}, "/data/nick", id="coalesce"),
        pytest.param({"tag": "AB-12!"}, "/data/tag", id="concat"),
        pytest.param({"age": "10", "adult_word": "x"}, "/data/adult_word", id="if"),
        pytest.param({"item": [("2", "a"), ("3", "first")]}, "/data/item[2]/first", id="position"),
        pytest.param(
            {"item": [("0", "first"), ("5", "b")]}, "/data/item[1]/qty", id="repeat-instance"
        ),
        pytest.param({"total": "4"}, "/data/total", id="sum-count"),
    ],
)
def test_constraints_with_each_supported_function(changes, broken):
    issues = found("validate_constraints", constraints_body(**changes))
    expected = {NOT_CHECKED} | ({(broken, "constraint")} if broken else set())
    assert pairs(issues) == expected


def test_if_takes_the_other_branch():
    issues = found("validate_constraints", constraints_body(age="10", adult_word="child"))
    assert pairs(issues) == {NOT_CHECKED}


def test_empty_answers_are_not_constrained():
    issues = found("validate_constraints", constraints_body(code="", even="", total=""))
    assert pairs(issues) == {NOT_CHECKED}


def test_constraint_message_is_the_forms_own_in_both_languages():
    issues = found("validate_constraints", constraints_body(age="130"))
    issue = next(i for i in issues if i.rule == "constraint")
    assert (issue.value, issue.message_vi, issue.message_en) == (
        "130",
        "Tuổi từ 0 đến 120",
        "Age is 0 to 120",
    )


def test_constraint_without_a_message_names_the_field_and_expression():
    issues = found("validate_constraints", constraints_body(code="ab"))
    issue = next(i for i in issues if i.rule == "constraint")
    assert issue.message_vi.startswith("Mã: 'ab' không thỏa ràng buộc regex(")
    assert issue.message_en.startswith("Code: 'ab' breaks the constraint regex(")


def test_unsupported_expression_is_listed_once_as_not_checked():
    issues = found("validate_constraints", constraints_body())
    (note,) = issues
    assert note.value == "format-date( /data/born , '%Y') != ."
    assert "format-date" in note.message_en and not note.checked


# -- every test form, and the JavaRosa-filled samples of the shipped forms ----------------------


@pytest.mark.parametrize(
    ("form", "body", "media", "expected"),
    [
        pytest.param("simple", "<name>An</name><age>x</age>", None, {("/data/age", "type")}),
        pytest.param(
            "household",
            "<hh_code>H1</hh_code><head>An</head><hh_size>1</hh_size><member><m_name>An"
            "</m_name><m_photo>a.jpg</m_photo></member><village>v1</village>"
            "<location>13.7 109.2 0 0</location>",
            {"villages.csv": b"name,label\nv1,Village 1\n"},
            set(),
        ),
        pytest.param(
            "household",
            "<head>An</head><village>v2</village>",
            {"villages.csv": b"name,label\nv1,Village 1\n"},
            {("/data/hh_code", "required"), ("/data/village", "choice")},
        ),
        pytest.param("javarosa_rejects", "<a>5</a>", None, {("/data/a", "not-checked")}),
        pytest.param("javarosa_rejects", "<a></a>", None, set()),
    ],
)
def test_test_forms(form, body, media, expected):
    assert pairs(found(form, body, media)) == expected


def sample(name: str) -> ET.Element:
    return read_submission((SAMPLES / name).read_bytes()).root


# The JavaRosa-filled samples of the shipped forms, with their form.
SAMPLE_FORMS = [
    ("pov1.xml", "poverty_review"),
    ("pov2.xml", "poverty_review"),
    ("cf.xml", "cultural_family"),
    ("sat.xml", "satisfaction_survey"),
]


@pytest.mark.parametrize(
    ("name", "form", "expected"),
    [
        pytest.param("pov1.xml", "poverty_review", [], id="pov1"),
        # pov2 was filled without answering three required questions: real issues.
        pytest.param(
            "pov2.xml",
            "poverty_review",
            [
                ("/data/household/household_code", "required"),
                ("/data/member[2]/m_relation", "required"),
                ("/data/services/devices", "required"),
            ],
            id="pov2",
        ),
        pytest.param("cf.xml", "cultural_family", [], id="cf"),
        pytest.param("sat.xml", "satisfaction_survey", [], id="sat"),
    ],
)
def test_javarosa_filled_samples_have_only_their_real_issues(name, form, expected):
    issues = validate(sample(name), fields_of(form), media={"areas.csv": AREAS}, today=TODAY)
    assert [(i.path, i.rule) for i in issues] == expected


def test_sample_in_an_area_of_another_commune_breaks_the_cascade():
    root = sample("pov1.xml")
    root.find("household/area_code").text = "21553-K01"
    issues = validate(root, fields_of("poverty_review"), media={"areas.csv": AREAS}, today=TODAY)
    assert [(i.path, i.rule, i.value) for i in issues] == [
        ("/data/household/area_code", "choice", "21553-K01")
    ]


def test_the_cascade_items_kept_for_one_submission_judge_the_next_by_its_own_answers():
    """A list's items for a value are built once and shared: the filter is still evaluated
    against each submission's answers, in whatever order they come."""
    other = sample("pov1.xml")
    other.find("household/commune").text = "21553"  # the area's commune: now consistent
    other.find("household/area_code").text = "21553-K01"

    def choice_issues(root):
        issues = validate(
            root, fields_of("poverty_review"), media={"areas.csv": AREAS}, today=TODAY
        )
        return [(i.path, i.value) for i in issues if i.rule == "choice"]

    moved = sample("pov1.xml")
    moved.find("household/area_code").text = "21553-K01"
    assert choice_issues(moved) == [("/data/household/area_code", "21553-K01")]
    assert choice_issues(sample("pov1.xml")) == []
    assert choice_issues(moved) == [("/data/household/area_code", "21553-K01")]
    assert choice_issues(other) == []


def test_sample_without_areas_csv_lists_the_cascade_as_not_checked():
    issues = validate(sample("pov1.xml"), fields_of("poverty_review"), media={}, today=TODAY)
    assert [(i.path, i.rule) for i in issues] == [
        ("/data/household/province", "not-checked"),
        ("/data/household/commune", "not-checked"),
        ("/data/household/area_code", "not-checked"),
    ]


def test_sample_altered_on_the_way_is_caught():
    root = sample("pov1.xml")
    root.find("household/household_size").text = "31"
    root.findall("member")[1].find("m_relation").text = "chu_ho"
    root.find("dwelling/floor_area").text = "rộng"
    issues = validate(root, fields_of("poverty_review"), media={"areas.csv": AREAS}, today=TODAY)
    assert [(i.path, i.rule) for i in issues] == [
        ("/data/household/household_size", "constraint"),
        ("/data/member[2]/m_relation", "constraint"),
        ("/data/dwelling/floor_area", "type"),
    ]
    assert issues[1].message_en == "The first member must be the head, and there is only one head."


@pytest.mark.parametrize(("name", "form"), SAMPLE_FORMS)
def test_shipped_forms_are_checked_without_elementpaths_tree_of_the_submission(
    monkeypatch, name, form
):
    """Building that tree cost more than all the checks of a poverty review (about 1 ms): the
    direct road reads the model's own nodes; the tree is built only for an expression outside it."""
    built = []
    real = xpath.get_node_tree

    def counting(tree, *args, **kwargs):
        built.append(kwargs.get("uri", "the submission"))
        return real(tree, *args, **kwargs)

    monkeypatch.setattr(xpath, "get_node_tree", counting)
    validate(sample(name), fields_of(form), media={"areas.csv": AREAS}, today=TODAY)
    assert "the submission" not in built
    root = sample(name)
    assert Evaluator(root, TODAY).evaluate("count(/*)", root) == 1  # outside the road
    assert built.count("the submission") == 1


def test_namespaced_submission_nodes_are_read_by_local_name():
    root = submission("simple", "").__class__("{http://www.w3.org/2002/xforms}data")
    ET.SubElement(root, "{http://www.w3.org/2002/xforms}name").text = "An"
    ET.SubElement(root, "{http://www.w3.org/2002/xforms}age").text = "x"
    assert pairs(validate(root, fields_of("simple"), today=TODAY)) == {("/data/age", "type")}


def test_the_submission_is_not_changed():
    root = sample("pov2.xml")
    before = ET.tostring(root)
    validate(root, fields_of("poverty_review"), media={"areas.csv": AREAS}, today=TODAY)
    assert ET.tostring(root) == before


# -- the XPath subset itself ------------------------------------------------------------------

DOC = (
    "<data><h><size>5</size><empty/><day>2024-01-05</day><year>2025</year>"
    "<many>a b none</many></h><m><f>1</f></m><m><f>0</f></m></data>"
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (". >= 1 and . <= 30", True),
        ("../empty >= 3", False),  # NaN compares false, as in XPath 1.0 and JavaRosa
        ("../empty + 1", math.nan),
        ("../day < today()", True),
        ("today() - ../day", 1059.0),
        ("sum(/data/m/f)", 1.0),
        ("count(/data/m)", 2),
        ("if(. > 3, 'big', 'small')", "big"),
        ("selected(../many, 'none') and count-selected(../many) > 1", True),
        ("selected-at(../many, 1)", "b"),
        ("regex(., '^[0-9]+$')", True),
        ("coalesce(../empty, 'z')", "z"),
        ("int(-7 div 2)", -3.0),
        ("concat('a', ., /data/m/f)", "a510"),
        ("position(/data/m[2])", 2),
        ("number(../year) - 1", 2024.0),
        ("string-length(../many)", 8),
        ("round(2.345, 2)", 2.35),
        ("5 mod 3", 2.0),
        ("date('2020-01-01') < today()", True),
        ("decimal-date-time('1970-01-02T12:00:00Z')", 1.5),
        ("boolean-from-string('true')", True),
        ("ends-with(../many, 'none')", True),
        ("substr('khudan', 1, 3)", "hu"),
        ("max(/data/m/f, 4)", 4.0),
        ("current()/../year = 2025", True),
        ("instance('areas')/root/item[level = 'commune' and parent = 52]/name = '21607'", True),
        ("count(instance('areas')/root/item)", 2),
    ],
)
def test_xpath_subset(expression, expected):
    root = ET.fromstring(DOC)
    areas = ET.fromstring(
        "<root><item><name>52</name><level>province</level></item>"
        "<item><name>21607</name><level>commune</level><parent>52</parent></item></root>"
    )
    evaluator = Evaluator(root, TODAY, {"areas": areas}.get)
    value = evaluator.evaluate(expression, root.find("h/size"))
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(value)
    else:
        assert value == expected


@pytest.mark.parametrize(
    "path",
    ["/data", "/data/h/size", "/data/m", "/data/m/f", "/data/h/nothing", "/data/m/f/x", "/h"],
)
def test_absolute_paths_find_the_nodes_elementpath_finds(path):
    # Such paths (what ${name} becomes) are looked up in an index of the submission.
    root = ET.fromstring(DOC)
    evaluator = Evaluator(root, TODAY)
    for _ in range(2):  # the second time from the index
        found = evaluator.evaluate(path, root.find("m/f"))
        assert [n.elem for n in found] == elementpath.select(root, path)
    assert evaluator.evaluate(f"count({path})", root) == len(elementpath.select(root, path))


@pytest.mark.parametrize(
    "expression",
    [
        "pulldata('x', 'y', 'z', 'w')",
        "jr:choice-name(., 'x')",
        "format-date(today(), '%Y')",
        "now()",
        ". > (3",
        "regex(., '[')",
        "instance('nowhere')/root/item",
        "indexed-repeat(/data/m/f, /data/m, 1)",
        "substr('abc', 'x')",
    ],
)
def test_xpath_outside_the_subset_is_unsupported_never_a_crash(expression):
    root = ET.fromstring(DOC)
    with pytest.raises(Unsupported):
        Evaluator(root, TODAY).evaluate(expression, root.find("h/size"))


# -- the direct road: the same values as elementpath, for the expressions forms mostly use --------

EDGE_EXPRESSIONS = [
    ". >= 1 and . <= 30",
    "../empty >= 3",
    "../empty = ''",
    "../empty != 0",
    "../empty + 1",
    "-(../size) * 2",
    "+../size",
    "../size div 0",
    "0 div 0",
    "-1 div 0",
    "../size mod 0",
    "7 mod -3",
    "../day < ../year",
    "../many = 'a b none'",
    "/data/m/f = 1",
    "/data/m/f != 1",
    "/data/m/f > /data/m/f",
    "/data/m/f = /data/h/nothing",
    "/data/m/f",
    "/data/h/nothing",
    "(/data/m/f)",
    "..",
    ".",
    "m",
    "h/size",
    "f = 1",
    "not(../empty)",
    "not(/data/m/f = 0) or true()",
    "false() and ../x",
    "selected(../many, 'none') and count-selected(../many) > 1",
    "selected(../many, ' b ')",
    "count-selected(../nothing)",
    "regex(., '^[0-9]+$')",
    "regex(../many, '[')",
    "number(../year) - 1",
    "number(../many)",
    "number('1e3')",
    "position(..)",
    "position(.)",
    "position(/data/m)",
    "position(/data/nothing)",
    "1 = true()",
    "'' = false()",
    "../size = '5'",
    "../size = 5.0",
    "../day = '2024-01-05'",
    "../day > 19000",
    "'abc' < 'abd'",
    "(1 > 2) = (3 > 4)",
    "1 and 'x'",
    "0 or ''",
]


def _model_nodes(root: ET.Element, fields: list[dict] | None = None):
    """(evaluator, nodes): each node of the submission, or of the form's model of it."""
    if fields is None:
        evaluator = Evaluator(root, TODAY)
        nodes = [evaluator.node(e) for e in root.iter()]
        return evaluator, [evaluator.top, *nodes]
    from khudan.xforms.validate import _model

    model = _model(root, fields)
    evaluator = Evaluator(model.root, TODAY)
    return evaluator, [n.item for n in model.nodes]


def _as_elementpath(evaluator, value):
    """A value with the direct road's nodes replaced by elementpath's nodes for them."""
    if isinstance(value, list):
        return type(value)(_as_elementpath(evaluator, v) for v in value)
    return evaluator.xpath_node(value) if isinstance(value, Node) else value


def _same_everywhere(evaluator, nodes, expression: str) -> None:
    fast = fast_expression(expression)
    assert fast is not None, f"{expression} is not taken by the direct road"
    for node in nodes:
        where = (expression, evaluator.xpath_node(node).path)
        try:
            expected = evaluator.evaluate_slowly(expression, node, node)
        except Unsupported as exc:
            expected = ("Unsupported", str(exc))
        try:
            value = _as_elementpath(evaluator, evaluator.evaluate_in(expression, node, node))
        except Unsupported as exc:
            value = ("Unsupported", str(exc))
        if isinstance(expected, float) and math.isnan(expected):
            assert isinstance(value, float) and math.isnan(value), where
        else:
            assert value == expected, where
            assert type(value) is type(expected), where


@pytest.mark.parametrize("expression", EDGE_EXPRESSIONS)
def test_direct_road_gives_what_elementpath_gives(expression):
    evaluator, nodes = _model_nodes(ET.fromstring(DOC))
    _same_everywhere(evaluator, nodes, expression)


@pytest.mark.parametrize(
    "expression",
    [
        "count(/data/m)",
        "sum(/data/m/f)",
        "today()",
        "/data/m[1]/f",
        "../../h/size",
        "jr:x",
        "../..",
        "position(../..)",
    ],
)
def test_other_shapes_go_to_elementpath(expression):
    assert fast_expression(expression) is None


@pytest.mark.parametrize(("name", "form"), SAMPLE_FORMS)
def test_every_bind_of_the_shipped_forms_takes_the_direct_road_with_the_same_values(name, form):
    fields = fields_of(form)
    expressions = {
        f[key]
        for f in fields
        for key in ("relevant", "constraint", "required")
        if f.get(key) not in (None, "", "true()", "false()")
    }
    assert expressions
    evaluator, nodes = _model_nodes(sample(name), fields)
    for expression in sorted(expressions):
        _same_everywhere(evaluator, nodes, expression)
