"""Ingest keeps what it reads of a form version per process (server/services/form_cache.py): a
submission must still be checked against what is published now, never against a kept copy of an
older version's choices or of a media file since replaced."""

from __future__ import annotations

import io
import uuid

from factories import household_xml
from sqlalchemy import select
from xlsform import form_md, xlsx_bytes

from khudan.models import SubmissionProblem, SubmissionVersion
from khudan.services import form_cache, forms, ingest, jobs

NEW_VILLAGES = "name,label\nt3,Thôn Tân Lập\n".encode()


def problems(db, submission_id: int) -> set[tuple[str, str, str | None]]:
    with db.session() as s:
        return {
            (p.path, p.rule, p.value)
            for p in s.scalars(
                select(SubmissionProblem)
                .join(SubmissionVersion, SubmissionVersion.id == SubmissionProblem.version_id)
                .where(SubmissionVersion.submission_id == submission_id)
            )
        }


def receive(db, storage, xml: bytes) -> int:
    """Store a submission and run its job at once (checks and facts), as a worker would."""
    outcome = ingest.ingest(db, storage, xml, [], ingest.Client(None))
    jobs.run_now(jobs.Context.plain(db, storage), outcome.queued)
    return outcome.submission_id


def publish_choices(db, storage, version: str, drop_no: bool = False) -> None:
    """tests/forms/validate_choices.md as ``version``; without the choice 'no' if ``drop_no``."""
    md = form_md("validate_choices").replace(
        "| validate_choices | 1 |", f"| validate_choices | {version} |"
    )
    if drop_no:
        md = md.replace("| | yes_no | no | Không | |\n", "")
    xml, warnings = forms.convert_xlsform(xlsx_bytes(md))
    forms.publish(db, storage, xml=xml, warnings=warnings, validate=False)


def smoker(version: str, answer: str) -> bytes:
    return (
        f'<data id="validate_choices" version="{version}"><smoker>{answer}</smoker><fruits/>'
        f"<ranking/><province/><commune/><village/>"
        f"<meta><instanceID>uuid:{uuid.uuid4()}</instanceID></meta></data>"
    ).encode()


def test_a_new_version_is_checked_against_its_own_choices(db, storage):
    publish_choices(db, storage, "1")
    assert problems(db, receive(db, storage, smoker("1", "no"))) == set()
    publish_choices(db, storage, "2", drop_no=True)

    assert problems(db, receive(db, storage, smoker("2", "no"))) == {
        ("/data/smoker", "choice", "no")
    }
    # Phones still on version 1 are checked against version 1's list, not the newest.
    assert problems(db, receive(db, storage, smoker("1", "no"))) == set()


def test_a_new_version_with_another_media_list_is_checked_against_it(db, storage, publish):
    publish("household", version="1")
    assert problems(db, receive(db, storage, household_xml())) == set()
    publish("household", version="2", media={"villages.csv": NEW_VILLAGES})

    assert problems(db, receive(db, storage, household_xml(version="2"))) == {
        ("/data/village", "choice", "t1")
    }
    assert problems(db, receive(db, storage, household_xml(version="1"))) == set()


def test_a_replaced_media_file_is_used_from_the_next_submission_on(db, storage, publish):
    publish("household")
    assert problems(db, receive(db, storage, household_xml())) == set()

    forms.put_media(db, storage, "household", "villages.csv", io.BytesIO(NEW_VILLAGES))

    assert problems(db, receive(db, storage, household_xml())) == {
        ("/data/village", "choice", "t1")
    }


def test_the_caches_are_bounded():
    kept = form_cache._Bounded(2)
    for key in ("a", "b", "a", "c"):  # "a" used again, so "b" is the least recently used
        kept.put(key, key.upper())
    assert [kept.get(k) for k in ("a", "b", "c")] == ["A", None, "C"]
