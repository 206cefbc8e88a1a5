"""Results per area at a province's scale: the poverty figures over a million households.

What it measures
    A database with the official area registry, one real province's communes, 10-30 residential
    areas per commune and N synthetic households reviewed in two periods (2025 and 2026): one
    submission and one fact row per household and period, written in bulk (executemany on SQLite,
    COPY on PostgreSQL), not through ingest. Urban or rural follows the commune's type; poverty is
    more frequent in rural communes and among ethnic minority households, most households keep
    their class from one period to the next, the poor and near-poor lack more of the 12 services.
    About 60 % of the counting submissions are approved, the rest received, with issues or edited;
    2 % of households also have a rejected submission (which counts nowhere).

    Then, the median of a few runs of:
    - ``reports.poverty_summary`` for the province with every level below it (target < 1 s on SQLite);
    - the same for one commune (target < 50 ms);
    - a plain ``SELECT area_code, poverty_class, count(*) ... GROUP BY area_code, poverty_class``
      over the same facts and period, and the ratio of the two;
    each as wall clock and as this process's CPU time (steadier on a busy machine). Then, when
    bench/exports.py is there, its 100,000-submission XLSX export figures. The exit code is 1
    when a target is missed on SQLite.

How to run
    python bench/reports.py                          # 1,000,000 households, SQLite in a temp dir
    python bench/reports.py --households 100000      # smaller
    python bench/reports.py --sqlite-file /tmp/r.db  # keep the file; run again to reuse its data
    python bench/reports.py --database-url postgresql+psycopg://user@127.0.0.1/khudan_bench

A PostgreSQL database must be empty, or hold data from an earlier run of this script.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from sqlalchemy import func, select, text

from khudan.db import Database
from khudan.domain import characteristics, poverty
from khudan.models import Area, PovertyFact
from khudan.models.facts import DEPRIVED_CLASSES
from khudan.services import areas, forms, official, reports
from khudan.services.scope import Scope
from khudan.storage.local import LocalStorage

REPO = Path(__file__).resolve().parent.parent
PERIODS = ("2025", "2026")
CHUNK = 20_000  # households written per transaction
# Ethnic minorities of the Central Highlands and the coast, for households of minority thôn.
MINORITIES = ("gia_rai", "ba_na", "hre", "cham", "xo_dang", "ede")
RUNS = 5
TARGET_PROVINCE_S = 1.0
TARGET_COMMUNE_S = 0.05
# (poor, near_poor, medium) shares; the rest are not poor. Ethnic minority households: twice the poor.
SHARES = {"rural": (0.08, 0.07, 0.12), "urban": (0.015, 0.025, 0.06)}
STATES = (("approved", 0.60), ("received", 0.27), ("hasIssues", 0.08), ("edited", 0.05))
INDICATORS = [i.id for i in poverty.load_catalogue().national(2026).indicators]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1_000_000, help="households to generate")
    parser.add_argument("--province", default="52", help="official province code (52: Gia Lai)")
    parser.add_argument("--database-url", help="PostgreSQL (default: a SQLite file)")
    parser.add_argument("--sqlite-file", type=Path, help="keep the SQLite database in this file")
    parser.add_argument("--skip-export", action="store_true", help="do not run bench/exports.py")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="khudan-bench-reports-") as tmp:
        url = args.database_url or f"sqlite:///{args.sqlite_file or Path(tmp) / 'bench.db'}"
        db = Database(url)
        db.migrate()
        households = _households(db)
        if households == 0:
            start = time.perf_counter()
            generate(db, Path(tmp), args.province, args.households, random.Random(args.seed))
            households = _households(db)
            print(f"generated {households:,} households in {time.perf_counter() - start:.0f} s")
        elif households != args.households:
            print(f"note: reusing {households:,} households already in the database")
        figures = measure(db, args.province)
        db.dispose()
    print(
        f"households: {households:,} x {len(PERIODS)} periods, {figures['areas']:,} areas "
        f"({db.engine.dialect.name}; median of {RUNS} runs, wall clock and this process's CPU; "
        "a shared machine)"
    )
    for label, name, target in [
        ("province summary, all levels", "province", TARGET_PROVINCE_S),
        ("one commune, all levels", "commune", TARGET_COMMUNE_S),
        ("plain GROUP BY area, class", "group_by", None),
    ]:
        wall, cpu = figures[name]
        goal = f"  (target < {target * 1000:.0f} ms)" if target else ""
        print(f"{label + ':':31} {wall * 1000:8.1f} ms wall {cpu * 1000:8.1f} ms CPU{goal}")
    ratio = figures["province"][0] / figures["group_by"][0]
    print(f"{'province summary / GROUP BY:':31} {ratio:8.2f}")
    print(
        "official tables (services.official.build, median of 5; the list (12) holds every poor "
        "and near-poor household):"
    )
    for table, (province_time, commune_time) in figures["official"].items():
        print(
            f"  {table:30} province {province_time * 1000:8.1f} ms   "
            f"commune {commune_time * 1000:7.1f} ms"
        )
    if not args.skip_export:
        export_figures()
    met = figures["province"][0] < TARGET_PROVINCE_S and figures["commune"][0] < TARGET_COMMUNE_S
    if db.engine.dialect.name == "sqlite" and not met:
        sys.exit(1)


def _households(db: Database) -> int:
    with db.session() as s:
        return s.scalar(
            select(func.count()).select_from(PovertyFact).where(PovertyFact.period == PERIODS[-1])
        )


# -- Measuring --------------------------------------------------------------------------------------


def measure(db: Database, province: str) -> dict:
    with db.session() as s:
        commune = s.scalar(
            select(Area.code).where(Area.parent_code == province).order_by(Area.code).limit(1)
        )
        n_areas = s.scalar(select(func.count()).select_from(Area).where(Area.level == "area"))
    everything = Scope(everything=True)
    period = PERIODS[-1]

    def province_summary(s):
        return reports.poverty_summary(s, everything, period, province, depth=4)

    def commune_summary(s):
        return reports.poverty_summary(s, everything, period, commune, depth=4)

    def group_by(s):
        return s.execute(
            select(PovertyFact.area_code, PovertyFact.poverty_class, func.count())
            .where(PovertyFact.period == period)
            .group_by(PovertyFact.area_code, PovertyFact.poverty_class)
        ).all()

    body = _timed(db, province_summary)[2]
    reviewed = body["areas"][0]["all"]["reviewed"]
    assert reviewed == sum(n for *_, n in _timed(db, group_by)[2]), "the summary lost households"
    official_times = {}
    for table in official.TABLES:
        times = []
        for code in (province, commune):
            wall, _cpu = _median(
                db, lambda s, t=table, c=code: official.build(s, everything, t, period, c)
            )
            times.append(wall)
        official_times[table] = tuple(times)
    return {
        "areas": n_areas,
        "province": _median(db, province_summary),
        "commune": _median(db, commune_summary),
        "group_by": _median(db, group_by),
        "official": official_times,
    }


def _timed(db: Database, work: Callable) -> tuple[float, float, object]:
    """Wall clock and CPU seconds of ``work`` in a new session, and its result."""
    with db.session() as s:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(s)
        return time.perf_counter() - wall, time.process_time() - cpu, result


def _median(db: Database, work: Callable) -> tuple[float, float]:
    runs = [_timed(db, work)[:2] for _ in range(RUNS)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def export_figures() -> None:
    """The 100,000-submission XLSX export figures of bench/exports.py, when that benchmark exists.

    Imported by name from the bench directory: it exports in a spawned child process, which must
    be able to import the same module."""
    if not (REPO / "bench" / "exports.py").exists():
        print("export: bench/exports.py not found (skipped)")
        return
    sys.path.insert(0, str(REPO / "bench"))
    import exports  # only when asked for and present

    for name, value in exports.export_benchmark(100_000).items():
        print(f"export, {name}: {value}")


# -- Generating -------------------------------------------------------------------------------------


def generate(db: Database, tmp: Path, province: str, n: int, rng: random.Random) -> None:
    """The registry, thôn per commune, a published poverty_review form and ``n`` households."""
    with db.session() as s:
        areas.load_official(s)
        s.commit()
        communes = s.execute(
            select(Area.code, Area.kind).where(Area.parent_code == province).order_by(Area.code)
        ).all()
    if not communes:
        sys.exit(f"province {province!r} has no communes in the official list")
    forms.publish_xlsform(
        db, LocalStorage(tmp / "media"), REPO / "forms" / "poverty_review.xlsx", validate=False
    )
    with db.session() as s:
        form_pk, version_pk = s.execute(text("SELECT form_pk, id FROM form_versions")).one()

    catalogue = poverty.load_catalogue()
    thon = []  # (commune code, area code, urban or rural, ethnic minority share, weight)
    for commune, kind in communes:
        dtts = rng.choice((0.02, 0.1, 0.3, 0.6, 0.9))
        for i in range(rng.randint(10, 30)):
            thon.append(
                (
                    commune,
                    f"{commune}.T{i + 1:02d}",
                    catalogue.area_kind(kind).value,
                    dtts,
                    rng.uniform(0.3, 1.7),
                )
            )
    scale = n / sum(t[-1] for t in thon)
    sizes = [int(t[-1] * scale) for t in thon]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    area_rows = [
        {
            "code": code,
            "name": f"Thôn {code[-2:]}",
            "full_name": f"Thôn {code[-2:]}",
            "level": "area",
            "kind": "thon",
            "parent_code": commune,
            # a tenth of the thôn have not reported their number of households
            "households_total": None if rng.random() < 0.1 else size + rng.randint(0, size // 20),
        }
        for (commune, code, *_), size in zip(thon, sizes, strict=True)
    ]
    with db.engine.begin() as conn:
        conn.execute(Area.__table__.insert(), area_rows)

    writer = _Writer(db)
    ids = iter(range(1, 10 * n + 1))
    done = 0
    batch: list[tuple] = []
    for (commune, code, kind, dtts, _), size in zip(thon, sizes, strict=True):
        for h in range(size):
            batch.append(
                (province, commune, code, kind, rng.random() < dtts, f"{code[-3:]}-{h:05d}")
            )
            if len(batch) == CHUNK:
                writer.write(_rows(batch, form_pk, version_pk, ids, rng))
                done += len(batch)
                batch = []
                _progress(done, n)
    if batch:
        writer.write(_rows(batch, form_pk, version_pk, ids, rng))
        _progress(n, n)
    print(file=sys.stderr)
    writer.finish()


def _progress(done: int, total: int) -> None:
    print(f"\rgenerating households: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)


def _rows(batch, form_pk: int, version_pk: int, ids: Iterator[int], rng: random.Random) -> dict:
    """Rows of submissions, submission_versions and poverty_facts, as dicts per table."""
    out: dict[str, list[dict]] = {"submissions": [], "submission_versions": [], "poverty_facts": []}
    traits = characteristics.load_catalogue()
    causes = [c for c, _ in traits.causes]
    support = [c for c, _ in traits.support]
    for province, commune, area, kind, dtts, code in batch:
        cls = None
        before: dict | None = None  # the household's fact of the previous period
        ethnicity = rng.choice(MINORITIES) if dtts else traits.majority
        meritorious = rng.random() < 0.03
        for period in PERIODS:
            place = {"province_code": province, "commune_code": commune, "area_code": area}
            submission = {"form_pk": form_pk, "period": period, "household_code": code, **place}
            if rng.random() < 0.02:  # a rejected review of the household, replaced later
                _submission(out, next(ids), version_pk, "rejected", submission)
            sid = next(ids)
            state = _pick(rng, STATES)
            _submission(out, sid, version_pk, state, submission)
            if cls is None or rng.random() < 0.25:  # most households keep their class
                cls = _class(rng, kind, dtts)
            lacks = {i: rng.random() < _deprivation_rate(cls) for i in INDICATORS}
            count = sum(lacks.values())
            income = {"poor": 1_100_000, "near_poor": 1_700_000, "medium": 2_300_000}.get(
                cls, 4_000_000
            )
            out["poverty_facts"].append(
                {
                    "id": sid,
                    "submission_id": sid,
                    "version_id": sid,
                    "approved": state == "approved",
                    "period": period,
                    "household_key": f"{commune}/{code}",
                    "household_code": code,
                    **place,
                    "submitted_at": _WHEN[period],
                    "review_kind": "dinh_ky",
                    "head_name": f"Hộ {code}",
                    "area_kind": kind,
                    "ethnic_minority": dtts,
                    "household_size": rng.randint(1, 8),
                    "income_per_capita": int(income * rng.uniform(0.8, 1.2)),
                    "b1_score": rng.randint(60, 180),
                    "deprivation_count": count,
                    "b2_score": 10 * count,
                    "indicators": json.dumps(lacks),
                    **{f"lacks_{i}": lacking for i, lacking in lacks.items()},
                    "standard_id": "nd07_2021",
                    "poverty_class": cls,
                    "local_standard_id": None,
                    "local_class": None,
                    "ethnicity": ethnicity,
                    "meritorious": meritorious,
                    "no_labour_capacity": cls in DEPRIVED_CLASSES and rng.random() < 0.08,
                    "social_assistance": rng.random() < 0.3,
                    "causes": " ".join(sorted(rng.sample(causes, rng.randint(1, 3))))
                    if cls in DEPRIVED_CLASSES
                    else None,
                    "support": " ".join(sorted(rng.sample(support, rng.randint(1, 3))))
                    if cls in DEPRIVED_CLASSES
                    else None,
                    # The links services/facts.link keeps (every fact counts: none is out of
                    # scope here; two periods, so nothing before the previous one).
                    "prev_class": before["poverty_class"] if before else None,
                    "prev_counted": before is not None,
                    "prev_approved": bool(before and before["approved"]),
                    "earlier_poor": False,
                    "earlier_near": False,
                    "earlier_poor_approved": False,
                    "earlier_near_approved": False,
                    "next_counted": False,
                    "next_approved": False,
                }
            )
            fact = out["poverty_facts"][-1]
            if before is not None:
                before["next_counted"], before["next_approved"] = True, fact["approved"]
            before = fact
    return out


def _submission(out: dict, sid: int, version_pk: int, state: str, submission: dict) -> None:
    when = _WHEN[submission["period"]]
    instance = f"uuid:{sid}"
    out["submissions"].append(
        {
            "id": sid,
            "instance_id": instance,
            "review_state": state,
            "created_at": when,
            **submission,
        }
    )
    out["submission_versions"].append(
        {
            "id": sid,
            "submission_id": sid,
            "form_pk": submission["form_pk"],
            "form_version_id": version_pk,
            "instance_id": instance,
            "xml": b"<data/>",
            "xml_sha256": "0" * 64,
            "created_at": when,
        }
    )


def _class(rng: random.Random, kind: str, dtts: bool) -> str:
    poor, near, medium = SHARES[kind]
    if dtts:
        poor, near = 2 * poor, 1.5 * near
    return _pick(rng, (("poor", poor), ("near_poor", near), ("medium", medium), ("not_poor", 1)))


def _deprivation_rate(cls: str) -> float:
    return {"poor": 0.45, "near_poor": 0.3, "medium": 0.12}.get(cls, 0.04)


def _pick(rng: random.Random, shares: Iterable[tuple[str, float]]) -> str:
    x = rng.random()
    for value, share in shares:
        x -= share
        if x < 0:
            return value
    return value


_WHEN = {p: dt.datetime(int(p), 10, 15, 8, tzinfo=dt.UTC) for p in PERIODS}


class _Writer:
    """Bulk inserts through the driver: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, db: Database):
        self.connection = db.engine.raw_connection()
        self.postgres = db.engine.dialect.name == "postgresql"
        if not self.postgres:
            # Submissions and their versions point at each other; the last step links them.
            self.connection.execute("PRAGMA foreign_keys=OFF")
            self.connection.execute("PRAGMA synchronous=OFF")

    def write(self, tables: dict[str, list[dict]]) -> None:
        cur = self.connection.cursor()
        for table, rows in tables.items():
            columns = list(rows[0])
            names = ", ".join(columns)
            if self.postgres:
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
            else:
                marks = ", ".join("?" * len(columns))
                cur.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608 (our table names)
                    [tuple(_sqlite(row[c]) for c in columns) for row in rows],
                )
        self.connection.commit()

    def finish(self) -> None:
        cur = self.connection.cursor()
        cur.execute("UPDATE submissions SET current_version_id = id")
        cur.execute("ANALYZE")
        self.connection.commit()
        if not self.postgres:
            self.connection.execute("PRAGMA foreign_keys=ON")
        self.connection.close()


def _sqlite(value):
    """As SQLAlchemy stores it on SQLite (datetimes as text)."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


if __name__ == "__main__":
    main()
