"""The review queue and the submission page: filter what collectors sent, read a submission laid out
as the form is, approve, reject or flag it with a comment. The same services and scoping as
``/api/v1/submissions``: a submission outside the user's areas is not found."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlsplit

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from khudan.schemas.submissions import (
    BulkReviewSchema,
    CommentSchema,
    ListQuerySchema,
    ReviewSchema,
)

from .. import attachments, downloads, errors
from ..api import load
from ..models import Area
from ..runtime import current
from ..services import activity, entity_updates, forms, submission_view
from ..services import submissions as service
from ..xforms.schema import read_choice_labels
from . import answers, bp
from .args import load_args
from .auth import REVIEWERS, current_user, login_required, safe_next
from .formats import number
from .i18n import _, lang, problem_text
from .tiles import use_map

PER_PAGE = 50
# Review states as the pages name them, in the order a submission usually goes through them.
STATE_LABELS = service.STATE_LABELS
WAITING = "waiting"
FILTERS = ("form", "period", "area", "review_state", "has_problems", "processing", "q")


@bp.app_template_global()
def state_label(state: str) -> str:
    return _(STATE_LABELS.get(state, state))


@bp.get("/review")
@login_required(*REVIEWERS)
def review_queue():
    filters = queue_filters(request.args.to_dict())
    user = current_user()
    with current().db.session() as session:
        items, total = service.list_submissions(session, user, filters)
        problems = service.problems_of(session, [i["id"] for i in items], user)
        where = [i["area_code"] or i["commune_code"] or i["province_code"] for i in items]
        names = dict(place_names(session, where))
        known = forms.list_forms(session)
        form_list = [
            (f.form_id, f.current_version.title if f.current_version else f.form_id) for f in known
        ]
        periods = activity.periods(session, user)
        chosen_form = next((f for f in known if f.form_id == filters.form_id), None)
        offered, columns, answers_of = _answer_columns(session, chosen_form, items)
    chosen = {k: request.args.get(k, "") for k in (*FILTERS, "submitter", "sort")}
    chosen["review_state"] = request.args.get("review_state", WAITING)
    kept = {k: v for k, v in chosen.items() if v}
    if columns:
        kept["col"] = [path for path, _label in columns]
    # "Tất cả" is review_state= (empty): kept, or a link back would show the waiting ones only
    kept["review_state"] = chosen["review_state"]
    pages = max(1, -(-total // PER_PAGE))
    return render_template(
        "review_queue.html",
        items=items,
        problems=problems,
        place_names=names,
        total=total,
        page=filters.page,
        pages=pages,
        page_url=lambda n: url_for("web.review_queue", **kept, page=n),
        here=url_for("web.review_queue", **kept, page=filters.page),
        chosen=chosen,
        forms=form_list,
        form_titles=dict(form_list),
        periods=periods,
        states=STATE_LABELS,
        downloads=_downloads(chosen),
        offered=offered,
        columns=columns,
        answers_of=answers_of,
    )


def _answer_columns(session, form, items: list[dict]):
    """With a form chosen: the questions a reviewer may show as columns (its top-level labelled
    questions, ``(path, label)``), the ones asked for with ``?col=`` (at most
    ``service.MAX_COLUMNS``), and each row's answers to them."""
    version = form.current_version if form is not None else None
    if version is None:
        return [], [], {}
    language = lang()
    offered = [
        (f["path"], (f.get("label") or {}).get(language) or (f.get("label") or {}).get("vi"))
        for f in version.fields
        if f["kind"] == "field" and not f.get("repeat") and f.get("label") and f["type"] != "binary"
    ]
    wanted = set(request.args.getlist("col"))
    columns = [(path, label) for path, label in offered if path in wanted][: service.MAX_COLUMNS]
    answers_of = service.answer_columns(
        session,
        [i["id"] for i in items],
        [path for path, _label in columns],
        read_choice_labels(version.xml) if columns else {},
        language,
    )
    return offered, columns, answers_of


def queue_filters(args: dict) -> service.Filters:
    """The queue's filters from its query string (also read back from a submission's ``back``
    link, to find the submissions before and after it in the queue)."""
    # Opened plainly, the queue shows what needs a decision (received, edited, with issues);
    # "Tất cả" sends review_state= (empty) for every state.
    args.setdefault("review_state", WAITING)
    waiting = args.get("review_state") == WAITING
    if waiting:  # the pages' own filter: any state not decided yet
        del args["review_state"]
    q = load_args(ListQuerySchema(), args)
    return service.Filters(
        form_id=q["form"],
        period=q["period"],
        area=q["area"],
        review_state=q["review_state"],
        review_states=activity.WAITING if waiting else (),
        submitter=q["submitter"],
        has_problems=q["has_problems"],
        processing=q["processing"],
        text=q["q"],
        sort=q["sort"],
        page=q["page"],
        per_page=PER_PAGE,
    )


