"""The front of ``khudan serve``: an asyncio server that reads each request whole before one of
gunicorn's threads sees it, and takes each answer whole so a slow reader does not hold one either.

gunicorn's threaded workers give a connection its thread while the request arrives: a few clients
sending headers or a body at a byte every few seconds held every thread and took the server down,
no log-in needed. Here a waiting connection costs a coroutine, not a thread, and it is bounded:
the headers must arrive within ``header_timeout``, the body with no pause longer than
``body_idle_timeout`` and, after that much time, at ``body_min_rate`` bytes a second on average;
one address may hold ``max_connections_per_address`` connections at once. This is nginx's request
and response buffering, built in, so a plain ``khudan serve`` is safe on its own; behind nginx
(HTTPS) it changes nothing.

Each request goes to gunicorn over a private Unix socket, one connection per request, preceded by
a PROXY protocol line so the app sees the client's real address. Answers carry
``Connection: close``: the connection ends after each answer, so a client never reuses a
connection the server meant to close.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import socket
import tempfile
from collections import Counter
from dataclasses import dataclass

from . import errors
from .config import Settings, from_env
from .openrosa import responses

log = logging.getLogger("khudan.front")

HEADER_LIMIT = 64 * 1024  # request line and headers together
CHUNK = 64 * 1024
RESPONSE_BUFFER = 8 * 1024 * 1024  # an answer up to this size leaves gunicorn at once
LINGER = 2.0  # seconds to read and drop what a refused client still sends
# Hop-by-hop headers (RFC 9110 7.6.1) and the framing the front redoes itself.
_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"http2-settings",
    b"content-length",
    b"expect",
}


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float
    body_idle_timeout: float
    body_min_rate: int
    max_connections_per_address: int
    max_request_bytes: int
    trusted_proxies: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            header_timeout=settings.header_timeout,
            body_idle_timeout=settings.body_idle_timeout,
            body_min_rate=settings.body_min_rate,
            max_connections_per_address=settings.max_connections_per_address,
            max_request_bytes=settings.max_request_bytes,
            trusted_proxies=settings.trusted_proxies,
        )


class Refused(Exception):
    """The request ends here with ``problem``."""

    def __init__(self, problem: errors.Problem):
        self.problem = problem
        super().__init__(problem.message)


class Gone(Exception):
    """The client went away or stalled: nothing can be answered."""


@dataclass(slots=True)
class Request:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]

    def header(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def openrosa(self) -> bool:
        return bool(self.header(b"x-openrosa-version"))


def parse_head(head: bytes) -> Request:
    """Request line and headers (RFC 9112); anything ambiguous is refused, never guessed."""
    lines = head.lstrip(b"\r\n").split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or not parts[0].isalpha():
        raise Refused(errors.HTTP_MALFORMED(reason="request line"))
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or line[:1] in b" \t":
            raise Refused(errors.HTTP_MALFORMED(reason="header line"))
        headers.append((name, value.strip()))
    return Request(parts[0], parts[1], headers)


def body_length(request: Request, limits: Limits) -> int | None:
    """The declared length, ``None`` for a chunked body; refuses what could be read two ways."""
    lengths = set(request.header(b"content-length"))
    codings = b",".join(request.header(b"transfer-encoding")).lower()
    if codings:
        if lengths or [c.strip() for c in codings.split(b",")] != [b"chunked"]:
            raise Refused(errors.HTTP_MALFORMED(reason="Transfer-Encoding"))
        return None
    if not lengths:
        return 0
    if len(lengths) > 1 or not lengths.copy().pop().isdigit():
        raise Refused(errors.HTTP_MALFORMED(reason="Content-Length"))
    length = int(lengths.pop())
    if length > limits.max_request_bytes:
        raise Refused(errors.TOO_LARGE(limit=limits.max_request_bytes))
    return length


class BodyReader:
    """Reads a body into ``spool``, refusing one that pauses too long or arrives too slowly."""

    def __init__(self, reader: asyncio.StreamReader, spool, limits: Limits):
        self.reader, self.spool, self.limits = reader, spool, limits
        self.loop = asyncio.get_running_loop()
        self.start = self.loop.time()
        self.size = 0

    async def _wait(self, coro):
        try:
            return await asyncio.wait_for(coro, self.limits.body_idle_timeout)
        except TimeoutError:
            raise Refused(errors.REQUEST_TOO_SLOW()) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            raise Gone from None
        except asyncio.LimitOverrunError:
            raise Refused(errors.HTTP_MALFORMED(reason="chunk size line")) from None

    def _took(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limits.max_request_bytes:
            raise Refused(errors.TOO_LARGE(limit=self.limits.max_request_bytes))
        elapsed = self.loop.time() - self.start
        grace = self.limits.body_idle_timeout
        if elapsed > grace and self.size < (elapsed - grace) * self.limits.body_min_rate:
            raise Refused(errors.REQUEST_TOO_SLOW())

    async def exactly(self, length: int) -> None:
        while length:
            data = await self._wait(self.reader.read(min(CHUNK, length)))
            if not data:
                raise Gone
            self._took(data)
            self.spool.write(data)
            length -= len(data)

    async def chunked(self) -> None:
        """RFC 9112 7.1: chunks until the zero-size one, then trailers (dropped)."""
        while True:
            line = await self._wait(self.reader.readuntil(b"\r\n"))
            self._took(line)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise Refused(errors.HTTP_MALFORMED(reason="chunk size")) from None
            if size < 0:
                raise Refused(errors.HTTP_MALFORMED(reason="chunk size"))
            if size == 0:
                break
            await self.exactly(size)
            if await self._wait(self.reader.readexactly(2)) != b"\r\n":
                raise Refused(errors.HTTP_MALFORMED(reason="chunk end"))
        while (line := await self._wait(self.reader.readuntil(b"\r\n"))) != b"\r\n":
            self._took(line)


def render(problem: errors.Problem, request: Request | None) -> bytes:
    """The problem as the client reads errors: OpenRosa XML for Collect, JSON for the API,
    text otherwise; always closing the connection."""
    if request is not None and request.openrosa:
        body = responses.message(problem.message, "error").encode()
        kind = b"text/xml; charset=utf-8"
    elif request is not None and request.target.startswith(b"/api/"):
        body = json.dumps(
            {"code": problem.code, "message": problem.message, "details": None}, ensure_ascii=False
        ).encode()
        kind = b"application/json"
    else:
        body = (problem.message + "\n").encode()
        kind = b"text/plain; charset=utf-8"
    status = problem.status
    extra = b"Retry-After: 10\r\n" if status in (429, 503) else b""
    return (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%sConnection: close\r\n\r\n"
        % (status, _REASONS.get(status, b"Error"), kind, len(body), extra)
    ) + body


_REASONS = {
    400: b"Bad Request",
    408: b"Request Timeout",
    413: b"Content Too Large",
    429: b"Too Many Requests",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


async def _discard(reader: asyncio.StreamReader) -> None:
    while await reader.read(CHUNK):
        pass


class Front:
    def __init__(self, limits: Limits, backend: str):
        self.limits = limits
        self.backend = backend
        self.open = Counter()  # connections per client address
        # asyncio keeps only weak references to tasks, and a stream's protocol drops its own when
        # the client's connection closes: a handler still relaying an answer was then collected
        # mid-way ("Task was destroyed but it is pending!"). The running handlers, held here.
        self.handlers: set[asyncio.Task] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.handlers.add(task)
        peer = writer.get_extra_info("peername") or ("", 0)
        address = peer[0] if isinstance(peer, tuple) else ""
        self.open[address] += 1
        try:
            if self.open[address] > self.limits.max_connections_per_address:
                limit = self.limits.max_connections_per_address
                writer.write(render(errors.TOO_MANY_CONNECTIONS(limit=limit), None))
                return
            await self._serve(reader, writer, peer, writer.get_extra_info("sockname"))
        except (Gone, ConnectionError, TimeoutError):
            pass
        except Exception:
            log.exception("front: unexpected error for %s", address)
        finally:
            self.open[address] -= 1
            if not self.open[address]:
                del self.open[address]
            writer.close()
            self.handlers.discard(task)

    async def _serve(self, reader, writer, peer, local) -> None:
        request = None
        try:
            try:
                head = await asyncio.wait_for(
                    reader.readuntil(b"\r\n\r\n"), self.limits.header_timeout
                )
            except TimeoutError:
                raise Refused(errors.REQUEST_TOO_SLOW()) from None
            except asyncio.LimitOverrunError:
                raise Refused(errors.HEADERS_TOO_LARGE(limit=HEADER_LIMIT)) from None
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # closed before a whole request: nothing to answer
            request = parse_head(head)
            length = body_length(request, self.limits)
            with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
                if length != 0 and request.header(b"expect") == [b"100-continue"]:
                    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = BodyReader(reader, spool, self.limits)
                await (body.chunked() if length is None else body.exactly(length))
                size = spool.tell()  # the body without a chunked body's framing
                spool.seek(0)
                await self._forward(request, spool, size, length is None, writer, peer, local)
        except Refused as refused:
            log.info("front: %s from %s: %s", refused.problem.code, peer[0], refused.problem)
            writer.write(render(refused.problem, request))
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.drain(), self.limits.body_idle_timeout)
                # Lingering close: closing on unread bytes would reset the connection and lose
                # the answer, so what the client still sends is read and dropped for a while.
                writer.write_eof()
                await asyncio.wait_for(_discard(reader), LINGER)

    def _head(self, request: Request, size: int, had_body: bool, peer, local) -> bytes:
        keep_forwarded = self.limits.trusted_proxies > 0
        lines = [b"%s %s HTTP/1.1" % (request.method, request.target)]
        for name, value in request.headers:
            lower = name.lower()
            if lower in _HOP:
                continue
            # gunicorn trusts forwarding headers from its Unix socket: pass them only when
            # KHUDAN_TRUSTED_PROXIES says a proxy in front of khudan sets them.
            if not keep_forwarded and (
                lower.startswith(b"x-forwarded-") or lower == b"forwarded" or b"_" in name
            ):
                continue
            lines.append(name + b": " + value)
        if had_body or size:
            lines.append(b"Content-Length: %d" % size)
        lines.append(b"Connection: close")
        family = b"TCP6" if ":" in peer[0] else b"TCP4"
        proxy = b"PROXY %s %s %s %d %d" % (
            family,
            peer[0].encode(),
            local[0].encode(),
            peer[1],
            local[1],
        )
        return proxy + b"\r\n" + b"\r\n".join(lines) + b"\r\n\r\n"

    async def _forward(self, request, spool, size, chunked, writer, peer, local) -> None:
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.backend)
        except OSError:
            raise Refused(errors.SERVER_STARTING()) from None
        try:
            had_body = chunked or bool(request.header(b"content-length"))
            up_writer.write(self._head(request, size, had_body, peer, local))
            while data := spool.read(CHUNK):
                up_writer.write(data)
                await up_writer.drain()
            writer.transport.set_write_buffer_limits(high=RESPONSE_BUFFER)
            while data := await up_reader.read(CHUNK):
                writer.write(data)
                await asyncio.wait_for(writer.drain(), self.limits.body_idle_timeout)
        finally:
            up_writer.close()


async def serve(sock: socket.socket, limits: Limits, backend: str) -> None:
    front = Front(limits, backend)
    server = await asyncio.start_server(front.handle, sock=sock, limit=HEADER_LIMIT, backlog=2048)
    parent = os.getppid()
    async with server:
        while os.getppid() == parent:  # end with `khudan serve`, however it ends
            await asyncio.sleep(1)


def main(argv: list[str] | None = None) -> None:
    """``python -m khudan.front --fd N --backend PATH``, started by ``khudan serve``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--backend", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [front] %(message)s")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log.info("open files limit %d (was %d)", resource.getrlimit(resource.RLIMIT_NOFILE)[0], soft)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    sock = socket.socket(fileno=args.fd)
    asyncio.run(serve(sock, Limits.from_settings(from_env()), args.backend))


if __name__ == "__main__":
    main()
