"""Production serving with gunicorn: several worker processes, each with threads.

Each worker builds its own app (and database connections) after the fork. One access-log line is
written per request.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication

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


def serve_gunicorn(settings: Settings, *, host: str, port: int, workers: int, threads: int) -> None:
    _Server(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 300,  # a 100 MB upload over a slow rural link takes minutes
            "accesslog": "-",
            "errorlog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "forwarded_allow_ips": "*" if settings.trusted_proxies else "127.0.0.1",
            # gunicorn 27's control socket lives in $HOME: two khudan servers would fight over it.
            "control_socket_disable": True,
        },
    ).run()
