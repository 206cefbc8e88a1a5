"""Cost of turning a poverty review into a classified household, in process (no HTTP).

What it measures
    In a throw-away SQLite database (or ``--database-url``) with the official area registry and the
    shipped ``poverty_review`` form, it stores N JavaRosa-filled poverty reviews through
    ``services.ingest`` (each a new household: XML parsing, the 12 indicators, classification, the
    fact row, one transaction) and then recomputes every fact with ``facts.rebuild``. It prints the
    time per submission for ingest with and without the facts step (the same XML sent as a form that
    feeds no domain), and the time per household for a rebuild.

How to run
    python bench/facts.py            # 2,000 households, about half a minute
    python bench/facts.py -n 10000
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from khudan.db import Database
from khudan.services import areas, facts, forms, ingest, jobs
from khudan.storage import LocalStorage

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "tests" / "unit" / "domain" / "data" / "pov1.xml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2_000, help="households to store")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="khudan-bench-facts-") as tmp:
        db = Database(args.database_url or f"sqlite:///{tmp}/bench.db")
        db.migrate()
        storage = LocalStorage(Path(tmp) / "media")
        with db.session() as s:
            areas.load_official(s)
            areas.import_areas(s, [{"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"}])
            s.commit()
        forms.publish_xlsform(db, storage, REPO / "forms" / "poverty_review.xlsx", validate=False)
        # The same XForm under another form_id: it feeds no domain, so the difference is the facts.
        plain = (REPO / "forms" / "poverty_review.xlsx").read_bytes()
        xml, _ = forms.convert_xlsform(plain)
        forms.publish(
            db,
            storage,
            xml=xml.replace(b'id="poverty_review"', b'id="plain_review"'),
            validate=False,
        )
        template = SAMPLE.read_text(encoding="utf-8").replace("-T01<", ".T01<")
        client = ingest.Client(user_id=None)
        work = jobs.Context.plain(db, storage)

        def submit(form_id: str, i: int) -> None:
            text = template.replace("fa22d4b7-ce38-4004-900a-b698b0fd8ee7", str(uuid.uuid4()))
            text = text.replace("NC-T01-017", f"NC-T01-{i:06d}")
            text = text.replace('id="poverty_review"', f'id="{form_id}"')
            outcome = ingest.ingest(db, storage, text.encode(), [], client)
            jobs.run_now(work, outcome.queued)  # the checks and facts, as a worker runs them

        timings = {}
        for form_id in ("plain_review", "poverty_review"):
            start = time.perf_counter()
            for i in range(args.n):
                submit(form_id, i)
            timings[form_id] = (time.perf_counter() - start) / args.n * 1000
        start = time.perf_counter()
        rebuilt = facts.rebuild(db, form_id="poverty_review")
        rebuild_ms = (time.perf_counter() - start) / max(rebuilt, 1) * 1000
        db.dispose()

    print(f"households: {args.n} ({db.engine.dialect.name})")
    print(f"ingest, form feeding no domain:   {timings['plain_review']:.2f} ms/submission")
    print(f"ingest, poverty_review (facts):   {timings['poverty_review']:.2f} ms/submission")
    extra = timings["poverty_review"] - timings["plain_review"]
    print(f"facts step on ingest:             {extra:.2f} ms/household")
    print(f"facts rebuild:                    {rebuild_ms:.2f} ms/household ({rebuilt} rebuilt)")


if __name__ == "__main__":
    main()
