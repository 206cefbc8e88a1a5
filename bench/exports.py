"""How long the XLSX export of a form's submissions takes, and how much memory it needs.

What it measures
    In a throw-away SQLite database (or ``--database-url``, an empty one) with the official area
    registry and the shipped ``poverty_review`` form, it writes N poverty reviews the way ingest
    stores them (a submission row, a version row holding the XML byte for byte, the area codes,
    period and household on the submission), but in bulk: each XML is the JavaRosa-filled sample
    ``tests/unit/domain/data/pov1.xml`` (5 members, about 6.5 kB) with its own instanceID,
    household code, head's name and thôn. Then, in a fresh child process, it exports all of them
    as an admin would (``services.submission_export``: the main sheet, about 85 columns, and the
    member sheet, 5 rows per submission) and reports the time and the child's peak resident memory
    (its RSS high-water mark, interpreter included).

Targets (issue 6): 100,000 submissions to XLSX in under 60 s, peak memory under 300 MB.

How to run
    python bench/exports.py                 # 100,000 submissions (about 650 MB of XML)
    python bench/exports.py -n 20000
    python bench/exports.py --database-url postgresql+psycopg://postgres@127.0.0.1:54329/bench
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import multiprocessing
import resource
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, select, update

from khudan.db import Database
from khudan.models import ReviewState, Submission, SubmissionVersion
from khudan.services import areas, forms, submission_export, users
from khudan.storage import LocalStorage

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "unit" / "domain" / "data" / "pov1.xml"
SAMPLE_ID = "fa22d4b7-ce38-4004-900a-b698b0fd8ee7"
THON = ("T01", "T02", "T03", "T04")
CHUNK = 2_000  # rows per INSERT
TARGET_SECONDS = 60
TARGET_MB = 300


def export_benchmark(n: int = 100_000, database_url: str | None = None) -> dict:
    """Store ``n`` synthetic poverty reviews, export them to XLSX in a child process, and return
    the figures: submissions, database, seconds to store, seconds (wall clock and CPU) to export,
    submissions per second, rows and size of the file, peak memory (MB) and whether the targets
    are met."""
    with tempfile.TemporaryDirectory(prefix="khudan-bench-exports-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        db = Database(url)
        db.migrate()
        storage = LocalStorage(Path(tmp) / "media")
        dialect = db.engine.dialect.name
        start = time.perf_counter()
        _store(db, storage, n)
        stored = time.perf_counter() - start
        db.dispose()
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
            figures = pool.submit(_export, url, str(Path(tmp) / "export.xlsx")).result()
    seconds = figures["seconds"]
    return {
        "submissions": n,
        "database": dialect,
        "store_seconds": round(stored, 1),
        "xlsx_seconds": round(seconds, 1),
        "xlsx_cpu_seconds": round(figures["cpu_seconds"], 1),  # less affected by a busy machine
        "submissions_per_second": round(n / seconds) if seconds else None,
        "xlsx_rows": figures["rows"],
        "xlsx_mb": round(figures["bytes"] / 2**20, 1),
        "peak_rss_mb": round(figures["peak_rss_mb"], 1),
        "rss_before_export_mb": round(figures["rss_before_mb"], 1),
        "meets_time_target": seconds < TARGET_SECONDS * n / 100_000,
        "meets_memory_target": figures["peak_rss_mb"] < TARGET_MB,
    }


def _store(db: Database, storage: LocalStorage, n: int) -> None:
    """The registry, the form, a collector and ``n`` submissions written as ingest writes them."""
    with db.session() as s:
        areas.load_official(s)
        areas.import_areas(
            s, [{"commune_code": "21607", "code": c, "name": f"Thôn {c}"} for c in THON]
        )
        collector = users.create_user(s, "thu", "collector", "correct horse", ["21607"])
        s.commit()
        collector_id = collector.id
    published = forms.publish_xlsform(
        db, storage, REPO / "forms" / "poverty_review.xlsx", validate=False
    )
    template = SAMPLE.read_text(encoding="utf-8").replace("-T01<", ".T01<")
    with db.session() as s:
        form = forms.get_form(s, published.form_id)
        form_pk, version_pk = form.id, form.current_version_id
    for first in range(1, n + 1, CHUNK):
        numbers = range(first, min(first + CHUNK, n + 1))
        subs, versions = [], []
        for i in numbers:
            thon = THON[i % len(THON)]
            instance_id = f"uuid:{uuid.UUID(int=i)}"
            household = f"NC-{thon}-{i:06d}"
            xml = (
                template.replace(SAMPLE_ID, instance_id.removeprefix("uuid:"))
                .replace("NC-T01-017", household)
                .replace("21607.T01", f"21607.{thon}")
                .replace("Nguyễn Văn Hải</head_name>", f"Nguyễn Văn {i}</head_name>")
                .encode()
            )
            subs.append(
                {
                    "id": i,
                    "form_pk": form_pk,
                    "instance_id": instance_id,
                    "province_code": "52",
                    "commune_code": "21607",
                    "area_code": f"21607.{thon}",
                    "period": "2025",
                    "household_code": household,
                    "review_state": ReviewState.RECEIVED.value,
                    "submitter_id": collector_id,
                }
            )
            versions.append(
                {
                    "id": i,
                    "submission_id": i,
                    "form_pk": form_pk,
                    "form_version_id": version_pk,
                    "instance_id": instance_id,
                    "instance_name": f"{household} - Nguyễn Văn {i}",
                    "xml": xml,
                    "xml_sha256": hashlib.sha256(xml).hexdigest(),
                    "submitter_id": collector_id,
                }
            )
        with db.session() as s:
            s.execute(insert(Submission), subs)
            s.execute(insert(SubmissionVersion), versions)
            s.execute(
                update(Submission)
                .where(Submission.id.in_(list(numbers)))
                .values(current_version_id=Submission.id)
            )
            s.commit()


def _export(url: str, path: str) -> dict:
    """In the child: the export an admin asks for, timed; and this process's peak memory."""
    db = Database(url)
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    with db.session() as s:
        export = submission_export.prepare(
            s, select(Submission), "poverty_review", submission_export.Options()
        )
    rows = 0

    def counted():
        nonlocal rows
        for item in submission_export.rows(db, export, typed=True):
            rows += 1
            yield item

    with open(path, "wb") as out:
        submission_export.write_xlsx(export, counted(), out)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.dispose()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": rows,
        "bytes": Path(path).stat().st_size,
        "peak_rss_mb": _rss_mb(),
        "rss_before_mb": before,
    }


def _rss_mb() -> float:
    """This process's peak resident memory since it started: VmHWM, or where there is no /proc
    the same high-water mark from getrusage. The child is spawned, not forked, so neither
    counts anything of the parent's (the database writes before the export)."""
    try:
        status = Path("/proc/self/status").read_text()
        return (
            next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
            / 1024
        )
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="submissions to store and export")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    for name, value in export_benchmark(args.n, args.database_url).items():
        print(f"{name:24} {value}")


if __name__ == "__main__":
    main()
