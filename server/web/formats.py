"""How the pages write times and numbers, with Babel for vi_VN whatever the page's language (one
Vietnamese format everywhere): Vietnam time (UTC+7, no daylight saving) as ``29/11/2026 10:44``,
numbers with a dot between thousands and a decimal comma (``1.206.098``, ``80,5``), rates as
percentages with one decimal (``12,3 %``)."""

from __future__ import annotations

import datetime as dt

from babel.dates import format_datetime
from babel.numbers import format_decimal

from . import bp
from .i18n import _

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
LOCALE = "vi_VN"


@bp.app_template_filter("when")
def when(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:  # SQLite gives back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return format_datetime(value.astimezone(VIETNAM), "dd/MM/yyyy HH:mm", locale=LOCALE)


@bp.app_template_filter("number")
def number(value: int | float | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=LOCALE)


@bp.app_template_filter("pct")
def pct(rate: float | None) -> str:
    """0.12345 -> 12,35 %: two decimals, as the tables, files and charts show the same rate."""
    if rate is None:
        return "—"
    return format_decimal(round(rate * 100, 2), format="#,##0.00", locale=LOCALE) + " %"


@bp.app_template_filter("duration")
def duration(seconds: int | None) -> str:
    """How long something has waited, to the two largest units a person reads: ``45 giây``,
    ``12 phút``, ``3 giờ 5 phút``, ``2 ngày 4 giờ`` (in the page's language)."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return _("{d} ngày {h} giờ", d=number(days), h=hours)
    if hours:
        return _("{h} giờ {m} phút", h=hours, m=minutes)
    if minutes:
        return _("{m} phút", m=minutes)
    return _("{s} giây", s=secs)
