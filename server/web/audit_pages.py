"""The audit log for admins: who did what and when, filtered as ``GET /api/v1/audit`` is."""

from __future__ import annotations

from flask import render_template, request

from khudan.schemas.audit import AuditQuerySchema

from ..runtime import current
from ..services import audit
from . import bp
from .args import load_args
from .auth import ADMIN, login_required

PER_PAGE = 50


@bp.get("/audit", endpoint="audit")
@login_required(*ADMIN)
def audit_log():
    q = load_args(AuditQuerySchema(), {**request.args.to_dict(), "per_page": str(PER_PAGE)})
    with current().db.session() as session:
        items, total = audit.search(session, **q)
    return render_template(
        "audit.html",
        items=items,
        total=total,
        page=q["page"],
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        filters={k: q[k] for k in ("action", "actor", "target") if q[k]},
    )
