"""What the review page shows of one submission beyond the API's detail: what was learnt from each
photo (readable? where and when taken?), the household's derived classification, and the points to
place on the little map. Read-only, for a submission the caller may already see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import cultural_family, satisfaction
from ..domain.poverty import load_catalogue
from ..models import (
    Attachment,
    AuditEvent,
    CulturalFamilyFact,
    PhotoMeta,
    PovertyFact,
    SatisfactionFact,
    Submission,
    User,
)
from ..photos import Verdict, distance_m
from ..xforms.submission import read_submission
from . import photos as photo_service

CLASS_VI = {
    "poor": "Hộ nghèo",
    "near_poor": "Hộ cận nghèo",
    "medium": "Hộ có mức sống trung bình",
    "not_poor": "Hộ không nghèo",
}


@dataclass(frozen=True, slots=True)
class Photo:
    name: str
    readable: bool
    width: int | None
    height: int | None
    taken_at: dt.datetime | None
    latitude: float | None
    longitude: float | None
    metres_away: float | None  # from the household's position, when both are known


@dataclass(frozen=True, slots=True)
class Derived:
    """A fact row of the household, as words: a title (``what``) and details to list."""

    domain: str  # poverty, cultural_family, satisfaction
    what: str  # Vietnamese
    details: list[tuple[str, str]] = field(default_factory=list)  # (Vietnamese label, value)


@dataclass(frozen=True, slots=True)
class ReviewEvent:
    at: dt.datetime
    actor: str | None
    old: str | None
    new: str | None


def position(s: Submission) -> tuple[float, float] | None:
    """(latitude, longitude) of the household: the form's first answered geopoint."""
    version = s.current_version
    root = read_submission(version.xml).root
    return photo_service.first_geopoint(root, version.form_version.fields)


def photos(session: Session, s: Submission, where: tuple[float, float] | None) -> dict[str, Photo]:
    """File name -> what was learnt from it, for the current version's files checked as images."""
    rows = session.execute(
        select(Attachment.name, PhotoMeta)
        .join(PhotoMeta, PhotoMeta.blob_id == Attachment.blob_id)
        .where(Attachment.version_id == s.current_version_id)
    ).all()
    out = {}
    for name, meta in rows:
        away = None
        if where and meta.latitude is not None and meta.longitude is not None:
            away = distance_m(where[0], where[1], meta.latitude, meta.longitude)
        out[name] = Photo(
            name,
            meta.verdict == Verdict.OK.value,
            meta.width,
            meta.height,
            meta.taken_at,
            meta.latitude,
            meta.longitude,
            away,
        )
    return out


def gallery(s: Submission, photos: dict[str, Photo], labels: dict[str, str]) -> list[dict]:
    """The readable photos of the current version, in the order the form asks them, each with
    the question it answers: the submission page shows them first, large."""
    readable = {name: p for name, p in photos.items() if p.readable}
    if not readable:
        return []
    paths = photo_service.file_paths(read_submission(s.current_version.xml).root, set(readable))
    order = list(labels)
    return [
        {"photo": readable[name], "question": labels.get(paths.get(name, ""))}
        for name in sorted(
            readable,
            key=lambda n: (order.index(paths[n]) if paths.get(n) in order else len(order), n),
        )
    ]


def derived(session: Session, s: Submission) -> list[Derived]:
    """The classification this submission gives its household, if it is the one that counts (a
    rejected or superseded submission has none)."""
    out = []
    fact = session.scalar(select(PovertyFact).where(PovertyFact.submission_id == s.id))
    if fact is not None:
        catalogue = load_catalogue()
        labels = {i.id: i.label_vi for st in catalogue.standards for i in st.indicators}
        lacking = [labels.get(k, k) for k, v in sorted((fact.indicators or {}).items()) if v]
        standards = {st.id: st.name for st in (*catalogue.standards, *catalogue.local_standards)}
        details = [
            ("Chuẩn nghèo", standards.get(fact.standard_id, fact.standard_id)),
            ("Thu nhập bình quân đầu người (đồng/tháng)", _number(fact.income_per_capita)),
            ("Số chỉ số thiếu hụt", str(fact.deprivation_count)),
            ("Điểm B1", _number(fact.b1_score)),
            ("Điểm B2", str(fact.b2_score)),
            ("Thiếu hụt", "; ".join(lacking) or "—"),
        ]
        if fact.local_class:
            details.append(("Theo chuẩn địa phương", CLASS_VI.get(fact.local_class, "")))
        out.append(
            Derived("poverty", CLASS_VI.get(fact.poverty_class, fact.poverty_class), details)
        )
    cf = session.scalar(select(CulturalFamilyFact).where(CulturalFamilyFact.submission_id == s.id))
    if cf is not None:
        texts = {c.id: c.text_vi for c in cultural_family.load_catalogue().criteria}
        texts.update({c.id: c.text_vi for c in cultural_family.load_catalogue().disqualifiers})
        title = "Đạt “Gia đình văn hóa”" if cf.earned else "Chưa đạt “Gia đình văn hóa”"
        details = [
            ("Tiêu chí chưa đạt", "; ".join(texts.get(c, c) for c in cf.failed or []) or "—"),
            ("Trường hợp không xét", "; ".join(texts.get(c, c) for c in cf.disqualified_by or [])),
        ]
        out.append(Derived("cultural_family", title, [d for d in details if d[1]]))
    sat = session.scalar(select(SatisfactionFact).where(SatisfactionFact.submission_id == s.id))
    if sat is not None:
        sets = satisfaction.load_sets().sets
        name = sets[sat.criteria_set].name_vi if sat.criteria_set in sets else sat.criteria_set
        agree = {True: "Đồng ý", False: "Không đồng ý", None: "—"}[sat.agree]
        details = [
            ("Số tiêu chí hài lòng", str(len(sat.satisfied or []))),
            ("Số tiêu chí chưa hài lòng", str(len(sat.not_satisfied or []))),
            ("Đánh giá chung", agree),
        ]
        out.append(Derived("satisfaction", name, details))
    return out


@dataclass(frozen=True, slots=True)
class Moment:
    """One line of a submission's history: a version received, a review, or a comment."""

    at: dt.datetime
    kind: str  # "version", "review" or "comment"
    actor: str | None = None
    old: str | None = None  # review: the state before and after
    new: str | None = None
    body: str | None = None  # comment
    version: dict | None = None  # version: as ``submissions.detail`` gives it


def timeline(reviews: list[ReviewEvent], versions: list[dict], comments: list[dict]) -> list:
    """Versions, review changes and comments in one history, newest first."""
    moments = [Moment(r.at, "review", r.actor, r.old, r.new) for r in reviews]
    moments += [Moment(v["created_at"], "version", version=v) for v in versions]
    moments += [Moment(c["created_at"], "comment", c["author"], body=c["body"]) for c in comments]
    utc = dt.UTC
    return sorted(
        moments,
        key=lambda m: m.at if m.at.tzinfo else m.at.replace(tzinfo=utc),
        reverse=True,
    )


def review_history(session: Session, s: Submission) -> list[ReviewEvent]:
    """Each change of review state, oldest first, from the audit log."""
    rows = session.execute(
        select(AuditEvent, User.username)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.action == "submission.review", AuditEvent.target == f"submission:{s.id}")
        .order_by(AuditEvent.id)
    ).all()
    return [
        ReviewEvent(e.logged_at, name, (e.details or {}).get("from"), (e.details or {}).get("to"))
        for e, name in rows
    ]


def _number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", ".")
