"""GET /queue and POST /queue/retry: the work after the 201s, for admins and monitors (the same
figures as the *Hàng đợi* page and `khudan status`)."""

from __future__ import annotations

from dataclasses import asdict

from flask_restx import Namespace, Resource

from khudan.schemas.common import ErrorSchema
from khudan.schemas.queue import QueueSchema, RetriedSchema

from ..runtime import current
from ..services import jobs
from . import api, docs
from .auth import ADMIN, current_user, requires

ns = Namespace("queue", description="The work after each submission's 201 (admins)")
api.add_namespace(ns, path="/queue")
error = docs.model(ns, ErrorSchema)
error_docs = docs.errors_for(ns, error)


@ns.route("")
class Queue(Resource):
    @ns.response(200, "The queue", docs.model(ns, QueueSchema))
    @error_docs(401, (403, "Not an admin"))
    @requires(*ADMIN)
    def get(self):
        """How many submissions wait for their checks and facts, how long the oldest has waited,
        and the jobs parked after repeated failures, with their errors."""
        with current().db.session() as session:
            state = jobs.status(session)
            stuck = jobs.parked(session)
        return QueueSchema().dump({**asdict(state), "parked_jobs": [asdict(j) for j in stuck]})


@ns.route("/retry")
class Retry(Resource):
    @ns.response(200, "How many parked jobs will be tried again", docs.model(ns, RetriedSchema))
    @error_docs(401, (403, "Not an admin"))
    @requires(*ADMIN)
    def post(self):
        """Give every parked job another round of tries, once the cause is fixed (audited)."""
        runtime = current()
        again = jobs.retry_parked(runtime.db, current_user().id)
        runtime.queue.wake()
        return RetriedSchema().dump({"retried": again})
