"""Production serving: the front (``server/front.py``, one asyncio process) on the public address,
gunicorn behind it on a private Unix socket, several worker processes each with threads.

The front reads each request whole before it reaches a gunicorn thread, so slow or stalled clients
cannot hold the threads. Each worker builds its own app (and database connections) after the fork.
One access-log line is written per request, with the client's address (PROXY protocol).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

from . import heap
from .app import create_app
from .config import Settings

ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self):
        return create_app(self._settings)


def _finish_jobs(_arbiter, worker) -> None:
    """A worker process stopping (restart, SIGTERM) lets its job threads finish the jobs in hand
    instead of leaving them to wait out their lease."""
    app = getattr(worker, "wsgi", None)
    runtime = app.extensions.get("khudan") if app is not None else None
    if runtime is not None:
        runtime.queue.stop()


def _settle(worker) -> None:
    """A worker process has loaded its app: what it holds now lives as long as the process."""
    heap.settle()


def listen(host: str, port: int) -> socket.socket:
    """The public socket, bound here so a taken port fails ``khudan serve`` at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def start_front(sock: socket.socket, backend: Path) -> subprocess.Popen:
    """The front in its own process (it exits when this one does), given the bound socket."""
    command = [sys.executable, "-m", "khudan.front", "--fd", str(sock.fileno())]
    return subprocess.Popen([*command, "--backend", str(backend)], pass_fds=[sock.fileno()])


def serve_gunicorn(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    sock = listen(host, port)
    private = Path(tempfile.mkdtemp(prefix="khudan-"))  # mode 0700: only this user connects
    backend = private / "gunicorn.sock"
    front = start_front(sock, backend)
    sock.close()

    def stop_front(_arbiter) -> None:
        front.terminate()
        front.wait(10)
        shutil.rmtree(private, ignore_errors=True)

    try:
        _Server(
            settings,
            {
                "bind": f"unix:{backend}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "timeout": 300,  # a slow report or export; uploads arrive whole from the front
                "accesslog": "-",
                "errorlog": "-",
                "access_log_format": ACCESS_LOG_FORMAT,
                # The front says who the client is; forwarding headers reach gunicorn only when
                # KHUDAN_TRUSTED_PROXIES says a proxy sets them (the front drops them otherwise).
                "proxy_protocol": "v1",
                "forwarded_allow_ips": "*" if settings.trusted_proxies else "127.0.0.1",
                # gunicorn 27's control socket lives in $HOME: two khudan servers would fight over it.
                "control_socket_disable": True,
                "on_exit": stop_front,
                "post_worker_init": _settle,
                "worker_exit": _finish_jobs,
            },
        ).run()
    finally:
        if front.poll() is None:
            front.terminate()
