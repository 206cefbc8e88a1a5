"""Checks of a submission that need the database, run by ingest in its transaction.

- ``out-of-scope`` (CHK-03): the household's area (province, commune, residential area codes
  from the answers) is outside the area subtrees of the collector who sent it. Admins and
  designers see everything; a submission without a known sender is not checked.
- ``duplicate-household`` (CHK-04): another submission of the same form names the same household
  in the same period: same ``(period, commune_code, household_code)`` on the ``submissions`` rows,
  which ingest fills from the answers (``Answers.place()``). Rejected submissions do not count,
  and an edit is the same submission, so it never duplicates itself. The submissions of one
  household form a group: each carries one problem naming the group's first submission, and the
  first one, flagged when the second arrives, names the second (moved to hasIssues if it was
  only received; a reviewed one keeps its state and shows the new problem). The thousandth
  member costs what the second did; the group is listed on each member's page. Two phones sending the same household at the same
  instant are serialised by ingest's write lock on SQLite; on PostgreSQL the second of two
  concurrent transactions may not see the first, and the pair is flagged by the next submission
  or a facts rebuild, not by this check.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..domain.checks import Issue
from ..models import ReviewState, Submission, SubmissionProblem
from . import batch_reads
from .scope import Scope

DUPLICATE = "duplicate-household"


def scope(
    session: Session,
    submitter_id: int | None,
    place: Mapping[str, str | None],
    paths: Mapping[str, str],
) -> list[Issue]:
    """CHK-03. ``place`` is ``Answers.place()``; ``paths`` is ``Answers.paths``."""
    province, commune, area = (place.get(k) for k in ("province_code", "commune_code", "area_code"))
    if submitter_id is None or not (province or commune or area):
        return []  # decided without a query: most forms ask no area
    found = batch_reads.once(
        ("scope", submitter_id), lambda: Scope.of_user_id(session, submitter_id)
    )
    if found is None:
        return []
    username, allowed = found
    if allowed.allows(province, commune, area):
        return []
    where = " / ".join(code for code in (province, commune, area) if code)
    return [
        Issue(
            paths.get("area_code") or paths.get("commune") or "area_code",
            "out-of-scope",
            where,
            f"Địa bàn {where} không thuộc địa bàn được giao cho người thu thập {username}.",
            f"The area {where} is outside the areas assigned to collector {username}.",
        )
    ]


def duplicate_household(
    session: Session,
    *,
    form_pk: int,
    submission_id: int,
    place: Mapping[str, str | None],
    paths: Mapping[str, str],
) -> list[Issue]:
    """CHK-04, for a submission already inserted (its id known): the issue for this submission;
    the first submission's problem, if it has none yet, is added to the session (flushed, not
    committed).

    The submissions naming one household in one period form its group (found by the
    ``ix_submissions_household`` index, shown on each member's page); each member carries one
    problem, naming the group's first submission (the first names the second). A new member
    costs the same few statements however many the group already holds: the first of the
    others (LIMIT 1), and whether the first is flagged already."""
    period, commune, code = (place.get(k) for k in ("period", "commune_code", "household_code"))
    if not (period and commune and code):
        return []
    first = session.execute(
        _FIRST_OF_GROUP,
        {
            "form_pk": form_pk,
            "period": period,
            "commune": commune,
            "code": code,
            "submission_id": submission_id,
        },
    ).first()
    if first is None:
        return []
    first_id, first_instance, first_version = first
    path = paths.get("household_code") or paths.get("respondent_household") or "household_code"
    if first_version is not None:
        flagged = session.scalar(
            select(SubmissionProblem.id)
            .where(
                SubmissionProblem.version_id == first_version,
                SubmissionProblem.rule == DUPLICATE,
            )
            .limit(1)
        )
        if flagged is None:
            this_instance = session.scalar(
                select(Submission.instance_id).where(Submission.id == submission_id)
            )
            session.add(
                SubmissionProblem(
                    version_id=first_version,
                    path=path,
                    rule=DUPLICATE,
                    value=this_instance,
                    related_submission_id=submission_id,
                    **_messages(code, period, this_instance),
                )
            )
            session.execute(
                update(Submission)
                .where(
                    Submission.id == first_id,
                    Submission.review_state == ReviewState.RECEIVED.value,
                )
                .values(review_state=ReviewState.HAS_ISSUES.value)
            )
            session.flush()
    return [
        Issue(
            path,
            DUPLICATE,
            first_instance,
            **_messages(code, period, first_instance),
            related=first_id,
        )
    ]


def same_household(form_pk, period, commune, code) -> list:
    """WHERE clauses: the submissions of a form naming one household in one period (its group)."""
    return [
        Submission.form_pk == form_pk,
        Submission.period == period,
        Submission.commune_code == commune,
        Submission.household_code == code,
    ]


def _messages(code: str, period: str, other: str) -> dict[str, str]:
    return {
        "message_vi": f"Hộ {code} kỳ {period} đã có trong một phiếu khác ({other}): "
        "có thể bị trùng, cần kiểm tra và từ chối một phiếu.",
        "message_en": f"Household {code} in period {period} is also in another submission "
        f"({other}): a possible duplicate; check and reject one of them.",
    }


# Built once (every job of a domain form asks it): the group's first other member.
_FIRST_OF_GROUP = (
    select(Submission.id, Submission.instance_id, Submission.current_version_id)
    .where(
        *same_household(
            bindparam("form_pk"), bindparam("period"), bindparam("commune"), bindparam("code")
        ),
        Submission.id != bindparam("submission_id"),
        Submission.review_state != ReviewState.REJECTED.value,
    )
    .order_by(Submission.id)
    .limit(1)
)
