"""From a submission of a domain form to per-household facts, in the ingest transaction.

A form feeds a domain by its ``form_id`` (the three shipped forms). The rules themselves are pure
functions in ``khudan.domain``; this module reads the answers, asks the area registry whether the
commune is urban or rural, calls the rules, and keeps one fact row per (period, household): the
one from the latest submission received. What it finds wrong becomes a problem on the submission,
never a refusal.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from ..domain import (
    characteristics,
    cultural_family,
    deprivation,
    periods,
    poverty,
    satisfaction,
)
from ..models import (
    CulturalFamilyFact,
    Form,
    FormVersion,
    PovertyFact,
    ReviewState,
    SatisfactionFact,
    Submission,
    SubmissionProblem,
    SubmissionVersion,
)
from ..models.facts import INDICATORS
from ..xforms.answers import Answers, read_answers
from ..xforms.submission import read_submission
from . import areas, batch_reads

DOMAIN_OF_FORM = {
    "poverty_review": "poverty",
    "cultural_family": "cultural_family",
    "satisfaction_survey": "satisfaction",
}

_PLACE = ("province", "commune", "area_code")
NAME_LENGTH = 200
_MEMBER = (
    "m_sex",
    "m_birth_year",
    "m_relation",
    "m_schooling",
    "m_education",
    "m_work",
    "m_contract",
    "m_health_insurance",
    "m_disability",
    "m_social_allowance",
    "m_child_nutrition",
)
_POVERTY = (
    "period",
    "review_kind",
    *_PLACE,
    "household_code",
    "head_name",
    "ethnic_minority",
    "household_size",
    "member",
    *_MEMBER,
    "wall",
    "column",
    "roof",
    "floor_area",
    "water_source",
    "latrine",
    "internet",
    "devices",
    "loudspeaker",
    "income_per_capita",
    "b1_score",
)


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    rule: str
    value: str | None
    message_vi: str
    message_en: str
    related: int | None = None  # another submission this is about (a reused photo's)


@dataclass(frozen=True, slots=True)
class Source:
    """The submission version the facts come from."""

    submission_id: int
    version_id: int
    submitted_at: dt.datetime
    approved: bool = False  # a submission received or edited just now never is
    out_of_scope: bool = False  # its collector was not assigned its area


def required_fields(form_id: str) -> tuple[str, ...]:
    """Field names a domain form must carry for its rules to work (checked at publish)."""
    domain = DOMAIN_OF_FORM.get(form_id)
    if domain == "poverty":
        indicators = {
            deprivation.form_field(i.id)
            for s in poverty.load_catalogue().standards
            for i in s.indicators
            if deprivation.form_field(i.id)
        }
        overrides = {f.replace("ind_", "ovr_", 1) for f in indicators}
        return (*_POVERTY, *sorted(indicators), *sorted(overrides))
    if domain == "cultural_family":
        catalogue = cultural_family.load_catalogue()
        return (
            "year",
            *_PLACE,
            "household_code",
            "head_name",
            *catalogue.criterion_ids,
            *catalogue.disqualifier_ids,
            "meeting_result",
        )
    if domain == "satisfaction":
        return (
            "period",
            *_PLACE,
            "respondent_household",
            "criteria_set",
            "agree",
            *satisfaction.load_sets().item_ids,
        )
    return ()


def missing_fields(form_id: str, fields: list[dict]) -> list[str]:
    names = {f["name"] for f in fields}
    return [name for name in required_fields(form_id) if name not in names]


def record(session: Session, form_id: str, answers: Answers, source: Source) -> list[Problem]:
    """Derive and keep the facts of one submission version; return the problems found."""
    return derive(session, form_id, answers, source).write(session)


@dataclass(frozen=True, slots=True)
class Derived:
    """A submission's facts worked out but not written yet: a job derives them before it takes
    the write lock that the other workers wait for, and writes them under it."""

    problems: list[Problem]
    keep: Callable[[Session], list[Problem]] | None = None
    household: tuple[type, str] | None = None  # (model, household key) whose facts keep reads

    @classmethod
    def keeping(cls, problems, model, a: Answers, period, household_code, source, values):
        """Facts to keep as one row of ``model`` for (period, household)."""
        key = _household_key(a, household_code)
        return cls(
            problems,
            functools.partial(_keep, model, a, period, household_code, source, values),
            (model, key) if key else None,
        )

    def write(self, session: Session) -> list[Problem]:
        """Keep the facts in ``session``; every problem found, in deriving and in keeping."""
        return self.problems + (self.keep(session) if self.keep else [])


def read_ahead(session: Session, derived: list[Derived]) -> None:
    """The facts the households of a batch of jobs have, in one statement per kind of fact
    instead of one a job (a round trip each on PostgreSQL), kept for their jobs to take
    (``batch_reads``): a job that writes a household's facts leaves the next job of the same
    household (any period: poverty facts are linked across periods) to read them again. Read
    in the transaction that writes them."""
    wanted: dict[type, set[str]] = {}
    for d in derived:
        if d.household is not None:
            model, key = d.household
            wanted.setdefault(model, set()).add(key)
    for model, keys in wanted.items():
        found: dict[str, list] = {key: [] for key in keys}
        for row in session.scalars(_facts_of_many(model), {"keys": sorted(keys)}):
            found[row.household_key].append(row)
        for key, rows in found.items():
            batch_reads.remember(("facts", model, key), rows)


def _household_key(a: Answers, household_code: str | None) -> str | None:
    """The household's key, "<commune code>/<household code>"; None when either is missing."""
    if not household_code or not a.get("commune"):
        return None
    return f"{a.get('commune')}/{household_code}"


