"""What a running app holds: its settings, database and storage, set up once by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, request

from .config import Settings
from .db import Database
from .services.jobs import Queue
from .storage import Storage


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    queue: Queue

    def init_app(self, app: Flask) -> None:
        app.extensions["khudan"] = self


def current() -> Runtime:
    return current_app.extensions["khudan"]


def base_url() -> str:
    """Where clients reach us: KHUDAN_PUBLIC_URL behind a proxy, else the address they used."""
    public = current().settings.public_url
    return public if public else request.host_url.rstrip("/") + request.script_root
