"""The poverty results as PNG charts, for the web pages and for Word or PDF reports.

Three charts: the poor and near-poor rate of each area under the selected one (thôn of a commune,
communes of a province), how many poor and near-poor households lack each indicator, and the counts
over the last periods with the moves of the last step. Each is a pure function from the report dicts
of ``services.reports`` to PNG bytes; the series each chart draws come from small functions of
their own, so tests check the numbers without reading pixels.

matplotlib is imported on the first chart, not when the server starts (it costs about a second).
It keeps its font cache where ``use_config_dir`` says, a folder of the instance directory given
when the app or the CLI starts (the environment is not touched while a request runs).
It draws with Agg and no pyplot (no global figure state); its settings are global, so they are set
once, and drawing holds a lock because matplotlib does not promise that threads may draw at once.
Labels are in DejaVu Sans, which ships with matplotlib and has every Vietnamese letter. The PNG
carries no software version or time, so the same figures give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
import textwrap
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from ..domain.poverty import load_catalogue
from ..domain.ruledata import NotCovered
from . import reports
from .scope import Scope

KINDS = ("poverty-rate", "deprivation", "change")
WIDTH = 800  # px; at 100 dpi this is 8 inches, a Word page's text width at 80 %
MIN_WIDTH, MAX_WIDTH = 320, 2000
PERIODS = 5  # the selected period and up to 4 before it
DPI = 100
NARROW = 560  # px; below this, labels wrap and legends stack
POOR, NEAR_POOR = "#b2182b", "#f4a582"
ESCAPED, FELL_BACK, NEWLY = "#1a9850", "#762a83", "#fdae61"
GREY = "#555555"
NO_DATA = "Chưa có số liệu / No data"
COUNTS_VI = {"all": "mọi phiếu không bị từ chối", "approved": "phiếu đã duyệt"}
STYLE = {
    "font.family": ["DejaVu Sans"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titlelocation": "left",
    "svg.hashsalt": "khudan",
}
_drawing = threading.Lock()


@dataclass(frozen=True, slots=True)
class AreaRate:
    """One bar pair of the rate chart. Rates are percentages of the registry's households
    (``reports.rate_base``); None when nobody was reviewed in the units that have a count."""

    code: str
    name: str
    reviewed: int
    poor: float | None
    near_poor: float | None


@dataclass(frozen=True, slots=True)
class Deprivation:
    indicator: str
    label_vi: str
    label_en: str
    households: int  # poor and near-poor households lacking it


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    period: str
    reviewed: int
    poor: int
    near_poor: int


# -- the series ----------------------------------------------------------------------------------


def place_name(summary: dict) -> str:
    """The selected area's name, or the areas' names when the user did not pick one."""
    names = [a["name"] for a in summary["areas"]]
    if not names:
        return "Không có địa bàn / No areas"
    if len(names) <= 2:
        return ", ".join(names)
    return f"{len(names)} địa bàn / areas"


def area_rates(summary: dict, counts: str = "all") -> list[AreaRate]:
    """A row per area under the selected one (or per top area when none was selected), the
    highest poor rate first; areas nobody has reviewed yet come last."""
    tops = summary["areas"]
    nodes = (tops[0].get("children") or tops) if len(tops) == 1 else tops
    rows = []
    for node in nodes:
        f = node[counts]
        reviewed = f["reviewed"]
        rows.append(
            AreaRate(
                code=node["code"],
                name=node["name"],
                reviewed=reviewed,
                poor=_percent(rate) if (rate := f["rates"]["poor"]) is not None else None,
                near_poor=_percent(rate) if (rate := f["rates"]["near_poor"]) is not None else None,
            )
        )
    return sorted(rows, key=lambda r: (r.poor is None, -(r.poor or 0), -(r.near_poor or 0), r.name))


def deprivations(summary: dict, counts: str = "all") -> tuple[int, list[Deprivation]]:
    """Poor and near-poor households of the selection, and how many lack each indicator of the
    period's national standard (every indicator, in the standard's order, zeros included)."""
    poor_or_near = sum(
        a[counts]["classes"]["poor"] + a[counts]["classes"]["near_poor"] for a in summary["areas"]
    )
    lacking = Counter()
    for a in summary["areas"]:
        for by_class in a[counts]["deprivation"].values():
            lacking.update(by_class["households"])
    catalogue = load_catalogue()
    try:
        indicators = list(catalogue.national(int(summary["period"][:4])).indicators)
    except NotCovered:  # a year no rule file covers: the indicators any standard knows
        indicators = list({i.id: i for s in catalogue.standards for i in s.indicators}.values())
    known = {i.id for i in indicators}
    rows = [Deprivation(i.id, i.label_vi, i.label_en, lacking.get(i.id, 0)) for i in indicators]
    rows += [Deprivation(k, k, k, n) for k, n in sorted(lacking.items()) if k not in known]
    return poor_or_near, rows


def period_counts(summaries: list[dict], counts: str = "all") -> list[PeriodCounts]:
    """Households reviewed, poor and near-poor per period, oldest first; periods before the first
    one with any household reviewed are left out."""
    rows = []
    for summary in summaries:
        figures = [a[counts] for a in summary["areas"]]
        rows.append(
            PeriodCounts(
                period=summary["period"],
                reviewed=sum(f["reviewed"] for f in figures),
                poor=sum(f["classes"]["poor"] for f in figures),
                near_poor=sum(f["classes"]["near_poor"] for f in figures),
            )
        )
    rows.sort(key=lambda r: r.period)
    while rows and not rows[0].reviewed:
        rows.pop(0)
    return rows


# -- the charts ----------------------------------------------------------------------------------


def poverty_rate_chart(summary: dict, counts: str = "all", width: int = WIDTH) -> bytes:
    rows = area_rates(summary, counts)
    title = "Tỷ lệ hộ nghèo, hộ cận nghèo theo địa bàn"
    subtitle = _subtitle(summary, counts, "Poor and near-poor rate by area")
    if not any(r.reviewed for r in rows):
        return _no_data(title, subtitle, width)
    narrow = width < NARROW
    names = [_wrap(r.name, 16 if narrow else 28) for r in rows]
    height = 1.3 + 0.5 * len(rows) + 0.12 * sum(n.count("\n") for n in names)

    def draw(fig):
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]  # the first row on top
        bar = 0.4
        poor = [r.poor or 0 for r in rows]
        near = [r.near_poor or 0 for r in rows]
        bars_poor = ax.barh(
            [y + bar / 2 for y in ys], poor, bar, color=POOR, label="Hộ nghèo / Poor"
        )
        bars_near = ax.barh(
            [y - bar / 2 for y in ys], near, bar, color=NEAR_POOR, label="Hộ cận nghèo / Near-poor"
        )
        ax.bar_label(bars_poor, [rate_label(r.poor) for r in rows], padding=3, fontsize=9)
        ax.bar_label(bars_near, [rate_label(r.near_poor) for r in rows], padding=3, fontsize=9)
        ax.set_yticks(ys, names)
        right = max(5.0, *poor, *near) * 1.25
        ax.set_xlim(0, right)
        for y, r in zip(ys, rows, strict=True):
            if not r.reviewed:
                ax.text(right / 100, y, "chưa rà soát / not reviewed", va="center", color=GREY)
            elif r.poor is None:
                note = "chưa có số hộ trong sổ / no registry count"
                ax.text(right / 100, y, note, va="center", color=GREY)
        ax.xaxis.set_major_formatter(_comma_formatter())
        ax.set_xlabel(
            _wrap(
                "Tỷ lệ (%) trên tổng số hộ theo sổ hộ / Rate (%) of the registry's households",
                _axis_chars(width),
            )
        )
        fig.legend(loc="outside lower center", ncols=1 if narrow else 2, frameon=False)

    return _render(title, subtitle, width, height, draw)


def deprivation_chart(summary: dict, counts: str = "all", width: int = WIDTH) -> bytes:
    total, rows = deprivations(summary, counts)
    title = "Thiếu hụt dịch vụ xã hội cơ bản của hộ nghèo, hộ cận nghèo"
    subtitle = _subtitle(
        summary, counts, f"{total} hộ / households — deprivation among the poor and near-poor"
    )
    if not total:
        return _no_data(title, subtitle, width)
    narrow = width < NARROW
    names = [
        _wrap(r.label_vi, 18 if narrow else 40) + ("" if narrow else f"\n{r.label_en}")
        for r in rows
    ]
    height = 0.9 + 0.3 * len(rows) + 0.16 * sum(n.count("\n") for n in names)

    def draw(fig):
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        values = [r.households for r in rows]
        bars = ax.barh(ys, values, 0.7, color=POOR)
        ax.bar_label(
            bars,
            [f"{r.households} ({_number(100 * r.households / total, 0)}%)" for r in rows],
            padding=3,
            fontsize=9,
        )
        ax.set_yticks(ys, names, fontsize=9)
        ax.set_xlim(0, max(values) * (1.45 if narrow else 1.3) or 1)
        ax.xaxis.get_major_locator().set_params(integer=True, nbins=4 if narrow else "auto")
        ax.set_xlabel(_wrap("Số hộ thiếu hụt / Households lacking it", _axis_chars(width)))

    return _render(title, subtitle, width, height, draw)


def change_chart(
    summaries: list[dict], moves: dict, counts: str = "all", width: int = WIDTH
) -> bytes:
    """``summaries``: poverty summaries of successive periods (any order) for one selection;
    ``moves``: reports.transitions for the last of them."""
    rows = period_counts(summaries, counts)
    latest = max(summaries, key=lambda s: s["period"])
    title = "Diễn biến hộ nghèo, hộ cận nghèo"
    subtitle = _subtitle(latest, counts, "Poor and near-poor households over time")
    if not rows:
        return _no_data(title, subtitle, width)
    narrow = width < NARROW
    grouped = {cls: reports.moved(moves, cls) for cls in ("poor", "near_poor")}
    steps = [
        ("Thoát / Escaped", "escaped", ESCAPED),
        ("Tái / Fell back", "fell_back", FELL_BACK),
        ("Phát sinh / Newly", "newly", NEWLY),
    ]

    def draw(fig):
        top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
        xs = list(range(len(rows)))
        bar = 0.38
        for offset, key, color, label in (
            (-bar / 2, "poor", POOR, "Hộ nghèo / Poor"),
            (bar / 2, "near_poor", NEAR_POOR, "Hộ cận nghèo / Near-poor"),
        ):
            values = [getattr(r, key) for r in rows]
            bars = top.bar([x + offset for x in xs], values, bar, color=color, label=label)
            top.bar_label(bars, padding=2, fontsize=8 if narrow else 9)
        top.set_xticks(xs, [r.period.replace("-", "\n") if narrow else r.period for r in rows])
        most = max(1, *(r.poor for r in rows), *(r.near_poor for r in rows))
        top.set_ylim(0, most * (1.45 if narrow else 1.25))
        top.yaxis.get_major_locator().set_params(integer=True)
        top.set_ylabel("Số hộ / Households")
        top.legend(loc="upper right", frameon=False, fontsize=9, ncols=1 if narrow else 2)

        ys = [1, 0]  # poor above near-poor
        height = 0.8 / len(steps)
        for i, (label, key, color) in enumerate(steps):
            offsets = [y + 0.4 - height * (i + 0.5) for y in ys]
            values = [grouped["poor"][key], grouped["near_poor"][key]]
            bars = bottom.barh(offsets, values, height, color=color, label=label)
            bottom.bar_label(bars, padding=2, fontsize=9)
        bottom.set_yticks(ys, ["Hộ nghèo\nPoor", "Hộ cận nghèo\nNear-poor"])
        most = max(grouped[c][k] for c in ("poor", "near_poor") for _, k, _ in steps)
        bottom.set_xlim(0, max(1, most) * 1.2)
        bottom.xaxis.get_major_locator().set_params(integer=True)
        bottom.set_title(
            _wrap(
                f"Biến động {moves['previous_period']} → {moves['period']} / Moves",
                _axis_chars(width),
            ),
            color=GREY,
        )
        fig.legend(
            handles=bottom.containers,
            loc="outside lower center",
            ncols=1 if narrow else 3,
            frameon=False,
            fontsize=9,
        )

    return _render(title, subtitle, width, 6.2 if narrow else 5.6, draw)


# -- from the database -----------------------------------------------------------------------------


def chart_png(
    session: Session,
    scope: Scope,
    kind: str,
    period: str,
    area_code: str | None = None,
    counts: str = "all",
    width: int = WIDTH,
) -> bytes:
    """The chart ``kind`` for the user's scope (NOT_FOUND for an area outside it).

    Drawing costs 0.2-0.5 s and the same figures always give the same bytes, so the last charts
    drawn are kept by what they were drawn from: a dashboard reloaded without a new review is
    served from memory, and any change in the figures draws anew."""
    summary = reports.poverty_summary(session, scope, period, area_code, depth=1)
    if kind == "poverty-rate":
        return _drawn(poverty_rate_chart, summary, counts, width)
    if kind == "deprivation":
        return _drawn(deprivation_chart, summary, counts, width)
    history = [summary]
    # Back to PERIODS periods in all; year 0 has none before it.
    while len(history) < PERIODS and not history[-1]["period"].startswith("0000"):
        earlier = reports.previous_period(history[-1]["period"])
        history.append(reports.poverty_summary(session, scope, earlier, area_code, depth=0))
    moves = reports.transitions(session, scope, period, area_code, counts)
    return _drawn(change_chart, history, moves, counts, width)


_KEPT = 64  # charts kept per process (tens of KB each)
_drawn_charts: OrderedDict[str, bytes] = OrderedDict()
_drawn_lock = threading.Lock()


def _drawn(draw: Callable[..., bytes], *inputs) -> bytes:
    key = hashlib.sha256(
        json.dumps([draw.__name__, *inputs], sort_keys=True, default=str).encode()
    ).hexdigest()
    with _drawn_lock:
        if key in _drawn_charts:
            _drawn_charts.move_to_end(key)
            return _drawn_charts[key]
    png = draw(*inputs)
    with _drawn_lock:
        _drawn_charts[key] = png
        while len(_drawn_charts) > _KEPT:
            _drawn_charts.popitem(last=False)
    return png


def file_name(kind: str, period: str, area_code: str | None) -> str:
    """A name people can keep: bieu-do-ty-le-ngheo-2026-21607.png."""
    stem = {"poverty-rate": "ty-le-ngheo", "deprivation": "thieu-hut", "change": "dien-bien"}[kind]
    return f"bieu-do-{stem}-{period}-{area_code or 'tat-ca'}.png"


# -- drawing ---------------------------------------------------------------------------------------


def use_config_dir(path: Path) -> None:
    """matplotlib's config and font-cache directory, set once at start-up (matplotlib reads
    MPLCONFIGDIR when imported): ``<instance dir>/matplotlib``, unless the administrator set
    MPLCONFIGDIR. Never the home directory of the server's user, nor a folder shared in /tmp."""
    if "matplotlib" not in sys.modules and "MPLCONFIGDIR" not in os.environ:
        path.mkdir(parents=True, exist_ok=True)
        os.environ["MPLCONFIGDIR"] = str(path)


