"""Review periods: a year ("2026") or a half-year ("2026-H1", the regular monthly reviews summed
per half). A period follows the one before it of the same kind only."""

from __future__ import annotations

import re

_PERIOD = re.compile(r"(\d{4})(?:-H([12]))?")


def previous(period: str) -> str | None:
    """2026 -> 2025; 2026-H1 -> 2025-H2; 2026-H2 -> 2026-H1; None for what is not a period."""
    match = _PERIOD.fullmatch(period or "")
    if not match:
        return None
    year, half = int(match.group(1)), match.group(2)
    if half is None:
        return str(year - 1)
    return f"{year}-H1" if half == "2" else f"{year - 1}-H2"


def kind(period: str) -> str:
    """ "year" or "half": periods are compared with periods of their own kind only."""
    return "half" if "-H" in (period or "") else "year"
