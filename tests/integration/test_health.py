"""/healthz and /readyz, as a load balancer probes them: no log-in, 200 or 503 and what is down."""

from __future__ import annotations

from khudan.app import create_app
from khudan.db import Database


def test_liveness_and_readiness_answer_without_logging_in(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json == {"status": "ok", "down": []}


class BrokenStorage:
    def exists(self, key: str) -> bool:
        raise OSError("the bucket does not answer")


def test_not_ready_says_what_is_down(settings, db, tmp_path):
    lost = Database(f"sqlite:///{tmp_path / 'no-such-folder' / 'khudan.db'}")
    app = create_app(settings, db=lost, storage=BrokenStorage())
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json == {"status": "unavailable", "down": ["database", "storage"]}
    assert app.test_client().get("/healthz").status_code == 200  # alive, just not ready
    app = create_app(settings, db=db, storage=BrokenStorage())
    assert app.test_client().get("/readyz").json["down"] == ["storage"]
