"""Two reference endpoints for ``bench/ingest.py`` to compare khudan's ingest against.

Registered only when ``KHUDAN_BENCH_ENDPOINT=1``. ``/bench/bare`` only reads the request body.
``/bench/durable`` is the least a durable submission endpoint must do: parse the multipart body,
write each file to storage (fsynced, content-addressed, as ingest does), insert one row and
commit; its rate is the ceiling of a server that acknowledges only what is safely stored.
"""

from flask import Blueprint, Response, request

from .runtime import current
from .services import blobs

bp = Blueprint("bench", __name__)


@bp.post("/bench/bare")
def bare():
    while request.stream.read(1 << 16):
        pass
    return Response("ok", status=201, content_type="text/plain")


@bp.post("/bench/durable")
def durable():
    runtime = current()
    stored = [runtime.storage.put_stream(f.stream) for f in request.files.values()]
    with runtime.db.session() as session:
        for item in stored:
            blobs.id_for(session, item, "application/octet-stream")
        session.commit()
    return Response("ok", status=201, content_type="text/plain")
