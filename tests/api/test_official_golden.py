"""Golden files: every official table, as the pack writes it for Tỉnh Gia Lai in 2026 on the
hand-made households of test_reports (and three cultural-family assessments), compared cell by
cell and for its layout with tests/golden/official-pack-2026-52.xlsx, a workbook checked by hand
against the figures in test_reports' docstring.

When a table changes on purpose, write the new workbook with ``KHUDAN_WRITE_GOLDEN=1``, open it,
check every changed cell by hand, and commit it with the change.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid
from pathlib import Path

import pytest
from factories import domain_sample
from openpyxl import load_workbook

from khudan.services import forms, official
from khudan.services.scope import Scope

from . import test_reports

households = test_reports.households
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "official-pack-2026-52.xlsx"
# 17:30 UTC on 31 December is already 1 January in Vietnam: the date line must say so.
NOW = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)


@pytest.fixture
def families(households, db, storage, collector):
    """cf.xml (2026): NC-T02-044 disqualified, NC-T02-045 and -046 earn the title (Thôn Trung);
    NC-T01-001 earns it in Thôn Bắc."""
    forms.publish_xlsform(db, storage, test_reports.FORMS / "cultural_family.xlsx", validate=False)
    year = {"<year>2025<": "<year>2026<"}
    assert [r.status for r in collector.submit(domain_sample("cf.xml", **year))] == [201]
    for code, thon in (("NC-T02-045", "T02"), ("NC-T02-046", "T02"), ("NC-T01-001", "T01")):
        earned = domain_sample(
            "cf.xml",
            **year,
            **{
                "NC-T02-044": code,
                "21607.T02<": f"21607.{thon}<",
                "<c2_6>no<": "<c2_6>yes<",
                "<dq_4>yes<": "<dq_4>no<",
                "c02c8659-6e5e-4994-aa0a-fafab043e766": str(uuid.uuid4()),
            },
        )
        assert [r.status for r in collector.submit(earned)] == [201]


def layout(data: bytes) -> dict:
    """What a reader of the printed table sees: every cell's value, the merged cells, the bold
    cells, the number formats of numbers, and the page set-up, per sheet."""
    book = load_workbook(io.BytesIO(data))
    out = {}
    for ws in book.worksheets:
        cells = {
            c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None
        }
        out[ws.title] = {
            "cells": cells,
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "bold": sorted(c.coordinate for row in ws.iter_rows() for c in row if c.font.bold),
            "formats": {
                c.coordinate: c.number_format
                for row in ws.iter_rows()
                for c in row
                if isinstance(c.value, int | float) and c.number_format != "General"
            },
            "page": (
                ws.page_setup.orientation,
                ws.page_setup.paperSize,
                ws.page_setup.fitToWidth,
                ws.print_title_rows,
            ),
        }
    return out


def test_every_official_table_matches_the_hand_checked_workbook(families, db, subtests):
    with db.session() as s:
        tables = official.pack(s, Scope(everything=True), "2026", "52")
    data = official.xlsx(tables, now=NOW)
    if os.environ.get("KHUDAN_WRITE_GOLDEN") == "1":  # then check it by hand before committing
        GOLDEN.write_bytes(data)
    got, want = layout(data), layout(GOLDEN.read_bytes())
    assert list(got) == list(want)
    for sheet in want:
        with subtests.test(table=sheet):
            _same(sheet, got[sheet], want[sheet])
    # The date line is in Vietnam time, the day after the UTC date.
    first = want[next(iter(want))]["cells"]
    assert "Tỉnh Gia Lai, ngày 01 tháng 01 năm 2027" in first.values()


def _same(sheet: str, got: dict, want: dict) -> None:
    for part in ("cells", "merged", "bold", "formats", "page"):
        if isinstance(want[part], dict):
            changed = {
                k: (want[part].get(k), got[part].get(k))
                for k in want[part].keys() | got[part].keys()
                if want[part].get(k) != got[part].get(k)
            }
            assert not changed, f"{sheet} {part}: (golden, now) {sorted(changed.items())}"
        else:
            assert got[part] == want[part], f"{sheet} {part}"