def derive(session: Session, form_id: str, answers: Answers, source: Source) -> Derived:
    """The facts of one submission version and the problems found, reading only."""
    domain = DOMAIN_OF_FORM.get(form_id)
    if domain is None:
        return Derived([])
    try:
        return _RECORDERS[domain](session, answers, source)
    except (ValueError, LookupError) as exc:
        # An answer the rules do not cover (an unknown criteria set, a code outside yes/no): the
        # submission is kept and a supervisor sees why the household was not counted.
        return Derived(
            [
                Problem(
                    f"/{domain}",
                    "rules-not-applicable",
                    None,
                    f"Quy tắc không áp dụng được cho câu trả lời: {exc}",
                    f"The rules do not cover these answers: {exc}",
                )
            ]
        )


def _poverty(session: Session, a: Answers, source: Source) -> Derived:
    problems: list[Problem] = []
    catalogue = poverty.load_catalogue()
    period = a.get("period")
    year = _year(period)
    if year is None or not catalogue.has_year(year):
        return Derived(
            [
                _problem(
                    a,
                    "period",
                    "period-unknown",
                    period,
                    f"Kỳ rà soát '{period}' không có chuẩn nghèo tương ứng.",
                    f"Review period '{period}' has no poverty standard.",
                )
            ]
        )
    commune = a.get("commune")
    commune_type = areas.commune_type(session, commune)
    if commune_type is None:
        return Derived(
            [
                _problem(
                    a,
                    "commune",
                    "commune-unknown",
                    commune,
                    "Xã/phường không có trong danh mục địa bàn; chưa phân loại được hộ.",
                    "The commune is not in the area registry; the household is not "
                    "classified until it is (then run 'khudan facts rebuild').",
                )
            ]
        )
    kind = catalogue.area_kind(commune_type)
    standard = catalogue.national(year)
    household = deprivation.Household.from_answers(a.values, a.repeats.get("member", []), year)
    derived = deprivation.derive(household, standard)
    for indicator_id, value in derived.items():
        name = deprivation.form_field(indicator_id)
        said = a.get(name) if name else ""
        if value is not None and said in ("0", "1") and (said == "1") != value:
            problems.append(
                _problem(
                    a,
                    name,
                    "indicator-mismatch",
                    f"form={said} server={int(value)}",
                    f"Chỉ số {indicator_id}: biểu mẫu tính {said}, máy chủ tính {int(value)} "
                    "từ cùng câu trả lời (biểu mẫu cũ hoặc bị sửa?).",
                    f"Indicator {indicator_id}: the form computed {said}, the server {int(value)} "
                    "from the same answers (an old or altered form?).",
                )
            )
    final = deprivation.apply_overrides(derived, a.values)
    count = sum(1 for v in final.values() if v)
    income = _int(a.get("income_per_capita"))
    if income is None:
        problems.append(
            _problem(
                a,
                "income_per_capita",
                "income-missing",
                None,
                "Thiếu thu nhập bình quân; chưa phân loại được hộ.",
                "Income per person is missing; the household is not classified.",
            )
        )
        return Derived(problems)
    local = catalogue.local(a.get("province"), year)
    traits = characteristics.of(
        a.values, a.repeats.get("member", []), year, characteristics.load_catalogue()
    )
    values = {
        "review_kind": a.get("review_kind") or None,
        "head_name": _name(a.get("head_name")),
        "area_kind": kind.value,
        "ethnic_minority": traits.ethnic_minority,
        "ethnicity": traits.ethnicity,
        "no_labour_capacity": traits.no_labour_capacity,
        "meritorious": traits.meritorious,
        "social_assistance": traits.social_assistance,
        "causes": " ".join(traits.causes) or None,
        "support": " ".join(traits.support) or None,
        "household_size": _int(a.get("household_size")),
        "income_per_capita": income,
        "b1_score": _int(a.get("b1_score")),
        "deprivation_count": count,
        "b2_score": 10 * count,
        "indicators": final,
        **{f"lacks_{i}": bool(final.get(i)) for i in INDICATORS},
        "standard_id": standard.id,
        "poverty_class": poverty.classify(income, count, kind, standard).value,
        "local_standard_id": local.id if local else None,
        "local_class": poverty.classify(income, count, kind, local).value if local else None,
    }
    return Derived.keeping(
        problems, PovertyFact, a, period, a.get("household_code"), source, values
    )


