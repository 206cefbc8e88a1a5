"""The work queue for admins: how many submissions wait for their checks and facts, how long the
oldest has waited, and the jobs parked after repeated failures, with their errors and a button
to try them again once the cause is fixed (``services.jobs``)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..runtime import current
from ..services import jobs
from . import bp
from .auth import ADMIN, current_user, login_required
from .i18n import _


@bp.get("/queue", endpoint="queue")
@login_required(*ADMIN)
def queue_page():
    with current().db.session() as session:
        state = jobs.status(session)
        stuck = jobs.parked(session)
    return render_template("queue.html", state=state, stuck=stuck)


@bp.post("/queue/retry")
@login_required(*ADMIN)
def queue_retry():
    runtime = current()
    again = jobs.retry_parked(runtime.db, current_user().id)
    runtime.queue.wake()
    flash(_("Đã cho {n} việc thử lại.", n=again), "ok")
    return redirect(url_for("web.queue"), 303)
