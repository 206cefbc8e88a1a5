"""How the pages write a wait: in the two largest units a person reads, in the page's language."""

from __future__ import annotations

import pytest

from khudan.web.formats import duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "—"),
        (0, "0 giây"),
        (45, "45 giây"),
        (60, "1 phút"),
        (3599, "59 phút"),
        (3600, "1 giờ 0 phút"),
        (3 * 3600 + 5 * 60 + 59, "3 giờ 5 phút"),
        (86400 + 4 * 3600 + 59, "1 ngày 4 giờ"),
        (1200 * 86400, "1.200 ngày 0 giờ"),
    ],
)
def test_a_wait_reads_in_its_two_largest_units(seconds, shown):
    assert duration(seconds) == shown


def test_a_wait_on_an_english_page_is_in_english(app):
    with app.test_request_context("/app/queue?lang=en"):
        assert duration(3 * 3600 + 5 * 60) == "3 h 5 min"
        assert duration(45) == "45 s"
        assert duration(2 * 86400 + 3600) == "2 d 1 h"
