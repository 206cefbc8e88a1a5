"""khudan.services.charts: the series each chart draws, and the PNG it draws them into.

The summaries are built by hand in the shape services.reports returns; the pixels are read back
with Pillow (a bar is a run of its exact colour down the column just right of the axis).
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageColor

from khudan.services import charts

ROOT = Path(__file__).resolve().parents[2]


def figures(poor=0, near=0, medium=0, not_poor=0, total=None, deprivation=None) -> dict:
    """As reports.poverty_summary words one area's figures: rates only of the registry."""
    reviewed = poor + near + medium + not_poor
    base = total if reviewed else None
    classes = {"poor": poor, "near_poor": near, "medium": medium, "not_poor": not_poor}
    lacking = {"households": dict(deprivation or {}), "share": {}}
    return {
        "reviewed": reviewed,
        "classes": classes,
        "rates": {k: round(v / base, 4) if base else None for k, v in classes.items()},
        "rate_base": {"households": total, "units_left_out": 0 if total else 1},
        "deprivation": {"poor": lacking, "near_poor": {"households": {}, "share": {}}},
    }


def node(code, name, total=None, children=None, **counts) -> dict:
    f = figures(total=total, **counts)
    out = {
        "code": code,
        "name": name,
        "level": "area" if "." in code else "commune",
        "households_total": total,
        "all": f,
        "approved": figures(total=total),
    }
    if children is not None:
        out["children"] = children
    return out


COMMUNE = {
    "period": "2026",
    "areas": [
        node(
            "21607",
            "Xã Nhơn Châu",
            poor=12,
            near=9,
            medium=5,
            not_poor=40,
            deprivation={"water": 15, "sanitation": 21, "employment": 4},
            children=[
                node("21607.T01", "Thôn Bắc", total=200, poor=4, near=6, not_poor=20),
                node("21607.T02", "Thôn Trung", poor=5, near=1, medium=5, not_poor=9),
                node("21607.T03", "Thôn Nam", total=100, poor=3, near=2, not_poor=11),
                node("21607.T04", "Thôn Đông", total=80),  # in the registry, nobody reviewed
            ],
        )
    ],
}
MOVES = {
    "period": "2026",
    "previous_period": "2025",
    "area": "21607",
    "poor": {
        "start": 10,
        "escaped_to_near_poor": 2,
        "escaped_above": 1,
        "not_reviewed": 0,
        "still": 7,
        "fell_back": 1,
        "new_from_near_poor": 2,
        "new_from_not_poor": 1,
        "new_first_reviewed": 1,
        "end": 12,
    },
    "near_poor": {
        "start": 8,
        "became_poor": 0,
        "escaped_above": 2,
        "not_reviewed": 1,
        "still": 5,
        "fell_back": 0,
        "new_from_poor": 2,
        "new_from_not_poor": 1,
        "new_first_reviewed": 1,
        "end": 9,
    },
}


def history() -> list[dict]:
    earlier = [
        {"period": p, "areas": [node("21607", "Xã Nhơn Châu", poor=a, near=b, not_poor=30)]}
        for p, a, b in [("2025", 10, 8), ("2024", 14, 7)]
    ]
    empty = [{"period": p, "areas": [node("21607", "Xã Nhơn Châu")]} for p in ("2023", "2022")]
    return [COMMUNE, *earlier, *empty]