def _cultural_family(session: Session, a: Answers, source: Source) -> Derived:
    result = cultural_family.assess(a.values, cultural_family.load_catalogue())
    values = {
        "head_name": _name(a.get("head_name")),
        "earned": result.earned,
        "failed": list(result.failed),
        "disqualified_by": list(result.disqualified_by),
        "meeting_result": a.get("meeting_result") or None,
    }
    return Derived.keeping(
        [], CulturalFamilyFact, a, a.get("year"), a.get("household_code"), source, values
    )


def _satisfaction(session: Session, a: Answers, source: Source) -> Derived:
    set_id = a.get("criteria_set")
    result = satisfaction.summarize(a.values, set_id)
    values = {
        "criteria_set": set_id,
        "satisfied": list(result.satisfied),
        "not_satisfied": list(result.not_satisfied),
        "agree": result.agree,
    }
    return Derived.keeping(
        [], SatisfactionFact, a, a.get("period"), a.get("respondent_household"), source, values
    )


_RECORDERS = {
    "poverty": _poverty,
    "cultural_family": _cultural_family,
    "satisfaction": _satisfaction,
}


def _keep(
    model,
    a: Answers,
    period: str,
    household_code: str,
    source: Source,
    values: dict,
    session: Session,
) -> list[Problem]:
    """One row per (period, household): the latest submission received wins (a later version id),
    so a phone that resends an old review late does not overwrite a newer one. ``session`` comes
    last: the rest is bound when the facts are derived (``Derived.keep``), the session when
    they are written."""
    key = _household_key(a, household_code)
    if key is None:
        return [
            _problem(
                a,
                "household_code",
                "household-unidentified",
                household_code or None,
                "Thiếu mã hộ hoặc xã/phường; hộ này không được tính vào kết quả.",
                "Household code or commune is missing; the household is not counted.",
            )
        ]
    # A poverty fact is linked to the household's other periods: read them all at once.
    household = batch_reads.take(
        ("facts", model, key),
        lambda: session.scalars(_facts_of(model), {"period": period, "key": key}).all(),
    )
    if model is not PovertyFact:  # read ahead for every period; only poverty links them
        household = [r for r in household if r.period == period]
    row = next((r for r in household if r.period == period), None)
    alone = not household  # the household's first fact: nothing to link or compare
    if row is None:
        row = model(period=period, household_key=key)
        if not alone:
            session.add(row)
        household = sorted([*household, row], key=lambda r: r.period)
    elif row.version_id > source.version_id and row.submission_id != source.submission_id:
        return []
    row.submission_id = source.submission_id
    row.version_id = source.version_id
    row.submitted_at = source.submitted_at
    row.approved = source.approved
    row.out_of_scope = source.out_of_scope
    row.household_code = household_code
    row.province_code = a.get("province") or None
    row.commune_code = a.get("commune") or None
    row.area_code = a.get("area_code") or None
    for name, value in values.items():
        setattr(row, name, value)
    if model is PovertyFact:
        _link(household)
    if alone:
        # One plain INSERT: the ORM's flush costs more than the statement itself, in every job.
        session.connection().execute(_insert_of(model), _set_columns(row))
    else:
        session.flush()  # the unique (period, household) constraint speaks here on a race
    return []


