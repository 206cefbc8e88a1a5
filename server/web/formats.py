"""How the pages write times and numbers: Vietnam time (UTC+7, no daylight saving) as
``29/11/2026 10:44``, numbers with a dot between thousands, rates as percentages with a comma."""

from __future__ import annotations

import datetime as dt

from . import bp

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")


@bp.app_template_filter("when")
def when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("number")
def number(value: int | float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}".replace(",", ".")


@bp.app_template_filter("pct")
def pct(rate: float | None) -> str:
    """0.1234 -> 12,3 %"""
    if rate is None:
        return "—"
    return f"{rate * 100:.1f}".replace(".", ",") + " %"
