"""``khudan serve`` for real (gunicorn, 2 workers x 4 threads) in a subprocess on a free loopback
port, with the household test form and its villages.csv in its forms/ folder: what the live-server
tests and the browser tests both start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from xlsform import form_md, write_xlsx

VILLAGES_CSV = "name,label\nt1,Thôn Phú Thạnh\nt2,Thôn An Lợi\n".encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KhudanServer:
    """``KhudanServer(root, database_url, ready, KHUDAN_SECRET_KEY="x")``, then ``start()`` (again
    after ``kill()`` if need be); ``ready(url)`` says whether the server answers as it should once
    up."""

    def __init__(
        self,
        root: Path,
        database_url: str,
        ready: Callable[[str], bool],
        serve_args: tuple[str, ...] = ("--workers", "2", "--threads", "4"),
        **env: str,
    ):
        self.ready = ready
        self.serve_args = serve_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.media = root / "media"
        self.log = root / "server.log"
        forms_dir = root / "forms"
        (forms_dir / "household-media").mkdir(parents=True)
        write_xlsx(form_md("household", version="1"), forms_dir / "household.xlsx")
        (forms_dir / "household-media" / "villages.csv").write_bytes(VILLAGES_CSV)
        self.env = {
            **os.environ,
            "KHUDAN_DATABASE_URL": database_url,
            "KHUDAN_MEDIA_ROOT": str(self.media),
            "KHUDAN_INSTANCE_DIR": str(root / "instance"),
            "KHUDAN_FORMS_DIR": str(forms_dir),
            **env,
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        khudan = [sys.executable, "-c", "from khudan.cli import main; main()"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*khudan, "serve", "--port", str(self.port), *self.serve_args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if self.ready(self.url):
                    return
            except (requests.ConnectionError, requests.Timeout):  # still starting
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the master and its workers: no clean-up, no flush, as a power cut to Python."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
