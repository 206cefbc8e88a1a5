"""The host names khudan answers to.

Without ``KHUDAN_PUBLIC_URL`` the form list, manifests and QR codes hold URLs built from the
request's ``Host``, so a request naming another host would make khudan hand phones links to it.
Only configured names are answered (``KHUDAN_ALLOWED_HOSTS``); any other ``Host`` gets 400. When it
is not set, ``khudan serve`` allows what it listens on: the address given with ``--host`` (for
``0.0.0.0`` every address of the machine and its name), ``localhost``, and the host of
``KHUDAN_PUBLIC_URL``.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
from urllib.parse import urlsplit

from flask import Flask, request

from . import errors

ANY = "*"
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


def listening_hosts(host: str, public_url: str | None = None) -> tuple[str, ...]:
    """The names a client may use for a server listening on ``host``."""
    names = {"localhost", "127.0.0.1", "::1"}
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (what `--host` says, not a bind)
        names |= _machine_addresses()
    else:
        names.add(host.strip("[]").lower())
    if public_url:
        names.add((urlsplit(public_url).hostname or "").lower())
    return tuple(sorted(n for n in names if n))


def _machine_addresses() -> set[str]:
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            names.add(str(info[4][0]).lower())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            with contextlib.suppress(OSError):
                packed = fcntl.ioctl(
                    probe.fileno(), _SIOCGIFADDR, struct.pack("256s", name[:15].encode())
                )
                names.add(socket.inet_ntoa(packed[20:24]))
    return names


def hostname(host_header: str) -> str:
    """``Host`` without its port: ``192.168.1.10:8080`` -> ``192.168.1.10``, ``[::1]:80`` -> ``::1``."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def init_app(app: Flask, allowed: tuple[str, ...] | None) -> None:
    """Refuse requests for other hosts; ``None`` or ``*`` allows any (tests, or a proxy that
    already checks)."""
    if allowed is None or ANY in allowed:
        return
    names = frozenset(a.lower() for a in allowed)

    @app.before_request
    def _check_host() -> None:
        host = hostname(request.host)
        if host not in names:
            raise errors.HOST_NOT_ALLOWED(host=host[:100])

    @app.errorhandler(errors.Problem)
    def _problem(problem: errors.Problem):
        """A refused host outside the blueprints (which render it as OpenRosa XML, JSON or a
        page): plain JSON."""
        return {"code": problem.code, "message": problem.message, "details": None}, problem.status
