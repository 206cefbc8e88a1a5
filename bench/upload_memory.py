"""Upload memory benchmark: how much a server worker's memory grows while it receives a 50 MB file.

What it measures
    A real ``khudan serve`` (gunicorn, 1 worker x 2 threads, so there is one worker to watch) on
    127.0.0.1, in a throw-away directory with its own SQLite database and media root. ODK Collect's
    way of sending is used (HEAD, Digest auth, multipart POST with ``xml_submission_file``), through
    tests/collect.py over real HTTP.

    Two uploads of about 50 MB each, to a form with a ``file`` and an ``image`` question:
    1. a 50 MB file answering the ``file`` question (random bytes): the upload path alone, from the
       socket through werkzeug's multipart parser to storage, plus the sniff of its first bytes;
    2. a 50 MB JPEG answering the ``image`` question (5076 x 5076 random pixels at quality 100):
       the same path plus Pillow decoding it (at the smallest DCT scale that still gives a
       1280 px thumbnail) for the photo checks and thumbnails;
    3. for scale, a 12-megapixel phone-sized photo (4000 x 3000) the same way.

    Before each upload the worker gets two 1 MB uploads of the same kind (imports, connections and
    buffers warm), then its peak RSS is reset (``/proc/<pid>/clear_refs``) and its RSS read; after
    the upload the peak (``VmHWM`` in ``/proc/<pid>/status``) is read. Growth = peak - RSS before.

Target (checked at the end; exit code 1 when missed)
    The 50 MB file upload grows the worker's peak RSS by less than 10 MB. The photos' figures are
    printed for information: checking a photo needs its pixels in memory, at the reduced scale
    (about 4 bytes a pixel, e.g. 2538 x 2538 for the 26-megapixel one, 2000 x 1500 for a 12 MP
    phone photo), once.

How to run (from the repository, after ``pip install -e '.[test]'``; Linux, for /proc)
    python bench/upload_memory.py
    python bench/upload_memory.py --mb 100     # another size (the default limit is 100 MB)
    python bench/upload_memory.py --keep       # keep the temp dir (server log, database)
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from collect import CollectClient, requests_sender  # noqa: E402
from factories import noisy_jpeg  # noqa: E402
from ingest import (  # noqa: E402
    HOST,
    KHUDAN_CMD,
    free_port,
    khudan,
    server_env,
    stop_server,
    wait_ready,
)
from xlsform import write_xlsx  # noqa: E402

USERNAME = "bench"
PASSWORD = "bench-" + secrets.token_hex(8)
TARGET_MB = 10.0
FORM = """
| survey |
| | type | name | label |
| | text | note | Note |
| | file | document | A document |
| | image | picture | A photo |
| settings |
| | form_id | version | form_title |
| | bench_upload | 1 | Upload benchmark |
"""


def xml(document: str = "", picture: str = "") -> bytes:
    return (
        '<data id="bench_upload" version="1"><note>x</note>'
        f"<document>{document}</document><picture>{picture}</picture>"
        f"<meta><instanceID>uuid:{secrets.token_hex(16)}</instanceID></meta></data>"
    ).encode()


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class Peak:
    """The peak RSS of a process from now on: the kernel's VmHWM after resetting it, or (where
    clear_refs cannot be written) the highest VmRSS seen by sampling every millisecond."""

    def __init__(self, pid: int):
        self.pid = pid
        self.sampled = 0
        self._stop = threading.Event()
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
            self.kernel = True
        except OSError:
            self.kernel = False
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.sampled = max(self.sampled, status_kb(self.pid, "VmRSS"))
            time.sleep(0.001)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return status_kb(self.pid, "VmHWM") if self.kernel else self.sampled


def worker_pid(master: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if kids:
            return int(kids[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def upload(phone: CollectClient, field: str, name: str, data: bytes) -> None:
    replies = phone.submit(xml(**{field: name}), {name: data})
    if [r.status for r in replies] != [201]:
        raise RuntimeError(f"upload of {name} answered {[(r.status, r.message) for r in replies]}")


def measure(phone: CollectClient, pid: int, field: str, name: str, small: bytes, big: bytes):
    for _ in range(2):
        upload(phone, field, name, small)
    time.sleep(0.2)
    before = status_kb(pid, "VmRSS")
    peak = Peak(pid)
    started = time.perf_counter()
    upload(phone, field, name, big)
    seconds = time.perf_counter() - started
    top = peak.stop()
    return before, top, seconds, peak.kernel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=50, help="upload size in MB (default 50)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args(argv)
    if not Path("/proc/self/status").exists():
        print("needs Linux (/proc)", file=sys.stderr)
        return 2

    size = args.mb * 1_000_000
    tmp = Path(tempfile.mkdtemp(prefix="khudan-upload-"))
    env = server_env(tmp, None)
    env["KHUDAN_MAX_REQUEST_BYTES"] = str(size + 10_000_000)
    proc = None
    try:
        print(f"setting up in {tmp} ...", flush=True)
        khudan(
            env, tmp, "users", "add", USERNAME, "--role", "collector", "--password-stdin",
            stdin=PASSWORD,
        )  # fmt: skip
        form = write_xlsx(FORM, tmp / "bench_upload.xlsx")
        khudan(env, tmp, "forms", "publish", "--skip-validate", str(form))
        side = int((size / 1.94) ** 0.5)  # random pixels at quality 100: ~1.94 bytes a pixel
        photo = noisy_jpeg(side, side, seed=1, quality=100)
        phone_photo = noisy_jpeg(4000, 3000, seed=3, quality=85)
        document = os.urandom(size)
        port = free_port()
        with (tmp / "server.log").open("wb") as log:
            args_ = [
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                "1",
                "--threads",
                "2",
            ]
            proc = subprocess.Popen(
                [*KHUDAN_CMD, *args_],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            wait_ready(proc, port)
            pid = worker_pid(proc.pid)
            phone = CollectClient(requests_sender(), f"http://{HOST}:{port}", USERNAME, PASSWORD)
            results = [
                (
                    f"{len(document) / 1e6:.0f} MB file (file question)",
                    measure(phone, pid, "document", "big.bin", os.urandom(1_000_000), document),
                ),
                (
                    f"{len(photo) / 1e6:.0f} MB JPEG, {side}x{side} px (image question)",
                    measure(
                        phone, pid, "picture", "big.jpg", noisy_jpeg(700, 700, quality=100), photo
                    ),
                ),
                (
                    f"{len(phone_photo) / 1e6:.0f} MB JPEG, 4000x3000 px (a 12 MP phone photo)",
                    measure(
                        phone, pid, "picture", "p.jpg", noisy_jpeg(700, 700, seed=2), phone_photo
                    ),
                ),
            ]
    finally:
        if proc is not None:
            stop_server(proc)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print()
    print(f"worker peak RSS growth during one upload (khudan serve, worker pid {pid}):")
    for label, (before, top, seconds, kernel) in results:
        how = "VmHWM" if kernel else "sampled VmRSS"
        print(
            f"  {label}: {(top - before) / 1024:.1f} MB "
            f"(RSS {before / 1024:.1f} -> peak {top / 1024:.1f} MB by {how}; {seconds:.2f} s)"
        )
    growth = (results[0][1][1] - results[0][1][0]) / 1024
    met = growth < TARGET_MB
    print()
    print(
        f"verdict: {results[0][0]}: {growth:.1f} MB growth "
        f"(target < {TARGET_MB:.0f} MB: {'met' if met else 'MISSED'})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