def _neighbours(session, user, submission_id: int, back: str) -> tuple[str | None, str | None]:
    """Links to the submissions before and after this one in the queue it was opened from
    (its page, or the next or previous page at the edges), keeping ``back``."""
    parts = urlsplit(back)
    if parts.path != url_for("web.review_queue"):
        return None, None
    args = dict(parse_qsl(parts.query))
    try:
        filters = queue_filters(dict(args))
    except errors.Problem:
        return None, None
    ids = [i["id"] for i in service.list_submissions(session, user, filters)[0]]
    if submission_id not in ids:
        return None, None
    at = ids.index(submission_id)
    before = ids[at - 1] if at > 0 else None
    after = ids[at + 1] if at + 1 < len(ids) else None
    if after is None:  # the first of the next page
        later = dataclasses.replace(filters, page=filters.page + 1)
        after = next((i["id"] for i in service.list_submissions(session, user, later)[0]), None)
    if before is None and filters.page > 1:
        earlier = dataclasses.replace(filters, page=filters.page - 1)
        rows = service.list_submissions(session, user, earlier)[0]
        before = rows[-1]["id"] if rows else None

    def link(sid: int | None) -> str | None:
        return url_for("web.submission", submission_id=sid, back=back) if sid else None

    return link(before), link(after)


@bp.get("/forms/<form_id>/submissions.<any(xlsx, csv):kind>")
@login_required(*REVIEWERS)
def submissions_download(form_id: str, kind: str):
    """The queue's download links: the form's submissions in the reader's areas with the
    queue's filters, as the API gives them (``khudan.downloads``)."""
    return downloads.submissions_file(current_user(), form_id, kind, request.args, load_args)


def _downloads(chosen: dict) -> dict | None:
    """The download links for the chosen form and filters (none without a form)."""
    if not chosen.get("form"):
        return None
    state = chosen.get("review_state")
    args = {
        "labels": lang(),
        "period": chosen.get("period") or None,
        "area": chosen.get("area") or None,
        # one state only: "waiting" (several) and "all" export every state
        "state": state if state in STATE_LABELS else None,
    }
    args = {k: v for k, v in args.items() if v}

    def link(kind: str, **more) -> str:
        return url_for(
            "web.submissions_download", form_id=chosen["form"], kind=kind, **args, **more
        )

    return {
        "xlsx": link("xlsx"),
        "csv": link("csv"),
        "zip": link("xlsx", attachments="true"),
        "filters": args,
        "every_state": "state" not in args,
    }


@bp.get("/submissions/<int:submission_id>")
@login_required(*REVIEWERS)
def submission(submission_id: int):
    with current().db.session() as session:
        row = service.get_visible(session, current_user(), submission_id)
        body = service.detail(
            session,
            row,
            lambda name: url_for("web.submission_file", submission_id=submission_id, name=name),
            current_user(),
        )
        version = row.current_version
        places = place_names(session, [row.province_code, row.commune_code, row.area_code])
        laid_out = answers.layout(
            version.form_version.fields,
            body["answers"],
            read_choice_labels(version.form_version.xml),
            lang(),
            [_Located(p["path"], p) for p in body["problems"]],
            dict(places),
        )
        where = submission_view.position(row)
        photos = submission_view.photos(session, row, where)
        gallery = submission_view.gallery(row, photos, body["labels"])
        derived = submission_view.derived(session, row)
        listed = entity_updates.of_submission(session, current_user(), row)
        history = submission_view.timeline(
            submission_view.review_history(session, row), body["versions"], body["comments"]
        )
        title = version.form_version.title
        back = safe_next(request.args.get("back")) or url_for("web.review_queue")
        previous, following = _neighbours(session, current_user(), submission_id, back)
    return render_template(
        "submission.html",
        s=body,
        files={a["name"]: a for a in body["attachments"]},
        title=title,
        items=laid_out,
        where=where,
        photos=photos,
        gallery=gallery,
        derived=derived,
        listed=listed,
        history=history,
        places=places,
        back=back,
        previous=previous,
        following=following,
        states=STATE_LABELS,
        map_data=_map_data(where, photos),
    )


