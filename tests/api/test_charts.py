"""GET /reports/charts/*.png and `khudan reports chart`, on the households of test_reports.

Each chart is checked twice: the series it draws against the figures worked out by hand in
test_reports.py, and the PNG the route sends against the chart drawn from the JSON reports the
same user gets (charts are deterministic, so equal bytes mean the route drew those figures).
"""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner
from PIL import Image

from khudan.cli import main
from khudan.services import areas, charts

from . import test_reports

households = test_reports.households  # the same hand-made households, as a fixture here


def png_size(data: bytes) -> tuple[int, int]:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    return img.size


def chart(client, headers, kind: str, query: str):
    r = client.get(f"/api/v1/reports/charts/{kind}.png?{query}", headers=headers)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "image/png"
    return r


def test_poverty_rate_chart_of_the_thon_of_a_commune(client, households):
    summary = client.get(
        "/api/v1/reports/poverty?period=2026&area=21607&depth=1", headers=households
    ).json
    rows = charts.area_rates(summary)
    # Thôn Bắc: 3 poor, 1 near-poor of its 120 households; Thôn Trung has no registry count,
    # so F (G was rejected) is not a rate at all.
    assert [(r.code, r.poor, r.near_poor, r.reviewed) for r in rows] == [
        ("21607.T01", 2.5, 0.83, 5),
        ("21607.T02", None, None, 1),
    ]
    r = chart(client, households, "poverty-rate", "period=2026&area=21607")
    assert r.data == charts.poverty_rate_chart(summary)
    assert png_size(r.data)[0] == 800
    assert r.headers["Content-Disposition"] == (
        'inline; filename="bieu-do-ty-le-ngheo-2026-21607.png"'
    )
    approved = chart(client, households, "poverty-rate", "period=2026&area=21607&counts=approved")
    assert approved.data == charts.poverty_rate_chart(summary, "approved")
    narrow = chart(client, households, "poverty-rate", "period=2026&area=21607&width=360")
    assert png_size(narrow.data)[0] == 360


def test_deprivation_chart_of_the_province(client, households):
    summary = client.get(
        "/api/v1/reports/poverty?period=2026&area=52&depth=1", headers=households
    ).json
    total, rows = charts.deprivations(summary)
    lacking = {r.indicator: r.households for r in rows}
    assert total == 6 and len(rows) == 12
    assert (lacking["water"], lacking["employment"], lacking["telecom"]) == (6, 5, 0)
    r = chart(client, households, "deprivation", "period=2026&area=52")
    assert r.data == charts.deprivation_chart(summary)


def test_change_chart_over_the_last_periods(client, households):
    def summary(period):
        return client.get(
            f"/api/v1/reports/poverty?period={period}&area=21607&depth=0", headers=households
        ).json

    history = [summary(p) for p in ("2026", "2025", "2024", "2023", "2022")]
    assert [(c.period, c.reviewed, c.poor, c.near_poor) for c in charts.period_counts(history)] == [
        ("2024", 1, 1, 0),  # D
        ("2025", 5, 2, 1),  # A, B, C, D, E
        ("2026", 6, 4, 1),  # A, B, C, D, E and F (G rejected)
    ]
    moves = client.get(
        "/api/v1/reports/poverty/transitions?period=2026&area=21607", headers=households
    ).json
    r = chart(client, households, "change", "period=2026&area=21607")
    assert r.data == charts.change_chart(history, moves)


@pytest.mark.parametrize("kind", charts.KINDS)
def test_a_period_without_data_gives_a_no_data_image(client, households, kind):
    r = chart(client, households, kind, "period=2031&area=21607")
    width, height = png_size(r.data)
    empty = charts.poverty_rate_chart({"period": "2031", "areas": []})
    assert (width, height) == png_size(empty)  # the short "Chưa có số liệu / No data" page


def test_scope_bad_input_and_roles(client, households, login):
    ward = login("hoa", "supervisor", areas=("21553",))
    for kind in charts.KINDS:
        r = client.get(f"/api/v1/reports/charts/{kind}.png?period=2026&area=21607", headers=ward)
        assert r.status_code == 404 and r.json["code"].startswith("404.")
    own = client.get("/api/v1/reports/poverty?period=2026", headers=ward).json
    assert [a["code"] for a in own["areas"]] == ["21553"]
    r = chart(client, ward, "poverty-rate", "period=2026")
    assert r.data == charts.poverty_rate_chart(own)  # its tổ dân phố, nothing of 21607
    for query in ("period=26", "period=2026&width=100", "period=2026&counts=some"):
        r = client.get(f"/api/v1/reports/charts/change.png?{query}", headers=households)
        assert r.status_code == 422, query
    collector = login("c1", "collector", areas=("21607",))
    r = client.get("/api/v1/reports/charts/change.png?period=2026", headers=collector)
    assert r.status_code == 403


def test_cli_writes_a_png(households, database_url, tmp_path):
    env = {
        "KHUDAN_DATABASE_URL": database_url,
        "KHUDAN_SECRET_KEY": "x",
        "KHUDAN_INSTANCE_DIR": str(tmp_path / "i"),
        "KHUDAN_MEDIA_ROOT": str(tmp_path / "m"),
    }
    out = tmp_path / "ty-le.png"
    args = ["reports", "chart", "poverty-rate", "--period", "2026", "--area", "21607"]
    r = CliRunner().invoke(main, [*args, "--width", "640", "-o", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert png_size(out.read_bytes())[0] == 640
    r = CliRunner().invoke(main, [*args[:3], "--period", "2026", "-o", str(out)], env=env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, [*args[:5], "--area", "nowhere", "-o", str(out)], env=env)
    assert r.exit_code == 1 and "nowhere" in r.output


def test_a_chart_is_drawn_again_only_when_its_figures_change(client, households, db, monkeypatch):
    drawn = []
    real = charts.poverty_rate_chart

    def counting(summary, counts="all", width=charts.WIDTH):
        drawn.append(width)
        return real(summary, counts, width)

    monkeypatch.setattr(charts, "poverty_rate_chart", counting)
    monkeypatch.setattr(charts, "_drawn_charts", type(charts._drawn_charts)())
    query = "period=2026&area=21607"
    first = chart(client, households, "poverty-rate", query).data
    assert chart(client, households, "poverty-rate", query).data == first
    assert drawn == [800]  # the second request was served from memory
    chart(client, households, "poverty-rate", query + "&width=400")
    assert drawn == [800, 400]
    with db.session() as s:  # Thôn Bắc now has 240 households: its rates halve
        areas.set_households_total(s, "21607.T01", 240)
        s.commit()
    changed = chart(client, households, "poverty-rate", query).data
    assert changed != first and drawn == [800, 400, 800]
