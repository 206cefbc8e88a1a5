"""The dashboard: the landing page after log-in. Supervisors and admins see their areas' figures
for a period (poor and near-poor households, "Gia đình văn hóa"), what waits for review and what
each collector sent lately, and go down the tree province → commune → thôn. Designers get a
greeting; collectors work in ODK Collect, so they get a page saying so instead."""

from __future__ import annotations

from flask import render_template, request, url_for
from sqlalchemy import select

from khudan.schemas.reports import PovertyQuerySchema

from ..models import Area, Role
from ..models.base import utcnow
from ..runtime import current
from ..services import activity, reports
from ..services.scope import Scope
from . import bp
from .args import load_args
from .auth import REVIEWERS, current_user, login_required


@bp.get("/")
@login_required()
def dashboard():
    user = current_user()
    if user.role == Role.COLLECTOR:
        return render_template("collector.html")
    if user.role not in REVIEWERS:
        return render_template("dashboard.html")
    with current().db.session() as session:
        choices = activity.periods(session, user)
        wanted = request.args.to_dict()
        if not wanted.get("period"):  # the latest period with submissions, else this year
            wanted["period"] = choices[0] if choices else str(utcnow().year)
        q = load_args(PovertyQuerySchema(), wanted)
        period, area = q["period"], q["area"]
        scope = Scope.of(session, user)
        poverty = reports.poverty_summary(session, scope, period, area, depth=1)
        culture = reports.cultural_family_summary(session, scope, period, area, depth=1)
        unprocessed = reports.unprocessed(session, scope, None, period, area)  # what the link lists
        states = activity.review_counts(session, user, area)
        collectors = activity.collectors(session, user, area)
        crumbs = ancestry(session, user, area)
    tops = poverty["areas"]
    nodes = (tops[0].get("children") or []) if len(tops) == 1 else tops
    culture_by_code = {n["code"]: n for n in _walk(culture["areas"])}
    return render_template(
        "dashboard_supervisor.html",
        period=period,
        periods=sorted({*choices, period}, reverse=True),
        area=area,
        poverty=poverty["total"],
        culture=culture["total"],
        waiting=sum(states[s] for s in activity.WAITING),
        unprocessed=unprocessed,
        states=states,
        place=tops[0] if len(tops) == 1 else None,
        rows=[(n, culture_by_code.get(n["code"])) for n in nodes],
        collectors=collectors,
        crumbs=crumbs,
        chart_url=url_for("web.chart", kind="poverty-rate", period=period, area=area),
    )


def _walk(nodes: list[dict]):
    for node in nodes:
        yield node
        yield from _walk(node.get("children", []))


def ancestry(session, user, code: str | None) -> list[tuple[str, str]]:
    """(code, name) from the top the user may open down to ``code``: a supervisor's path starts at
    their own area, not at the province above it."""
    out: list[tuple[str, str]] = []
    roots = set(user.area_codes)
    while code:
        row = session.execute(
            select(Area.full_name, Area.parent_code).where(Area.code == code)
        ).first()
        if row is None:
            break
        out.append((code, row.full_name))
        if code in roots:
            break
        code = row.parent_code
    return out[::-1]
