"""Cost of checking a poverty review against its form, in process (no HTTP, no database).

What it measures
    The shipped ``poverty_review`` form goes through pyxform once; its field schema is what ingest
    validates against. Each JavaRosa-filled sample (tests/unit/domain/data/pov1.xml: 5 members,
    pov2.xml: 4 members) is then validated N times by ``khudan.xforms.validate.validate``: types,
    choices (the area cascade read from an ``areas.csv`` of every province and commune in the
    official registry, about 3,300 rows, as an admin's phone gets it), required-when-relevant and
    every constraint, XPath evaluated by elementpath. It prints milliseconds per submission (mean
    and median) for validation alone, and for parsing the XML plus validation, plus the domain
    checks.

How to run
    python bench/validate.py          # 500 iterations per sample, a few seconds
    python bench/validate.py -n 2000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import statistics
import time
from pathlib import Path

from khudan.domain import checks
from khudan.services import forms
from khudan.services.areas import OFFICIAL_CSV
from khudan.xforms.answers import read_answers
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission
from khudan.xforms.validate import validate

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "tests" / "unit" / "domain" / "data"
TODAY = dt.date(2026, 11, 29)


def areas_csv() -> bytes:
    """name,label,level,parent,kind for every official province and commune, plus the samples'
    residential areas (the file khudan writes for an admin)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", "level", "parent", "kind"])
    provinces: dict[str, str] = {}
    communes = []
    with OFFICIAL_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            provinces[row["province_code"]] = row["province_full_name"]
            code, name, kind = row["unit_code"], row["unit_full_name"], row["unit_type"]
            communes.append([code, name, "commune", row["province_code"], kind])
    for code, name in sorted(provinces.items()):
        writer.writerow([code, name, "province", "", ""])
    writer.writerows(communes)
    for code, commune in (("21607-T01", "21607"), ("21607-T02", "21607"), ("21553-K01", "21553")):
        writer.writerow([code, code, "area", commune, ""])
    return out.getvalue().encode("utf-8")


def timed(n: int, work) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=500, help="iterations per sample")
    args = parser.parse_args()
    xform, _ = forms.convert_xlsform((REPO / "forms" / "poverty_review.xlsx").read_bytes())
    fields = read_xform(xform).fields
    media = {"areas.csv": areas_csv()}
    rows = media["areas.csv"].count(b"\n") - 1
    print(f"poverty_review: {len(fields)} schema entries; areas.csv {rows} rows")
    for name in ("pov1.xml", "pov2.xml"):
        xml = (SAMPLES / name).read_bytes()
        root = read_submission(xml).root
        issues = validate(root, fields, media=media, today=TODAY)  # warm caches

        def check_only(root=root):
            validate(root, fields, media=media, today=TODAY)

        def parse_and_check(xml=xml):
            info = read_submission(xml)
            found = validate(info.root, fields, media=media, today=TODAY)
            a = read_answers(info.root, fields)
            checks.check(a.values, a.repeats, a.paths, found)

        for label, work in (("validate", check_only), ("parse+validate+checks", parse_and_check)):
            times = timed(args.n, work)
            print(
                f"{name} {label:>22}: mean {statistics.fmean(times):6.2f} ms, "
                f"median {statistics.median(times):6.2f} ms per submission "
                f"({args.n} runs, {len(issues)} issues)"
            )


if __name__ == "__main__":
    main()