@cache
def _figure_class() -> type:
    """matplotlib, loaded and set up on first use; without ``use_config_dir`` (a script drawing
    charts without the app) its cache goes to a directory of this process."""
    if "MPLCONFIGDIR" not in os.environ:
        use_config_dir(Path(tempfile.mkdtemp(prefix="khudan-matplotlib-")))
    import matplotlib  # here: the server starts without it
    from matplotlib.figure import Figure

    matplotlib.rcParams.update(STYLE)
    return Figure


def _render(title: str, subtitle: str, width: int, body_in: float, draw: Callable) -> bytes:
    """A header (the Vietnamese title in bold, then a grey subtitle) across the whole width, and
    the chart that ``draw`` puts in the figure below it."""
    figure_class = _figure_class()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    title = _wrap(title, _chars(width, 12))
    subtitle = _wrap(subtitle, _chars(width, 10))
    title_in = 0.24 * (title.count("\n") + 1)
    head_in = 0.12 + title_in + 0.06 + 0.19 * (subtitle.count("\n") + 1) + 0.04
    left = 8 / width
    with _drawing:
        fig = figure_class(figsize=(width / DPI, head_in + body_in), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        header, body = fig.subfigures(2, 1, height_ratios=[head_in, body_in])
        header.text(left, 1 - 0.12 / head_in, title, va="top", fontsize=12, fontweight="bold")
        header.text(
            left, 1 - (0.18 + title_in) / head_in, subtitle, va="top", fontsize=10, color=GREY
        )
        draw(body)
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _no_data(title: str, subtitle: str, width: int) -> bytes:
    def draw(fig):
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, NO_DATA, ha="center", va="center", fontsize=14, color=GREY)

    return _render(title, subtitle, width, 1.6, draw)


def _subtitle(summary: dict, counts: str, english: str) -> str:
    return f"{place_name(summary)} · kỳ {summary['period']} · {COUNTS_VI[counts]}\n{english}"


def _chars(width: int, points: int) -> int:
    """About how many characters of DejaVu Sans at ``points`` fit across ``width`` pixels."""
    return max(16, int(width * 0.95 / (points * DPI / 72 * 0.6)))


def _axis_chars(width: int) -> int:
    """Characters of 10 pt text that fit under or over the plot, beside the row labels."""
    return _chars(int(width * (0.55 if width < NARROW else 0.75)), 10)


def _wrap(text: str, chars: int) -> str:
    return "\n".join("\n".join(textwrap.wrap(line, chars)) or line for line in text.splitlines())


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


def _number(value: float, digits: int) -> str:
    """Vietnamese writes a decimal comma: 2,5."""
    return f"{value:.{digits}f}".replace(".", ",")


def rate_label(value: float | None) -> str:
    """A bar's label: the rate as the tables and files show it (two decimals, rounded once)."""
    return "" if value is None else f"{_number(value, 2)}%"  # as the tables and files


def _comma_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: _number(value, 0 if value == int(value) else 1))
