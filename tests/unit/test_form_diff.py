"""khudan.xforms.diff: what changes for a collector between two versions, on forms converted by
real pyxform (tests/forms/*.md), with choice lists edited the way a designer edits the sheet."""

from __future__ import annotations

from xlsform import form_md, xlsx_bytes

from khudan.services.forms import convert_xlsform
from khudan.xforms.diff import diff
from khudan.xforms.schema import read_xform


def fields(md: str) -> list[dict]:
    return read_xform(convert_xlsform(xlsx_bytes(md))[0]).fields


def test_questions_added_removed_and_changed_with_what_changed():
    changes = diff(
        fields(form_md("household", version="1")), fields(form_md("household_next", version="2"))
    )
    assert changes.added == ["/data/phone"]
    assert changes.removed == ["/data/hh_size"]
    (head,) = changes.changed
    assert head.path == "/data/head"
    assert head.changes["label"] == (
        {"vi": "Chủ hộ", "en": "Head of household"},
        {"vi": "Họ tên chủ hộ", "en": "Name of the head of household"},
    )
    assert head.changes["required"] == ("true()", None)


def test_choices_added_and_removed_and_binds_changed():
    before = form_md("validate_choices")
    after = (
        before.replace("| | fruit | durian | Sầu riêng | |\n", "")
        .replace(
            "| | fruit | longan | Nhãn | |",
            "| | fruit | longan | Nhãn | |\n| | fruit | jackfruit | Mít | |",
        )
        .replace(
            "| select_one yes_no | smoker | Hút thuốc | |",
            "| select_one yes_no | smoker | Có hút thuốc không? | |",
        )
        .replace("province = ${province}", "province = ${province} and ${province} != ''")
    )
    changes = diff(fields(before), fields(after))
    assert changes.added == [] and changes.removed == []
    by_path = {c.path: c for c in changes.changed}
    fruits = by_path["/data/fruits"]
    assert (fruits.choices_added, fruits.choices_removed) == (["jackfruit"], ["durian"])
    assert set(by_path["/data/smoker"].changes) == {"label"}
    assert "choices" in by_path["/data/commune"].changes  # the filter of the cascade changed


def test_the_same_form_has_no_changes():
    same = fields(form_md("household", version="1"))
    assert diff(same, same).empty
