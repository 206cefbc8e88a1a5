"""Draw the example charts of the README from made-up but plausible figures of one commune.

    python docs/charts/make_examples.py [OUT_DIR]      (default: this directory)

The figures have the shape services.reports returns; no database is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from khudan.services import charts

# Thôn of a rural commune: (code, name, households in the registry or None, poor, near-poor,
# medium, not poor reviewed) for the period 2026.
THON = [
    ("T01", "Thôn Bắc", 312, 14, 21, 30, 62),
    ("T02", "Thôn Trung", 268, 9, 15, 22, 48),
    ("T03", "Thôn Nam", 190, 17, 12, 18, 30),
    ("T04", "Thôn Hòn Khô", 145, 21, 9, 11, 19),
    ("T05", "Thôn Đồng Xuân", 230, 6, 11, 25, 51),
    ("T06", "Thôn Lộc Thượng", None, 4, 3, 6, 12),
]
# Share of the poor and near-poor lacking each indicator.
LACKING = {
    "employment": 0.31,
    "dependants": 0.12,
    "nutrition": 0.08,
    "health_insurance": 0.22,
    "adult_education": 0.47,
    "child_schooling": 0.05,
    "housing_quality": 0.38,
    "housing_area": 0.29,
    "water": 0.64,
    "sanitation": 0.71,
    "telecom": 0.02,
    "information": 0.26,
}
# Poor and near-poor of the whole commune in earlier years.
EARLIER = {"2022": (118, 92), "2023": (101, 88), "2024": (87, 79), "2025": (79, 76)}
MOVES = {
    "period": "2026",
    "previous_period": "2025",
    "area": "21607",
    # The categories of the official tables (services.reports.TRANSITIONS).
    "poor": {
        "start": 79,
        "escaped_to_near_poor": 12,
        "escaped_above": 7,
        "not_reviewed": 4,
        "still": 56,
        "fell_back": 4,
        "new_from_near_poor": 6,
        "new_from_not_poor": 2,
        "new_first_reviewed": 3,
        "end": 71,
    },
    "near_poor": {
        "start": 76,
        "became_poor": 6,
        "escaped_above": 16,
        "not_reviewed": 5,
        "still": 49,
        "fell_back": 3,
        "new_from_poor": 12,
        "new_from_not_poor": 4,
        "new_first_reviewed": 3,
        "end": 71,
    },
}


def figures(poor: int, near: int, medium: int, not_poor: int, total: int | None) -> dict:
    """Rates only of the registry's households: a thôn without a count has none."""
    reviewed = poor + near + medium + not_poor
    classes = {"poor": poor, "near_poor": near, "medium": medium, "not_poor": not_poor}
    return {
        "reviewed": reviewed,
        "classes": classes,
        "rates": {k: round(v / total, 4) if total else None for k, v in classes.items()},
        "local_classes": None,
        "deprivation": {
            cls: {"households": {k: round(share * n) for k, share in LACKING.items()}}
            for cls, n in (("poor", poor), ("near_poor", near))
        },
    }


def node(code: str, name: str, level: str, total: int | None, counts: tuple) -> dict:
    f = figures(*counts, total)
    return {
        "code": code,
        "name": name,
        "level": level,
        "households_total": total,
        "all": f,
        "approved": f,
    }


def commune(period: str = "2026") -> dict:
    children = [
        node(f"21607.{code}", name, "area", total, counts) for code, name, total, *counts in THON
    ]
    sums = tuple(sum(t[3 + i] for t in THON) for i in range(4))
    top = node("21607", "Xã Nhơn Châu", "commune", None, sums)
    return {"period": period, "areas": [{**top, "children": children}]}


def history() -> list[dict]:
    out = [commune()]
    for period, (poor, near) in EARLIER.items():
        top = node("21607", "Xã Nhơn Châu", "commune", None, (poor, near, 150, 450))
        out.append({"period": period, "areas": [top]})
    return out


def main(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = commune()
    drawn = {
        "poverty-rate.png": charts.poverty_rate_chart(summary),
        "deprivation.png": charts.deprivation_chart(summary),
        "change.png": charts.change_chart(history(), MOVES),
    }
    for name, png in drawn.items():
        (out_dir / name).write_bytes(png)
    return [out_dir / name for name in drawn]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent):
        print(path)
