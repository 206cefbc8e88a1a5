"""Checks of a submission that need the database, run by ingest in its transaction.

- ``out-of-scope`` (CHK-03): the household's area (province, commune, residential area codes
  from the answers) is outside the area subtrees of the collector who sent it. Admins and
  designers see everything; a submission without a known sender is not checked.
- ``duplicate-household`` (CHK-04): another submission of the same form names the same household
  in the same period: same ``(period, commune_code, household_code)`` on the ``submissions`` rows,
  which ingest fills from the answers (``Answers.place()``). Rejected submissions do not count,
  and an edit is the same submission, so it never duplicates itself. Both are flagged: the issue
  for this submission is returned, and the same problem is added in this transaction to the
  current version of each other one (moved to hasIssues if it was only received; a reviewed one
  keeps its state and shows the new problem). Two phones sending the same household at the same
  instant are serialised by ingest's write lock on SQLite; on PostgreSQL the second of two
  concurrent transactions may not see the first, and the pair is flagged by the next submission
  or a facts rebuild, not by this check.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.checks import Issue
from ..models import ReviewState, Submission, SubmissionProblem, User
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
    user = session.get(User, submitter_id)
    if user is None:
        return []
    if Scope.of(session, user).allows(province, commune, area):
        return []
    where = " / ".join(code for code in (province, commune, area) if code)
    return [
        Issue(
            paths.get("area_code") or paths.get("commune") or "area_code",
            "out-of-scope",
            where,
            f"Địa bàn {where} không thuộc địa bàn được giao cho người thu thập {user.username}.",
            f"The area {where} is outside the areas assigned to collector {user.username}.",
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
    the matching problems of the others are added to the session (flushed, not committed)."""
    period, commune, code = (place.get(k) for k in ("period", "commune_code", "household_code"))
    if not (period and commune and code):
        return []
    others = session.execute(
        select(Submission.id, Submission.instance_id, Submission.current_version_id)
        .where(
            Submission.form_pk == form_pk,
            Submission.period == period,
            Submission.commune_code == commune,
            Submission.household_code == code,
            Submission.id != submission_id,
            Submission.review_state != ReviewState.REJECTED.value,
        )
        .order_by(Submission.id)
    ).all()
    if not others:
        return []
    this_instance = session.scalar(
        select(Submission.instance_id).where(Submission.id == submission_id)
    )
    path = paths.get("household_code") or paths.get("respondent_household") or "household_code"
    for other_id, _instance, version_id in others:
        if version_id is None:
            continue
        flagged = session.scalar(
            select(SubmissionProblem.id).where(
                SubmissionProblem.version_id == version_id,
                SubmissionProblem.rule == DUPLICATE,
                SubmissionProblem.value == this_instance,
            )
        )
        if flagged is None:
            session.add(
                SubmissionProblem(
                    version_id=version_id,
                    path=path,
                    rule=DUPLICATE,
                    value=this_instance,
                    related_submission_id=submission_id,
                    **_messages(code, period, this_instance),
                )
            )
        session.execute(
            update(Submission)
            .where(Submission.id == other_id, Submission.review_state == ReviewState.RECEIVED.value)
            .values(review_state=ReviewState.HAS_ISSUES.value)
        )
    session.flush()
    return [
        Issue(path, DUPLICATE, instance, **_messages(code, period, instance), related=other_id)
        for other_id, instance, _version in others
    ]


def _messages(code: str, period: str, other: str) -> dict[str, str]:
    return {
        "message_vi": f"Hộ {code} kỳ {period} đã có trong một phiếu khác ({other}): "
        "có thể bị trùng, cần kiểm tra và từ chối một phiếu.",
        "message_en": f"Household {code} in period {period} is also in another submission "
        f"({other}): a possible duplicate; check and reject one of them.",
    }
