"""The dashboard: the landing page after log-in. Collectors work in ODK Collect, so they get a
page saying so instead."""

from __future__ import annotations

from flask import render_template

from ..models import Role
from . import bp
from .auth import current_user, login_required


@bp.get("/")
@login_required()
def dashboard():
    user = current_user()
    if user.role == Role.COLLECTOR:
        return render_template("collector.html")
    return render_template("dashboard.html")
