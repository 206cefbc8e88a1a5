"""Slow and greedy clients against a real ``khudan serve`` (#18): a handful of connections sending
a byte every few seconds used to hold every gunicorn thread, so nobody could log in or submit.

The front (server/front.py) reads each request whole before a thread sees it: the server keeps
answering while 50 such connections are open, cuts them once they are too slow (408), refuses an
address holding too many connections (429), and closes every connection after its answer, saying
so (``Connection: close``).
"""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest
import requests
from khudan_server import KhudanServer

HEADER_TIMEOUT = 4
PER_ADDRESS = 60


def answers_login(url: str) -> bool:
    return requests.get(f"{url}/app/login", timeout=1).status_code == 200


@pytest.fixture(scope="module")
def live(tmp_path_factory, database_url, database):
    server = KhudanServer(
        tmp_path_factory.mktemp("slow"),
        database_url,
        answers_login,
        KHUDAN_SECRET_KEY="slow-test",
        KHUDAN_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        KHUDAN_BODY_IDLE_TIMEOUT=str(HEADER_TIMEOUT),
        KHUDAN_BODY_MIN_RATE="1000",
        KHUDAN_MAX_CONNECTIONS_PER_ADDRESS=str(PER_ADDRESS),
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()


def connect(server: KhudanServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    return data


class Dribble:
    """Sends each connection's bytes one at a time, a byte per connection every half second."""

    def __init__(self, pending: dict[socket.socket, bytes]):
        self.pending = pending
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            for sock, rest in list(self.pending.items()):
                if (
                    not rest or sock.fileno() < 0 or select.select([sock], [], [], 0)[0]
                ):  # answered: stop sending
                    continue
                try:
                    sock.send(rest[:1])
                    self.pending[sock] = rest[1:]
                except OSError:  # cut by the server: what it should do, eventually
                    self.pending[sock] = b""


def test_fifty_slow_connections_leave_the_login_page_fast(live):
    body = b"x" * 100_000
    slow_headers = b"GET /app/login HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n" * 3
    slow_body = (
        b"POST /submission HTTP/1.1\r\nHost: 127.0.0.1\r\nX-OpenRosa-Version: 1.0\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n" % len(body)
    )
    pending = {}
    for _ in range(25):
        pending[connect(live)] = slow_headers
    for _ in range(25):
        sock = connect(live)
        sock.sendall(slow_body)
        pending[sock] = body
    dribble = Dribble(pending)
    try:
        time.sleep(1.5)  # every thread would be taken by now
        for _ in range(3):
            started = time.monotonic()
            r = requests.get(f"{live.url}/app/login", timeout=5)
            assert r.status_code == 200 and time.monotonic() - started < 1
        head = requests.head(
            f"{live.url}/submission", headers={"X-OpenRosa-Version": "1.0"}, timeout=5
        )
        assert head.status_code == 401  # a phone is asked to log in: submissions go on too
        readable = select.select(list(pending), [], [], 0)[0]
        assert not readable, "a slow client was answered before the check ended"

        # Then each is cut: headers not done in HEADER_TIMEOUT s, a body slower than the minimum.
        started = time.monotonic()
        answers = [read_all(sock) for sock in list(pending)]
        assert time.monotonic() - started < HEADER_TIMEOUT + 5
    finally:
        dribble.stop.set()
    statuses = [a.split(b" ", 2)[1] for a in answers]
    assert statuses == [b"408"] * 50
    assert b"Content-Type: text/xml" in answers[-1]  # Collect reads the message
    assert "gửi lại khi sóng mạng tốt hơn".encode() in answers[-1]


def test_an_address_holding_too_many_connections_is_refused(live):
    held = [connect(live) for _ in range(PER_ADDRESS)]
    try:
        time.sleep(0.5)
        extra = connect(live)
        answer = read_all(extra)
        assert answer.startswith(b"HTTP/1.1 429 ")
        assert b"Retry-After: 10" in answer and b"(at most 60)" in answer
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.5)
    assert requests.get(f"{live.url}/app/login", timeout=5).status_code == 200


def test_an_answer_that_skips_the_body_closes_and_says_so(live):
    """A 401 to a POST whose body the app never reads: the client is told the connection ends
    (it used to say keep-alive, then close the socket under a client reusing it)."""
    sock = connect(live)
    body = b"--b\r\n" + b"x" * 50_000 + b"\r\n--b--\r\n"
    sock.sendall(
        b"POST /submission HTTP/1.1\r\nHost: 127.0.0.1\r\nX-OpenRosa-Version: 1.0\r\n"
        b"Connection: keep-alive\r\nContent-Type: multipart/form-data; boundary=b\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    answer = read_all(sock)  # returns: the server closed the connection
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 401 ")
    assert b"\r\nconnection: close" in head and b"keep-alive" not in head


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (
            b"GET /app/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST /submission HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 5\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"GET /app/login HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (
            b"POST /submission HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999999\r\n\r\n",
            413,
        ),
    ],
    ids=["two-lengths", "chunked-and-length", "huge-headers", "too-large"],
)
def test_ambiguous_or_oversized_requests_are_refused_before_the_app(live, request_bytes, status):
    sock = connect(live)
    sock.sendall(request_bytes)
    assert read_all(sock).startswith(b"HTTP/1.1 %d " % status)


def test_a_chunked_upload_reaches_the_app_whole(live):
    sock = connect(live)
    sock.sendall(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        b"f\r\n" + b'{"username": "n' + b"\r\n"
        b"1c\r\n" + b'obody", "password": "wrong"}' + b"\r\n0\r\n\r\n"
    )
    answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")  # read as JSON by the API: a wrong log-in


def test_serve_answers_only_the_names_it_listens_on(live):
    """Listening on 127.0.0.1 without KHUDAN_ALLOWED_HOSTS: that address and localhost."""
    probe = {"X-OpenRosa-Version": "1.0"}
    for host in (f"127.0.0.1:{live.port}", f"localhost:{live.port}"):
        r = requests.head(f"{live.url}/submission", headers={**probe, "Host": host}, timeout=5)
        assert r.status_code == 401
    r = requests.get(f"{live.url}/formList", headers={**probe, "Host": "evil.example"}, timeout=5)
    assert r.status_code == 400 and "evil.example" in r.text


def test_no_handler_is_dropped_mid_answer_under_load(live):
    """asyncio keeps only weak references to tasks, and a stream's protocol drops its own when
    the client's connection closes: without the front's own reference, handlers still relaying
    an answer were collected mid-way ("Task was destroyed but it is pending!")."""
    before = live.output().count("Task was destroyed")

    def client(n: int) -> list[int]:
        statuses = []
        for _ in range(n):
            with requests.Session() as s:
                statuses.append(s.get(f"{live.url}/app/login", timeout=10).status_code)
        return statuses

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.extend(client(60))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [200] * 480
    time.sleep(1)
    assert live.output().count("Task was destroyed") == before
