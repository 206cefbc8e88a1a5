"""Checks that need the database (server/services/checks.py): CHK-03 area outside the collector's
scope, CHK-04 the same household in two submissions of one period. Real forms, real database,
submissions received by the ingest service as a phone sends them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from factories import domain_sample
from sqlalchemy import event, select, update

from khudan.models import ReviewState, Submission, SubmissionProblem
from khudan.services import areas, checks, forms, ingest, jobs
from khudan.xforms.answers import read_answers
from khudan.xforms.schema import read_xform
from khudan.xforms.submission import read_submission

FORMS = Path(__file__).resolve().parents[2] / "forms"
FIRST = "uuid:fa22d4b7-ce38-4004-900a-b698b0fd8ee7"  # pov1.xml's instanceID
SECOND = "uuid:fa22d4b7-0000-4004-900a-b698b0fd8ee7"


@pytest.fixture
def registry(db, official_areas):
    with db.session() as s:
        areas.import_areas(
            s,
            [
                {"commune_code": "21607", "code": "T01", "name": "Thôn Bắc"},
                {"commune_code": "21607", "code": "T02", "name": "Thôn Nam"},
            ],
        )
        s.commit()


@pytest.fixture
def poverty(db, storage):
    forms.publish_xlsform(db, storage, FORMS / "poverty_review.xlsx", validate=False)


@cache
def poverty_fields() -> list[dict]:
    return read_xform(forms.convert_xlsform((FORMS / "poverty_review.xlsx").read_bytes())[0]).fields


def answers(xml: bytes):
    return read_answers(read_submission(xml).root, poverty_fields())


def receive(db, storage, xml: bytes) -> int:
    """Store a submission and run its job at once (checks and facts), as a worker would."""
    outcome = ingest.ingest(db, storage, xml, [], ingest.Client(None))
    jobs.run_now(jobs.Context.plain(db, storage), outcome.queued)
    return outcome.submission_id


# -- CHK-03 scope -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "assigned", "area", "flagged"),
    [
        pytest.param("collector", ("21607.T01",), "21607.T01", False, id="CHK-03-own-area"),
        pytest.param("collector", ("21607.T01",), "21607.T02", True, id="CHK-03-other-area"),
        pytest.param("collector", ("21607",), "21607.T02", False, id="CHK-03-own-commune"),
        pytest.param("collector", ("52",), "21607.T02", False, id="CHK-03-own-province"),
        pytest.param("collector", (), "21607.T01", True, id="CHK-03-no-areas"),
        pytest.param("admin", (), "21607.T02", False, id="CHK-03-admin-sees-all"),
    ],
)
def test_area_outside_the_collectors_scope(db, registry, make_user, role, assigned, area, flagged):
    user = make_user("thu", role, areas=assigned)
    a = answers(domain_sample("pov1.xml", **{"21607.T01<": f"{area}<"}))
    with db.session() as s:
        issues = checks.scope(s, user.id, a.place(), a.paths)
    assert [(i.path, i.rule, i.value) for i in issues] == (
        [("/data/household/area_code", "out-of-scope", f"52 / 21607 / {area}")] if flagged else []
    )


def test_scope_is_not_checked_without_a_known_sender(db, registry):
    a = answers(domain_sample("pov1.xml"))
    with db.session() as s:
        assert checks.scope(s, None, a.place(), a.paths) == []
        assert checks.scope(s, 999_999, a.place(), a.paths) == []


# -- CHK-04 duplicate household ----------------------------------------------------------------


def duplicate_check(db, submission_id: int, xml: bytes):
    a = answers(xml)
    with db.session() as s:
        form_pk = s.scalar(select(Submission.form_pk).where(Submission.id == submission_id))
        issues = checks.duplicate_household(
            s, form_pk=form_pk, submission_id=submission_id, place=a.place(), paths=a.paths
        )
        s.commit()
    return issues


def problems_of(db, submission_id: int) -> list[tuple[str, str | None]]:
    with db.session() as s:
        version = s.scalar(
            select(Submission.current_version_id).where(Submission.id == submission_id)
        )
        return [
            (p.rule, p.value)
            for p in s.scalars(
                select(SubmissionProblem).where(SubmissionProblem.version_id == version)
            )
        ]


def state_of(db, submission_id: int) -> str:
    with db.session() as s:
        return s.scalar(select(Submission.review_state).where(Submission.id == submission_id))


def test_same_household_twice_in_a_period_flags_both(db, storage, registry, poverty):
    first = receive(db, storage, domain_sample("pov1.xml"))
    assert state_of(db, first) == ReviewState.RECEIVED, problems_of(db, first)
    xml = domain_sample("pov1.xml", **{FIRST: SECOND})
    second = receive(db, storage, xml)  # ingest runs the check
    assert problems_of(db, first) == [("duplicate-household", SECOND)]
    assert problems_of(db, second) == [("duplicate-household", FIRST)]
    assert state_of(db, first) == state_of(db, second) == ReviewState.HAS_ISSUES

    issues = duplicate_check(db, second, xml)
    assert [(i.path, i.rule, i.value) for i in issues] == [
        ("/data/household/household_code", "duplicate-household", FIRST)
    ]
    assert "NC-T01-017" in issues[0].message_vi and "2025" in issues[0].message_en
    # Checking again (e.g. a resend) does not add the problem to the other one twice.
    assert problems_of(db, first) == [("duplicate-household", SECOND)]


def test_a_reviewed_submission_keeps_its_state_and_shows_the_problem(
    db, storage, registry, poverty
):
    first = receive(db, storage, domain_sample("pov1.xml"))
    with db.session() as s:
        s.execute(update(Submission).where(Submission.id == first).values(review_state="approved"))
        s.commit()
    xml = domain_sample("pov1.xml", **{FIRST: SECOND})
    duplicate_check(db, receive(db, storage, xml), xml)
    assert state_of(db, first) == ReviewState.APPROVED
    assert problems_of(db, first) == [("duplicate-household", SECOND)]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"<period>2025<": "<period>2026<"}, id="another-period"),
        pytest.param({"NC-T01-017": "NC-T01-018"}, id="another-household"),
    ],
)
def test_other_households_and_periods_are_not_duplicates(db, storage, registry, poverty, change):
    first = receive(db, storage, domain_sample("pov1.xml"))
    xml = domain_sample("pov1.xml", **{FIRST: SECOND, **change})
    assert duplicate_check(db, receive(db, storage, xml), xml) == []
    assert problems_of(db, first) == []


def test_a_rejected_submission_is_not_a_duplicate(db, storage, registry, poverty):
    first = receive(db, storage, domain_sample("pov1.xml"))
    with db.session() as s:
        s.execute(update(Submission).where(Submission.id == first).values(review_state="rejected"))
        s.commit()
    xml = domain_sample("pov1.xml", **{FIRST: SECOND})
    assert duplicate_check(db, receive(db, storage, xml), xml) == []


def test_a_household_sent_many_times_costs_the_same_each_time(db, storage, registry, poverty):
    """Issue 12: 900 submissions of one household code once wrote 269,100 problem rows and took
    seconds each. Now each member of the group gets one problem, naming the first; the first
    gets one; the 30th submission runs as many statements as the 5th."""
    counted: list[str] = []

    def count(conn, cursor, statement, *args):
        counted.append(statement)

    def send(n: int) -> int:
        xml = domain_sample("pov1.xml", **{FIRST: f"uuid:00000000-0000-4000-8000-{n:012d}"})
        counted.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            return receive(db, storage, xml)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)

    ids = [send(n) for n in range(1, 5)]
    fifth = (send(5), len(counted))
    for n in range(6, 30):
        ids.append(send(n))
    thirtieth = (send(30), len(counted))
    assert thirtieth[1] == fifth[1]
    with db.session() as s:
        rows = s.execute(
            select(SubmissionProblem.version_id, SubmissionProblem.related_submission_id).where(
                SubmissionProblem.rule == "duplicate-household"
            )
        ).all()
    assert len(rows) == 30  # one per member, not one per pair (435)
    first = ids[0]
    assert sorted(r.related_submission_id for r in rows).count(first) == 29
    assert [r.related_submission_id for r in rows if r.version_id == first] == [ids[1]]