@functools.cache
def _insert_of(model):
    return insert(model.__table__)


def _set_columns(row) -> dict:
    """The column values set on a new (transient) fact; the columns' defaults fill the rest."""
    state = row.__dict__
    return {
        attr.columns[0].key: state[attr.key]
        for attr in sa_inspect(type(row)).column_attrs
        if attr.key in state
    }


@functools.cache
def _facts_of_many(model):
    """The facts of several households, of every period, in order of household and period."""
    where = model.household_key.in_(bindparam("keys", expanding=True))
    return select(model).where(where).order_by(model.household_key, model.period)


@functools.cache
def _facts_of(model):
    """The statement that finds a household's facts: of every period for poverty (linked
    across periods), of the one period for the others; built once per model."""
    where = model.household_key == bindparam("key")
    if model is PovertyFact:
        return select(model).where(where).order_by(model.period)
    return select(model).where(model.period == bindparam("period"), where)


def _problem(a: Answers, name: str, rule: str, value: str | None, vi: str, en: str) -> Problem:
    return Problem(a.paths.get(name, name), rule, value, vi, en)


def _year(period: str) -> int | None:
    head = (period or "")[:4]
    return int(head) if head.isdigit() else None


def _name(text: str | None) -> str | None:
    """A person's name as the facts keep it: at most ``NAME_LENGTH`` characters, so that the
    index of the village-meeting list (which holds it) never meets PostgreSQL's entry limit."""
    return text[:NAME_LENGTH] if text else None


