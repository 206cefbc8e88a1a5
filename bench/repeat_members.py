"""Cost of checking one submission against its form as its repeat grows (no HTTP, no database).

What it measures
    tests/forms/big_repeat.md goes through pyxform once. For each size, a submission with that many
    repeat members (each asking ``position(..)`` in a constraint and a calculate, and its own age
    in a relevance) is parsed and validated, and the seconds are printed with the seconds per
    1,000 members: that figure stays flat when the work is linear in the members (before the
    position() fix, 2,000 members took 12 s and 10,000 over a minute).

How to run
    python bench/repeat_members.py                 # 1,000 to 10,000 members
    python bench/repeat_members.py 500 2000
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from xlsform import form_md, xlsx_bytes  # noqa: E402 (the tests' XLSForm writer)

from khudan.services.forms import convert_xlsform  # noqa: E402
from khudan.xforms.schema import read_xform  # noqa: E402
from khudan.xforms.submission import read_submission  # noqa: E402
from khudan.xforms.validate import validate  # noqa: E402


def submission(members: int) -> bytes:
    body = "".join(
        f"<member><m_name>n{i}</m_name><m_age>{i % 90}</m_age><m_index>{i + 1}</m_index>"
        "<m_school/></member>"
        for i in range(members)
    )
    return (
        f'<data id="big_repeat" version="1">{body}'
        "<meta><instanceID>uuid:1</instanceID></meta></data>"
    ).encode()


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1_000, 2_000, 5_000, 10_000]
    fields = read_xform(convert_xlsform(xlsx_bytes(form_md("big_repeat", version="1")))[0]).fields
    print("members  seconds  s/1000 members")
    for n in sizes:
        xml = submission(n)
        started = time.perf_counter()
        validate(read_submission(xml).root, fields, today=dt.date(2026, 1, 1))
        took = time.perf_counter() - started
        print(f"{n:7,}  {took:7.2f}  {took / n * 1000:7.3f}")


if __name__ == "__main__":
    main()