@bp.post("/submissions/<int:submission_id>/review")
@login_required(*REVIEWERS)
def review(submission_id: int):
    """Approve, reject or flag; rejecting or flagging needs a comment (as the API)."""
    data = load_args(ReviewSchema(), request.form)
    user = current_user()
    with current().db.session() as session:
        row = service.get_visible(session, user, submission_id)
        try:
            service.set_review_state(session, user, row, data["review_state"], data["comment"])
        except errors.Problem as problem:
            if problem.code != errors.COMMENT_REQUIRED.code:
                raise
            flash(problem_text(problem), "error")
            return _back_to(submission_id)
        session.commit()
    flash(
        _("Phiếu #{id}: {state}.", id=submission_id, state=state_label(data["review_state"])),
        "ok",
    )
    return _back_to(submission_id)


@bp.post("/review/bulk")
@login_required(*REVIEWERS)
def review_bulk():
    """The queue's bulk action: approve (or flag, reject: with a comment) the ticked rows."""
    back = safe_next(request.form.get("back")) or url_for("web.review_queue")
    ids = request.form.getlist("ids")
    if not ids:
        flash(_("Hãy chọn ít nhất một phiếu."), "error")
        return redirect(back, 303)
    data = load(
        BulkReviewSchema(),
        {
            "ids": ids,
            "review_state": request.form.get("review_state", ""),
            "comment": request.form.get("comment") or None,
        },
    )
    with current().db.session() as session:
        try:
            n = service.review_many(
                session, current_user(), data["ids"], data["review_state"], data["comment"]
            )
        except errors.Problem as problem:
            if problem.code != errors.COMMENT_REQUIRED.code:
                raise
            flash(problem_text(problem), "error")
            return redirect(back, 303)
        session.commit()
    flash(_("{n} phiếu: {state}.", n=n, state=state_label(data["review_state"])), "ok")
    return redirect(back, 303)


@bp.post("/submissions/<int:submission_id>/comments")
@login_required(*REVIEWERS)
def comment(submission_id: int):
    data = load_args(CommentSchema(), request.form)
    user = current_user()
    with current().db.session() as session:
        row = service.get_visible(session, user, submission_id)
        service.add_comment(session, user, row, data["body"])
        session.commit()
    flash(_("Đã thêm nhận xét."), "ok")
    return _back_to(submission_id)


@bp.get("/submissions/<int:submission_id>/files/<path:name>")
@login_required(*REVIEWERS)
def submission_file(submission_id: int, name: str):
    """A photo (or its 320/1280 px thumbnail with ``?size=``) or another file of the submission."""
    size = attachments.thumbnail_size(request.args.get("size"))
    with current().db.session() as session:
        row = service.get_visible(session, current_user(), submission_id)
        return attachments.reply(session, row, name, size)


class _Located:
    """A problem as ``answers.layout`` takes it: its path, and the API's dict for the page."""

    __slots__ = ("path", "problem")

    def __init__(self, path: str, problem: dict):
        self.path, self.problem = path, problem


def _back_to(submission_id: int):
    back = safe_next(request.form.get("back"))
    args = {"back": back} if back else {}
    return redirect(url_for("web.submission", submission_id=submission_id, **args))


def place_names(session, codes: list[str | None]) -> list[tuple[str, str]]:
    """(code, name) of these areas (a submission's province, commune and thôn), as the registry
    names them; a code it does not know stands for itself."""
    codes = list(dict.fromkeys(c for c in codes if c))
    names = dict(
        session.execute(select(Area.code, Area.full_name).where(Area.code.in_(codes))).all()
    )
    return [(c, names.get(c, c)) for c in codes]


def _map_data(where, photos) -> dict | None:
    """The household and where its photos were taken, for the page's map (Leaflet); None when
    there is nothing to place. The tiles are allowed for this page only."""
    spots = [p for p in photos.values() if p.latitude is not None and p.longitude is not None]
    if not where and not spots:
        return None
    return {
        "household": list(where) if where else None,
        "photos": [
            {
                "label": p.name
                + (
                    ""
                    if p.metres_away is None
                    else " · " + _("cách vị trí hộ {m} m", m=number(round(p.metres_away)))
                ),
                "lat": p.latitude,
                "lon": p.longitude,
            }
            for p in spots
        ],
        **use_map(),
    }