def _int(text: str) -> int | None:
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def rebuild(db, form_id: str | None = None, period: str | None = None, progress=None) -> int:
    """Recompute facts from the stored XML after a rule change; return how many were derived.

    The current version of every non-rejected submission of the domain forms is read again in the
    order received, so the latest still wins. Facts of the forms (and period) in scope are deleted
    first, inside the same transaction, so a rejected submission's facts disappear too.
    ``progress(done, total)`` is called after each submission.
    """
    form_ids = [form_id] if form_id else list(DOMAIN_OF_FORM)
    derived = 0
    unlinked: set[str] = set()
    with db.session() as session:
        rows = session.execute(
            select(
                Form.form_id,
                Submission.id,
                SubmissionVersion.id,
                SubmissionVersion.xml,
                SubmissionVersion.created_at,
                Submission.review_state,
                FormVersion.fields,
            )
            .join(Submission, Submission.form_pk == Form.id)
            .join(SubmissionVersion, SubmissionVersion.id == Submission.current_version_id)
            .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
            .where(
                Form.form_id.in_(form_ids), Submission.review_state != ReviewState.REJECTED.value
            )
            .order_by(SubmissionVersion.id)
        ).all()
        for fid in form_ids:
            model = _MODELS.get(DOMAIN_OF_FORM.get(fid))
            if model is None:
                continue
            doomed = (
                select(model)
                .join(Submission, Submission.id == model.submission_id)
                .join(Form, Form.id == Submission.form_pk)
                .where(Form.form_id == fid)
            )
            if period:
                doomed = doomed.where(model.period == period)
            for row in session.scalars(doomed):
                if model is PovertyFact:
                    unlinked.add(row.household_key)
                session.delete(row)
        session.flush()
        outside = (
            set(
                session.scalars(
                    select(SubmissionProblem.version_id).where(
                        SubmissionProblem.rule == "out-of-scope",
                        SubmissionProblem.version_id.in_([r[2] for r in rows]),
                    )
                )
            )
            if rows
            else set()
        )
        for done, (fid, sub_id, ver_id, xml, created, state, fields) in enumerate(rows, start=1):
            answers = read_answers(read_submission(xml).root, fields)
            if not period or answers.get(_PERIOD_FIELD[fid]) == period:
                approved = state == ReviewState.APPROVED.value
                source = Source(sub_id, ver_id, created, approved, ver_id in outside)
                record(session, fid, answers, source)
                session.execute(
                    update(Submission).where(Submission.id == sub_id).values(**answers.place())
                )
                derived += 1
            if progress:
                progress(done, len(rows))
        link(session, unlinked)  # households whose fact of a period went away
        session.commit()
    return derived


def set_approved(session: Session, form_id: str, submission_id: int, approved: bool) -> None:
    """Keep the facts' copy of "approved" in step with the submission's review state."""
    model = _MODELS.get(DOMAIN_OF_FORM.get(form_id))
    if model is not None:
        session.execute(
            update(model).where(model.submission_id == submission_id).values(approved=approved)
        )
    if model is PovertyFact:
        link(
            session,
            set(
                session.scalars(
                    select(PovertyFact.household_key).where(
                        PovertyFact.submission_id == submission_id
                    )
                )
            ),
        )


def model_for(form_id: str):
    """The fact table a domain form feeds."""
    return _MODELS[DOMAIN_OF_FORM[form_id]]


_MODELS = {
    "poverty": PovertyFact,
    "cultural_family": CulturalFamilyFact,
    "satisfaction": SatisfactionFact,
}
_PERIOD_FIELD = {
    "poverty_review": "period",
    "cultural_family": "year",
    "satisfaction_survey": "period",
}


def link(session: Session, keys: set[str]) -> None:
    """Recompute the links between the periods of these households' poverty facts (``LINKS``):
    a few rows per household, read by an index, whatever else is stored."""
    for key in sorted(k for k in keys if k):
        _link(session.scalars(_facts_of(PovertyFact), {"key": key}).all())
    session.flush()


def _link(rows: list[PovertyFact]) -> None:
    """``LINKS`` of one household's poverty facts, ``rows`` in period order."""
    by_period = {r.period: r for r in rows}
    for row in rows:
        before_period = periods.previous(row.period)
        before = by_period.get(before_period) if before_period else None
        after = next((r for r in rows if periods.previous(r.period) == row.period), None)
        earlier = [
            r
            for r in rows
            if before_period
            and periods.kind(r.period) == periods.kind(row.period)
            and r.period < before_period
        ]
        values = {
            "prev_class": before.poverty_class if before else None,
            "prev_counted": bool(before and _counts(before)),
            "prev_approved": bool(before and before.approved),
            "earlier_poor": any(r.poverty_class == "poor" and _counts(r) for r in earlier),
            "earlier_near": any(r.poverty_class == "near_poor" and _counts(r) for r in earlier),
            "earlier_poor_approved": any(r.poverty_class == "poor" and r.approved for r in earlier),
            "earlier_near_approved": any(
                r.poverty_class == "near_poor" and r.approved for r in earlier
            ),
            "next_counted": bool(after and _counts(after)),
            "next_approved": bool(after and after.approved),
        }
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)


def _counts(fact: PovertyFact) -> bool:
    """``models.facts.counted`` for one row."""
    return not fact.out_of_scope or fact.approved
