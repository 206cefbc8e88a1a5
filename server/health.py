"""``GET /healthz`` (liveness: the process answers) and ``GET /readyz`` (readiness: the database
and the file storage both answer) for load balancers and orchestrators. No authentication and
no details beyond what is down: they are probed from outside, often every few seconds."""

from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from sqlalchemy import text

from .runtime import current
from .storage import derived_key

bp = Blueprint("health", __name__)
# A derived-file key no real file has (the all-zero hash): asking for it reaches the storage.
PROBE = derived_key("0" * 64, "readyz")


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    runtime = current()
    down = []
    try:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready", and is said as such
        down.append("database")
    try:
        runtime.storage.exists(PROBE)
    except Exception:
        down.append("storage")
    body = {"status": "ok" if not down else "unavailable", "down": down}
    return jsonify(body), (200 if not down else 503)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
