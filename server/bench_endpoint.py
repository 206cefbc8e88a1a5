"""A bare endpoint that only reads the request body, for ``bench/ingest.py`` to compare against.

Registered only when ``KHUDAN_BENCH_ENDPOINT=1``; it does no auth, parsing or storage, so the ratio
of our submission rate to its rate is the cost of khudan itself on the same server.
"""

from flask import Blueprint, Response, request

bp = Blueprint("bench", __name__)


@bp.post("/bench/bare")
def bare():
    while request.stream.read(1 << 16):
        pass
    return Response("ok", status=201, content_type="text/plain")
