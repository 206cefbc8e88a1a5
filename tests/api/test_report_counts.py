"""How the poverty figures are counted at scale, on the households of test_reports: the facts' copy
of "approved" follows every review, deprivations are counted per counting rule, both counts read
covering indexes only, a district level rolls up, scoped users see their thôn and communes, and the
CLI hears of each step."""

from __future__ import annotations

import pytest
from sqlalchemy import event, update

from khudan.models import Area
from khudan.services import facts, reports
from khudan.services.scope import Scope

from . import test_reports

households = test_reports.households  # the same hand-made households, as a fixture here
# What pov1.xml's household lacks (the 8 deprivations of every "poor" household there).
LACKING = (
    "adult_education",
    "employment",
    "health_insurance",
    "housing_area",
    "housing_quality",
    "nutrition",
    "sanitation",
    "water",
)


def province(client, headers) -> dict:
    r = client.get("/api/v1/reports/poverty?period=2026&area=52&depth=0", headers=headers)
    assert r.status_code == 200, r.json
    return r.json["areas"][0]


def review(client, headers, code: str, state: str, comment: str | None = None) -> None:
    listed = client.get("/api/v1/submissions?period=2026&per_page=100", headers=headers).json
    [sid] = [i["id"] for i in listed["items"] if i["household_code"] == code]
    r = client.patch(
        f"/api/v1/submissions/{sid}",
        headers=headers,
        json={"review_state": state, "comment": comment},
    )
    assert r.status_code == 200, r.json


def test_approved_counts_follow_each_review_and_a_rebuild(client, households, db):
    assert province(client, households)["approved"]["reviewed"] == 2  # F and H
    review(client, households, "H", "hasIssues", "Thu nhập chưa khớp sổ hộ")
    figures = province(client, households)["approved"]
    assert figures["reviewed"] == 1 and figures["urban"]["poor"] == 0
    review(client, households, "I", "approved")
    review(client, households, "H", "approved")
    figures = province(client, households)["approved"]
    assert figures["reviewed"] == 3 and figures["urban"] == {
        "poor": 1,
        "near_poor": 0,
        "medium": 1,
        "not_poor": 0,
    }
    facts.rebuild(db)  # facts derived again from the XML keep the review state
    assert province(client, households)["approved"]["reviewed"] == 3
    assert province(client, households)["all"]["reviewed"] == 8


def test_deprivations_counted_for_each_counting_rule(client, households):
    figures = province(client, households)

    def lacking(f: dict, cls: str) -> dict:
        return {i: n for i, n in f["deprivation"][cls]["households"].items() if n}

    # Approved: F and H, both poor, each lacking the 8 services of pov1.xml.
    assert lacking(figures["approved"], "poor") == {name: 2 for name in LACKING}
    assert lacking(figures["approved"], "near_poor") == {}
    # All: the 5 poor lack the 8; B, near-poor, apart: only water and sanitation.
    assert lacking(figures["all"], "poor") == {name: 5 for name in LACKING}
    assert lacking(figures["all"], "near_poor") == {"water": 1, "sanitation": 1}
    assert figures["all"]["deprivation"]["near_poor"]["share"]["water"] == 1.0


def test_a_district_level_rolls_up_its_communes(client, households, db):
    with db.session() as s:
        s.add(
            Area(
                code="52D1",
                name="An Nhơn",
                full_name="Huyện An Nhơn",
                level="district",
                parent_code="52",
            )
        )
        s.flush()
        s.execute(update(Area).where(Area.code == "21607").values(parent_code="52D1"))
        s.commit()
    r = client.get("/api/v1/reports/poverty?period=2026&area=52D1&depth=2", headers=households)
    assert r.status_code == 200, r.json
    [district] = r.json["areas"]
    assert district["level"] == "district" and district["all"]["reviewed"] == 6
    assert [c["code"] for c in district["children"]] == ["21607"]
    assert [c["code"] for c in district["children"][0]["children"]] == ["21607.T01", "21607.T02"]
    top = province(client, households)
    assert top["all"]["reviewed"] == 8 and top["all"]["classes"]["poor"] == 5


def test_a_supervisor_of_a_thon_and_a_ward_sees_both(client, households, login):
    headers = login("lan", "supervisor", areas=("21607.T01", "21553"))
    r = client.get("/api/v1/reports/poverty?period=2026&depth=1", headers=headers)
    assert r.status_code == 200, r.json
    by_code = {a["code"]: a for a in r.json["areas"]}
    assert list(by_code) == ["21553", "21607.T01"]
    assert by_code["21607.T01"]["all"]["reviewed"] == 5
    assert by_code["21607.T01"]["households_total"] == 120
    assert by_code["21553"]["all"]["reviewed"] == 2
    assert [c["code"] for c in by_code["21553"]["children"]] == ["21553.K01"]
    r = client.get("/api/v1/reports/poverty?period=2026&area=21607", headers=headers)
    assert r.status_code == 404  # the thôn's commune lies above the user's areas


def test_progress_is_reported_after_each_step(households, db):
    steps = []
    with db.session() as s:
        body = reports.poverty_summary(
            s, Scope(everything=True), "2026", "52", progress=lambda *a: steps.append(a)
        )
    assert body["areas"][0]["all"]["reviewed"] == 8
    total = reports.POVERTY_STEPS
    assert steps == [(done, total) for done in range(1, total + 1)]


@pytest.mark.parametrize("code", ["52", "21607", "21607.T01"])
def test_the_counts_read_covering_indexes_only(households, db, code):
    """SQLite's plans (PostgreSQL plans by its own statistics): no wide fact row is read, and a
    commune or a thôn is a seek, not a scan of the province."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("checks SQLite's EXPLAIN QUERY PLAN; PostgreSQL plans differ by statistics")
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM poverty_facts" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.session() as s:
            reports.poverty_summary(s, Scope(everything=True), "2026", code)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    plans = []
    with db.engine.connect() as c:
        for statement, parameters in statements:
            rows = c.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append(" ".join(row[-1] for row in rows))
    seek = "province_code=?" if code == "52" else "commune_code=?"
    assert len(plans) == 2
    assert "COVERING INDEX ix_poverty_facts_counted" in plans[0] and seek in plans[0]
    assert "COVERING INDEX ix_poverty_facts_deprived" in plans[1] and seek in plans[1]
    assert not any("TEMP B-TREE" in plan for plan in plans)
