"""pyxform's error text split into {sheet, row, message} (server/xforms/pyxform_messages.py).

The texts are pyxform's own (4.x), as convert() raises or warns them.
"""

from __future__ import annotations

import pytest
from xlsform import xlsx_bytes

from khudan import errors
from khudan.services.forms import convert_xlsform
from khudan.xforms.pyxform_messages import parse


def test_a_row_error_on_a_named_sheet_gives_sheet_row_and_the_rest():
    text = (
        "[row : 3] On the 'choices' sheet, the 'name' value is invalid. Choice names must be "
        "unique for each choice list."
    )
    assert parse(text) == [
        {
            "sheet": "choices",
            "row": 3,
            "message": "The 'name' value is invalid. Choice names must be unique for each "
            "choice list.",
        }
    ]


def test_a_row_without_a_sheet_is_a_survey_row():
    text = "[row : 7] Use the max-pixels parameter to speed up submission sending."
    assert parse(text) == [
        {
            "sheet": "survey",
            "row": 7,
            "message": "Use the max-pixels parameter to speed up submission sending.",
        }
    ]


def test_a_message_without_a_place_is_kept_whole():
    assert parse("Unknown question type 'nosuchtype'.") == [
        {"sheet": None, "row": None, "message": "Unknown question type 'nosuchtype'."}
    ]


def test_several_messages_in_one_text_split_at_each_row_and_keep_continuation_lines():
    text = (
        "Errors found:\n[row : 2] Question with no type.\n{'name': 'a'}\n"
        "[row : 5] On the 'survey' sheet, the 'name' value 'a' is invalid."
    )
    assert parse(text) == [
        {"sheet": None, "row": None, "message": "Errors found:"},
        {"sheet": "survey", "row": 2, "message": "Question with no type.\n{'name': 'a'}"},
        {"sheet": "survey", "row": 5, "message": "The 'name' value 'a' is invalid."},
    ]


@pytest.mark.parametrize("text", ["", "   ", None])
def test_no_text_is_no_items(text):
    assert parse(text) == []


def test_real_pyxform_error_reaches_the_problem_details():
    md = """
| survey |
| | type | name | label |
| | text | a | A |
| | integer | b | B ${nosuch} |
"""
    with pytest.raises(errors.Problem) as info:
        convert_xlsform(xlsx_bytes(md))
    details = info.value.details
    assert info.value.code == "422.1" and details["reason"].startswith("[row : 3]")
    [item] = details["errors"]
    assert (item["sheet"], item["row"]) == ("survey", 3)
    assert "nosuch" in item["message"] and not item["message"].startswith("[row")