def image(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGB")


def bars(png: bytes, colour: str, upright: bool = False) -> int:
    """How many bars of ``colour`` cross the line just past where they start: the column right
    of the leftmost pixel of that colour, or for upright bars the row above the lowest one."""
    img = image(png)
    if upright:
        img = img.transpose(Image.Transpose.ROTATE_270)  # the bottom edge now on the left
    rgb = ImageColor.getrgb(colour)
    width, height = img.size
    pixels = img.load()
    x = min(x for x in range(width) for y in range(height) if pixels[x, y] == rgb) + 2
    line = [pixels[x, y] == rgb for y in range(height)]
    return sum(1 for y in range(1, height) if line[y] and not line[y - 1])


def test_area_rates_are_the_areas_below_highest_poor_rate_first():
    rows = charts.area_rates(COMMUNE)
    assert [r.code for r in rows] == ["21607.T03", "21607.T01", "21607.T02", "21607.T04"]
    t03, t01, t02, t04 = rows
    assert (t03.poor, t03.near_poor) == (3.0, 2.0)  # of its 100 households
    assert (t01.poor, t01.near_poor) == (2.0, 3.0)
    # Thôn Trung has no registry count: reviewed, but no rate (never one of those reviewed).
    assert (t02.reviewed, t02.poor, t02.near_poor) == (20, None, None)
    assert (t04.reviewed, t04.poor, t04.near_poor) == (0, None, None)
    assert charts.area_rates(COMMUNE, "approved")[-1].poor is None


def test_without_a_selected_area_each_top_area_is_a_row():
    two = {"period": "2026", "areas": [c for c in COMMUNE["areas"][0]["children"][:2]]}
    assert [r.code for r in charts.area_rates(two)] == ["21607.T01", "21607.T02"]
    assert charts.place_name(two) == "Thôn Bắc, Thôn Trung"


def test_deprivations_list_every_indicator_of_the_periods_standard_in_order():
    total, rows = charts.deprivations(COMMUNE)
    assert total == 21  # poor and near-poor
    assert [r.indicator for r in rows] == [
        "employment",
        "dependants",
        "nutrition",
        "health_insurance",
        "adult_education",
        "child_schooling",
        "housing_quality",
        "housing_area",
        "water",
        "sanitation",
        "telecom",
        "information",
    ]
    lacking = {r.indicator: r.households for r in rows}
    assert (lacking["water"], lacking["sanitation"], lacking["employment"]) == (15, 21, 4)
    assert lacking["telecom"] == 0
    assert rows[8].label_vi == "Nguồn nước sinh hoạt"
    # 2027 follows Nghị định 351/2025: waste treatment is an indicator, information is not.
    _, later = charts.deprivations({**COMMUNE, "period": "2027"})
    assert "waste_treatment" in {r.indicator for r in later}
    assert "information" not in {r.indicator for r in later}


def test_period_counts_oldest_first_from_the_first_period_with_data():
    rows = charts.period_counts(history())
    assert [(r.period, r.reviewed, r.poor, r.near_poor) for r in rows] == [
        ("2024", 51, 14, 7),
        ("2025", 48, 10, 8),
        ("2026", 66, 12, 9),
    ]


def test_rate_chart_draws_a_bar_pair_per_area_with_a_rate():
    png = charts.poverty_rate_chart(COMMUNE)
    assert image(png).size[0] == 800
    # T02 has no registry count and T04 nobody reviewed: no bar, a label each.
    assert bars(png, charts.POOR) == 2
    assert bars(png, charts.NEAR_POOR) == 2
    assert png == charts.poverty_rate_chart(COMMUNE)  # the same figures, the same bytes
    assert "Software" not in Image.open(io.BytesIO(png)).info


def test_deprivation_chart_draws_a_bar_per_indicator_lacking():
    png = charts.deprivation_chart(COMMUNE, width=360)
    assert image(png).size[0] == 360
    assert bars(png, charts.POOR) == 3


def test_change_chart_draws_each_period_with_data_and_the_moves():
    png = charts.change_chart(history(), MOVES)
    assert image(png).size == (800, pytest.approx(640, abs=60))
    assert bars(png, charts.POOR, upright=True) == 3  # 2024, 2025 and 2026
    assert bars(png, charts.NEAR_POOR, upright=True) == 3
    assert bars(png, charts.ESCAPED) == 2  # poor and near-poor
    assert bars(png, charts.FELL_BACK) == 1  # near-poor: nobody fell back


@pytest.mark.parametrize(
    "draw",
    [
        lambda s: charts.poverty_rate_chart(s),
        lambda s: charts.deprivation_chart(s),
        lambda s: charts.change_chart([s], {**MOVES, "poor": MOVES["near_poor"]}),
    ],
    ids=["poverty-rate", "deprivation", "change"],
)
@pytest.mark.parametrize("areas", [[], [node("21607", "Xã Nhơn Châu", children=[])]])
def test_no_data_is_an_image_saying_so(draw, areas):
    empty = draw({"period": "2026", "areas": areas})
    reference = charts.poverty_rate_chart({"period": "2026", "areas": []})
    assert image(empty).size[0] == 800
    assert image(empty).size[1] == image(reference).size[1] < 300  # the short no-data page


def test_the_readme_examples_draw(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_examples", ROOT / "docs" / "charts" / "make_examples.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    written = script.main(tmp_path)
    assert [p.name for p in written] == ["poverty-rate.png", "deprivation.png", "change.png"]
    assert all(image(p.read_bytes()).size[0] == 800 for p in written)


def test_matplotlib_keeps_its_cache_in_the_instance_directory(tmp_path):
    """Set once when the app is made, before matplotlib loads: not a folder shared by every
    user of /tmp, and the environment is left alone while charts are drawn."""
    code = (
        "import os, sys\n"
        "from khudan.app import create_app\n"
        "from khudan.services import charts\n"
        "create_app()\n"
        "assert 'matplotlib' not in sys.modules\n"
        "before = dict(os.environ)\n"
        "png = charts.deprivation_chart({'period': '2026', 'areas': []})\n"
        "assert png.startswith(b'\\x89PNG') and dict(os.environ) == before\n"
        "print(os.environ['MPLCONFIGDIR'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MPLCONFIGDIR"}
    env |= {
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "instance"),
        "KHUDAN_DATABASE_URL": f"sqlite:///{tmp_path}/k.db",
        "KHUDAN_SECRET_KEY": "x",
    }
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tmp_path / "instance" / "matplotlib")
    assert list((tmp_path / "instance" / "matplotlib").glob("fontlist-*.json"))
