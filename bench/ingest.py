"""Submission ingest benchmark: how many ODK Collect submissions per second khudan stores.

What it measures
    A real ``khudan serve`` (gunicorn, 2 workers x 4 threads) on 127.0.0.1, in a throw-away
    directory with its own database, media root and secret key. Client threads, each with one
    HTTP connection (reopened after each answer: the front closes it, see server/front.py), send
    submissions the way ODK Collect does: a ``HEAD /submission``
    that is answered with a Digest challenge, then ``POST /submission`` with a pre-emptive
    ``Authorization: Digest`` header and a counting ``nc``. Each POST is multipart with
    ``xml_submission_file``: a review of the shipped ``poverty_review`` form (JavaRosa-filled
    tests/unit/domain/data/pov1.xml) for a new household each time, in a thôn of the loaded
    registry, with a varied head's name and income; in the photo scenarios also ``house.jpg``, a
    distinct picture per submission (different pixels and perceptual hash, 1280x960 as Collect
    sends with max-pixels=1280). Every response must be 201; anything else is a failure.

    The same bodies are also sent, at the same concurrency, to ``POST /bench/durable`` (enabled by
    ``KHUDAN_BENCH_ENDPOINT=1``): the least a durable endpoint does (multipart parse, each file
    fsynced to storage, one row inserted and committed). The ratio of the two rates is what
    khudan's own work costs on top of making a submission safe. The durable endpoint runs half
    its time just before khudan's run and half just after the queue is empty again, and its rate
    is over both halves: a shared machine's speed drifts by tens of percent within minutes, and a
    ceiling measured on one side only moved the ratios as much as the code did.

    A 201 means stored, not processed: the photo work, checks and facts are jobs that the
    server's worker threads run afterwards. After each run the script waits for the queue to
    empty and reads, from the database, when each version was received and when its job was
    done: processed/s sustained (versions processed over the time from the first receipt to the
    last job's end) and the lag from 201 to processed (p50, p95). With 8 clients it then offers
    half the accepted rate (paced clients) and measures the lag again.

    Scenarios: XML only and XML + photo, each with 1 and 8 clients; per scenario a warm-up, then a
    fixed duration. The load generator runs on the same machine, so it competes with the server
    for CPU; its own CPU use is printed.

Targets (issue 12; checked at the end, exit code 1 when one is missed or a request failed), with
8 clients, XML-only and with a photo:
    accepted submissions >= 0.6 of the durable endpoint's rate;
    processed sustained >= 0.5 of it;
    p95 lag from 201 to processed <= 5 s at half the accepted rate offered.

How to run (from the repository, after ``pip install -e .``)
    python bench/ingest.py                       # SQLite in a temp dir, ~90 s
    python bench/ingest.py --seconds 20          # longer, steadier numbers
    python bench/ingest.py --database-url postgresql+psycopg://user:pw@127.0.0.1/khudan_bench
    python bench/ingest.py --only xml            # one scenario (xml or photo)
    python bench/ingest.py --keep                # keep the temp dir (server log, database)

A PostgreSQL database must be empty (the script adds the user ``bench`` and publishes a form).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import itertools
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import astuple, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from collect import digest_header, parse_digest_challenge  # noqa: E402
from factories import domain_sample, scene  # noqa: E402
from PIL import Image  # noqa: E402

HOST = "127.0.0.1"
USERNAME = "bench"
PASSWORD = "bench-" + secrets.token_hex(8)
PHOTO_NAME = "house.jpg"
USER_AGENT = "org.odk.collect.android/v2026.2.0 (khudan bench/ingest.py)"
TARGET_RATIO = 0.6  # accepted, of the durable endpoint's rate, XML-only and with a photo, 8 clients
TARGET_PROCESSED = 0.5  # processed sustained, of the same
TARGET_LAG = 5.0  # seconds, p95 from 201 to processed, at half the accepted rate offered
MAX_CONSECUTIVE_ERRORS = 20  # a client thread gives up after this many failures in a row
KHUDAN = shutil.which("khudan")
KHUDAN_CMD = [KHUDAN] if KHUDAN else [sys.executable, "-c", "from khudan.cli import main; main()"]


# -- Request bodies ---------------------------------------------------------------------------------


class Bodies:
    """Multipart bodies shaped as okhttp writes them: a poverty review of the shipped form
    (JavaRosa-filled pov1.xml) for a new household each time, with plausible, varied answers,
    and in the photo scenarios a distinct picture of its own (different pixels, ~1280x960)."""

    def __init__(self, photos: list[bytes] | None):
        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._photos = photos
        self._next = itertools.count()
        self.cycled = False  # more bodies were asked for than there are distinct photos
        b = self.boundary.encode()
        self._xml_head = (
            b"--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="xml_submission_file"; filename="instance.xml"\r\n'
            b"Content-Type: text/xml\r\n\r\n"
        )
        self._photo_head = (
            b"\r\n--" + b + b"\r\n"
            b'Content-Disposition: form-data; name="house.jpg"; filename="house.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        self._tail = b"\r\n--" + b + b"--\r\n"

    def make(self) -> bytes:
        n = next(self._next)
        rnd = random.Random(n)
        replace = {
            "NC-T01-017": f"B{uuid.uuid4().hex[:10].upper()}",
            "fa22d4b7-ce38-4004-900a-b698b0fd8ee7": str(uuid.uuid4()),
            "Nguyễn Văn Hải": f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}",
            "<income_per_capita>1200000<": f"<income_per_capita>{rnd.randrange(8, 60) * 100_000}<",
            "<area_code>21607.T01<": f"<area_code>21607.{rnd.choice(('T01', 'T02'))}<",
        }
        if self._photos is None:
            return self._xml_head + domain_sample("pov1.xml", **replace) + self._tail
        replace["<house_photo />"] = f"<house_photo>{PHOTO_NAME}</house_photo>"
        xml = domain_sample("pov1.xml", **replace)
        if n >= len(self._photos):
            self.cycled = True
        photo = self._photos[n % len(self._photos)]
        return b"".join((self._xml_head, xml, self._photo_head, photo, self._tail))


SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Rơ Châm", "Siu")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc")
GIVEN = ("An", "Bình", "Hải", "Lan", "Mai", "Hùng", "Tâm", "H'Bia", "Blếp", "Thu", "Hoa")


CACHE = REPO / "bench" / ".cache"  # made pictures, kept between runs (not in git)


def make_photos(count: int, size: tuple[int, int] = (1280, 960)) -> list[bytes]:
    """``count`` distinct pictures (shapes placed by the seed, so pixels and hashes differ) at the
    size Collect sends with max-pixels=1280, with sensor-like grain so that they weigh what a
    phone's do (about 360 KB at JPEG quality 85). Making 2,000 takes minutes, so they are kept
    in ``bench/.cache`` (length-prefixed JPEGs) and read back by the next run."""
    cached = CACHE / f"photos-{count}-{size[0]}x{size[1]}-v1.bin"
    if cached.is_file():
        data, out, at = cached.read_bytes(), [], 0
        while at < len(data):
            length = int.from_bytes(data[at : at + 4], "big")
            out.append(data[at + 4 : at + 4 + length])
            at += 4 + length
        if len(out) == count:
            return out
    out = _make_photos(count, size)
    CACHE.mkdir(exist_ok=True)
    partial = cached.with_suffix(".part")
    partial.write_bytes(b"".join(len(p).to_bytes(4, "big") + p for p in out))
    partial.replace(cached)
    return out


def _make_photos(count: int, size: tuple[int, int]) -> list[bytes]:
    out = []
    for seed in range(count):
        buf = io.BytesIO()
        grain = Image.effect_noise(size, 40).convert("RGB")
        Image.blend(scene(10_000 + seed, size), grain, 0.25).save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
        if seed % 50 == 49:
            print(f"\r  photos: {seed + 1}/{count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


# -- Load generator ---------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, measured window only
    failures: int = 0
    total: int = 0  # requests answered, warm-up included
    errors: dict[str, int] = field(default_factory=dict)
    first_start: float = 0.0
    last_end: float = 0.0

    def fail(self, what: str) -> None:
        self.failures += 1
        self.errors[what] = self.errors.get(what, 0) + 1

    def joined(self, other: Result) -> Result:
        """Two runs of one endpoint as one (their measured windows added)."""
        errors = dict(self.errors)
        for what, n in other.errors.items():
            errors[what] = errors.get(what, 0) + n
        return Result(
            self.latencies + other.latencies,
            self.failures + other.failures,
            self.total + other.total,
            errors,
            min(self.first_start, other.first_start),
            max(self.last_end, other.last_end),
        )


class Client:
    """One ODK Collect-like client on one persistent connection."""

    def __init__(self, port: int, path: str, bodies: Bodies, digest: bool):
        self.port = port
        self.url = f"{path}?deviceID=collect:{uuid.uuid4().hex[:16]}"
        self.bodies = bodies
        self.digest = digest
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.challenge: dict[str, str] | None = None
        self.nc = 0

    def _headers(self, method: str) -> dict[str, str]:
        headers = {"X-OpenRosa-Version": "1.0", "User-Agent": USER_AGENT}
        if self.digest and self.challenge is not None:
            self.nc += 1
            headers["Authorization"] = digest_header(
                self.challenge, USERNAME, PASSWORD, method, self.url, self.nc
            )
        return headers

    def _send(self, method: str, body: bytes | None, headers: dict) -> tuple[int, list, bytes]:
        try:
            self.conn.request(method, self.url, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # reconnects on the next request
            raise
        return resp.status, resp.getheaders(), data

    def _take_challenge(self, headers: list) -> bool:
        values = [v for k, v in headers if k.lower() == "www-authenticate"]
        challenge = parse_digest_challenge(values)
        if challenge is None:
            return False
        self.challenge, self.nc = challenge, 0
        return True

    def preflight(self) -> None:
        """Collect's HEAD /submission: answered 401 with the Digest challenge we then reuse."""
        status, headers, _ = self._send("HEAD", None, self._headers("HEAD"))
        if status != 401 or not self._take_challenge(headers):
            raise RuntimeError(f"HEAD {self.url} answered {status} without a Digest challenge")

    def post(self) -> tuple[int, bytes]:
        headers = self._headers("POST")
        headers["Content-Type"] = self.bodies.content_type
        status, resp_headers, data = self._send("POST", self.bodies.make(), headers)
        if status == 401 and self.digest:
            self._take_challenge(resp_headers)  # stale nonce: the next POST answers the new one
        return status, data

    def close(self) -> None:
        self.conn.close()


def run_clients(
    port: int,
    path: str,
    bodies: Bodies,
    clients: int,
    warmup: float,
    seconds: float,
    rate: float | None = None,
) -> tuple[Result, float]:
    """Run ``clients`` threads: warm-up, then a measured window. Returns (result, elapsed).
    With ``rate`` the clients together offer that many requests a second (each waits for its
    turn) instead of sending as fast as they are answered."""
    gap = clients / rate if rate else 0.0
    digest = path == "/submission"
    result = Result()
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    times: dict[str, float] = {}

    def worker() -> None:
        client = Client(port, path, bodies, digest)
        local = Result()
        try:
            if digest:
                client.preflight()
        except Exception as exc:  # reported, not raised, from a thread
            local.fail(f"preflight: {exc}")
        ready.wait()
        measure_from, stop_at = times["measure_from"], times["stop_at"]
        consecutive = 0
        due = time.perf_counter() + random.random() * gap
        while (now := time.perf_counter()) < stop_at and consecutive < MAX_CONSECUTIVE_ERRORS:
            if gap:
                if now < due:
                    time.sleep(due - now)
                    continue
                due += gap
            measured = now >= measure_from
            try:
                status, data = client.post()
            except (OSError, http.client.HTTPException) as exc:
                status, data = 0, type(exc).__name__.encode()
            end = time.perf_counter()
            local.total += 1
            if status == 201:
                consecutive = 0
                if measured:
                    local.latencies.append(end - now)
            else:
                consecutive += 1
                detail = re.sub(rb"\s+", b" ", data[:200]).decode("utf-8", "replace")
                local.fail(f"HTTP {status}: {detail}")
            if measured:
                local.last_end = max(local.last_end, end)
        client.close()
        with lock:
            result.latencies += local.latencies
            result.failures += local.failures
            result.total += local.total
            for key, n in local.errors.items():
                result.errors[key] = result.errors.get(key, 0) + n
            result.last_end = max(result.last_end, local.last_end)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    times["measure_from"] = start + warmup
    times["stop_at"] = start + warmup + seconds
    ready.wait()
    for t in threads:
        t.join(timeout=warmup + seconds + 120)
    elapsed = max(result.last_end - times["measure_from"], 1e-9)
    return result, elapsed


# -- The server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(tmp: Path, database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHUDAN_")}
    forms_dir = tmp / "forms"
    forms_dir.mkdir()
    env.update(
        KHUDAN_INSTANCE_DIR=str(tmp / "instance"),
        KHUDAN_MEDIA_ROOT=str(tmp / "media"),
        KHUDAN_DATABASE_URL=database_url or f"sqlite:///{tmp / 'khudan.db'}",
        KHUDAN_FORMS_DIR=str(forms_dir),
        KHUDAN_SECRET_KEY=secrets.token_urlsafe(32),
        KHUDAN_BENCH_ENDPOINT="1",
        KHUDAN_ODK_VALIDATE="0",
    )
    return env


def khudan(env: dict, cwd: Path, *args: str, stdin: str | None = None) -> None:
    done = subprocess.run(
        [*KHUDAN_CMD, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"khudan {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def setup(tmp: Path, env: dict) -> None:
    """The registry (official communes and two thôn of Xã Nhơn Châu), a collector of the
    province and the shipped poverty_review form."""
    khudan(env, tmp, "init")
    khudan(env, tmp, "areas", "load-official")
    thon = tmp / "thon.csv"
    thon.write_text(
        "commune_code,code,name,kind,households_total\n"
        "21607,T01,Thôn Bắc,thon,120\n21607,T02,Thôn Trung,thon,95\n",
        encoding="utf-8",
    )
    khudan(env, tmp, "areas", "import", str(thon))
    khudan(
        env,
        tmp,
        "users",
        "add",
        USERNAME,
        "--role",
        "collector",
        "--area",
        "52",
        "--password-stdin",
        stdin=PASSWORD,
    )
    khudan(
        env, tmp, "forms", "publish", "--skip-validate", str(REPO / "forms" / "poverty_review.xlsx")
    )


def start_server(tmp: Path, env: dict, port: int, log) -> subprocess.Popen:
    args = ["serve", "--host", HOST, "--port", str(port), "--workers", "2", "--threads", "4"]
    return subprocess.Popen(
        [*KHUDAN_CMD, *args],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop_server can reach the workers
    )


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 60) -> None:
    """Until ``HEAD /submission`` answers 401 (auth required: the app is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("HEAD", "/submission", headers={"X-OpenRosa-Version": "1.0"})
            if conn.getresponse().status == 401:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


JOB_THREAD = "khudan-jobs"  # what server/services/jobs.py names its worker threads


def process_tree_cpu(pid: int) -> tuple[float, float] | None:
    """CPU seconds (user + system) of a process and its live children, from /proc (Linux), and
    the part of them that its threads named ``JOB_THREAD`` used."""
    tick = os.sysconf("SC_CLK_TCK")
    total, jobs, todo, seen = 0.0, 0.0, [pid], 0
    while todo and seen < 64:
        p = todo.pop()
        seen += 1
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except (OSError, IndexError, ValueError):
            if p == pid:
                return None
            continue
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                if (task / "comm").read_text().strip() == JOB_THREAD:
                    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    jobs += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):  # a thread that ended meanwhile
                continue
        todo += [int(k) for k in kids]
    return total, jobs


@dataclass(frozen=True)
class Cpu:
    """CPU seconds: the server's process tree, a PostgreSQL server on this machine (its
    processes are not the server's children) and this script (the load generator)."""

    server: float
    jobs: float  # the part of ``server`` its job threads used
    database: float
    client: float

    @classmethod
    def now(cls, pid: int) -> Cpu | None:
        tree = process_tree_cpu(pid)
        if tree is None:
            return None
        return cls(*tree, _postgres_cpu(), time.process_time())

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def per(self, count: int) -> Cpu | None:
        """Each part shared out over ``count`` (submissions, requests); None for none."""
        return Cpu(*(a / count for a in astuple(self))) if count > 0 else None

    @property
    def total(self) -> float:
        return self.server + self.database + self.client


def _postgres_cpu() -> float:
    """CPU seconds of the processes named postgres on this machine (0 when there are none)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


# -- The queue, read from the server's database -------------------------------------------------------


@dataclass
class Processing:
    """How the versions received in one run were processed by the server's worker threads."""

    count: int = 0
    rate: float = 0.0  # versions per second, first receipt to last job's end
    lag_p50: float = float("nan")  # seconds from 201 (receipt) to processed
    lag_p95: float = float("nan")
    drain: float = 0.0  # seconds the queue took to empty after the load stopped
    parked: int = 0
    # Versions per second processed after the last receipt: the jobs with the cores to themselves,
    # as on a worker machine of its own (NaN when too few were left for a figure)
    alone: float = float("nan")


class QueueReader:
    def __init__(self, database_url: str):
        from sqlalchemy import create_engine

        self.engine = create_engine(database_url)

    def mark(self) -> int:
        """The newest version's id: the next run's versions come after it."""
        from sqlalchemy import func, select

        from khudan.models import SubmissionVersion

        with self.engine.connect() as c:
            return c.scalar(select(func.max(SubmissionVersion.id))) or 0

    def wait_empty(self, timeout: float = 900) -> float:
        from sqlalchemy import func, select

        from khudan.models import Job, JobState

        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            with self.engine.connect() as c:
                pending = c.scalar(select(func.count()).where(Job.state == JobState.PENDING.value))
            if not pending:
                break
            time.sleep(0.1)
        return time.perf_counter() - start

    def since(self, mark: int, drain: float) -> Processing:
        from sqlalchemy import func, select

        from khudan.models import Job, JobState, SubmissionVersion

        with self.engine.connect() as c:
            rows = c.execute(
                select(SubmissionVersion.created_at, SubmissionVersion.processed_at).where(
                    SubmissionVersion.id > mark, SubmissionVersion.processed_at.is_not(None)
                )
            ).all()
            parked = c.scalar(select(func.count()).where(Job.state == JobState.PARKED.value))
        if not rows:
            return Processing(drain=drain, parked=parked or 0)
        lags = sorted((done - got).total_seconds() for got, done in rows)
        last_receipt, last_done = max(got for got, _ in rows), max(done for _, done in rows)
        span = (last_done - min(got for got, _ in rows)).total_seconds()
        after = sum(1 for _, done in rows if done > last_receipt)
        tail = (last_done - last_receipt).total_seconds()
        return Processing(
            count=len(rows),
            rate=len(rows) / max(span, 1e-9),
            lag_p50=lags[len(lags) // 2],
            lag_p95=lags[min(len(lags) - 1, int(0.95 * len(lags)))],
            drain=drain,
            parked=parked or 0,
            alone=after / tail if after >= ALONE_MIN and tail >= 0.5 else float("nan"),
        )


ALONE_MIN = 50  # versions processed after the load stopped, for a "jobs alone" rate


# -- Report -----------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    clients: int
    ours: Result
    ours_elapsed: float
    durable: Result
    durable_elapsed: float
    server_cpu: float | None  # CPU seconds of the server during our measured run (incl. warm-up)
    ours_total: int  # requests in that run, warm-up included
    processing: Processing = field(default_factory=Processing)
    paced: Processing | None = None  # at half the accepted rate (8 clients)
    paced_rate: float = 0.0
    # CPU a submission cost from our run's start until the queue was empty, and a durable request
    cost: Cpu | None = None
    durable_cost: Cpu | None = None

    @property
    def processed_ratio(self) -> float:
        return self.processing.rate / self.durable_rate if self.durable_rate else 0.0

    @property
    def rate(self) -> float:
        return len(self.ours.latencies) / self.ours_elapsed

    @property
    def durable_rate(self) -> float:
        return len(self.durable.latencies) / self.durable_elapsed

    @property
    def ratio(self) -> float:
        return self.rate / self.durable_rate if self.durable_rate else 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def print_table(rows: list[Row]) -> None:
    header = ("scenario", "clients", "requests", "subs/s", "p50 ms", "p95 ms", "durable req/s")
    header += ("durable p50", "ratio", "processed/s", "ratio", "lag p50 s", "lag p95 s")
    header += ("drain s", "failures")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.scenario,
                str(r.clients),
                str(len(r.ours.latencies)),
                f"{r.rate:.1f}",
                f"{pct(r.ours.latencies, 0.5):.1f}",
                f"{pct(r.ours.latencies, 0.95):.1f}",
                f"{r.durable_rate:.1f}",
                f"{pct(r.durable.latencies, 0.5):.1f}",
                f"{r.ratio:.2f}",
                f"{r.processing.rate:.1f}",
                f"{r.processed_ratio:.2f}",
                f"{r.processing.lag_p50:.2f}",
                f"{r.processing.lag_p95:.2f}",
                f"{r.processing.drain:.1f}",
                f"{r.ours.failures}/{r.durable.failures}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )


def _cpu_parts(cpu: Cpu) -> str:
    database = f" + PostgreSQL {1000 * cpu.database:.1f}" if cpu.database >= 0.00005 else ""
    jobs = f" (of it jobs {1000 * cpu.jobs:.1f})" if cpu.jobs >= 0.00005 else ""
    return (
        f"server {1000 * cpu.server:.1f}{jobs}{database} + load generator "
        f"{1000 * cpu.client:.1f} = {1000 * cpu.total:.1f} ms"
    )


def report(rows: list[Row], sqlite: bool, client_cpu: float, wall: float) -> bool:
    print()
    print_table(rows)
    print()
    for r in rows:
        if r.clients < 2:
            continue
        cpu = (
            f", server CPU {1000 * r.server_cpu / r.ours_total:.1f} ms/request"
            if r.server_cpu is not None and r.ours_total
            else ""
        )
        print(f"per-submission cost, {r.scenario} @ {r.clients}: {1000 / r.rate:.2f} ms wall{cpu}")
        if r.cost is not None and r.durable_cost is not None and r.cost.total > 0:
            print(
                f"CPU a submission, {r.scenario} @ {r.clients}, until processed: "
                f"{_cpu_parts(r.cost)}; a durable request: {_cpu_parts(r.durable_cost)}; "
                f"ratio {r.durable_cost.total / r.cost.total:.2f} (what processed/s can reach "
                "against the durable endpoint when both keep the CPUs as busy)"
            )
        if r.processing.alone == r.processing.alone and r.durable_rate:  # not NaN
            print(
                f"jobs alone, {r.scenario} @ {r.clients}: {r.processing.alone:.0f} processed/s "
                "after the last 201, the cores theirs (a worker machine like this one would "
                f"process about as much): {r.processing.alone / r.durable_rate:.2f} of the "
                "durable endpoint"
            )
    print(f"load generator CPU: {client_cpu:.1f} s over {wall:.1f} s wall ({os.cpu_count()} CPUs)")
    for r in rows:
        for name, res in (("ours", r.ours), ("durable", r.durable)):
            for what, n in sorted(res.errors.items(), key=lambda kv: -kv[1])[:3]:
                print(f"  {r.scenario} @ {r.clients} {name}: {n} x {what}")

    print()
    failures = sum(r.ours.failures + r.durable.failures for r in rows)
    ok = failures == 0
    keys = [r for r in rows if r.clients == 8]
    if not keys:
        print("verdict: no run with 8 clients; targets not checked")
        return ok
    db = "SQLite" if sqlite else "PostgreSQL"
    for r in keys:
        met = r.ratio >= TARGET_RATIO
        ok = ok and met
        print(
            f"verdict: {r.scenario} @ 8 clients on {db}: {r.rate:.0f} subs/s accepted, "
            f"{r.ratio:.2f} of the durable endpoint's {r.durable_rate:.0f}/s "
            f"(target >= {TARGET_RATIO}: {'met' if met else 'MISSED'})"
        )
        met = r.processed_ratio >= TARGET_PROCESSED
        ok = ok and met
        print(
            f"verdict: {r.scenario} @ 8 clients on {db}: {r.processing.rate:.0f} processed/s "
            f"sustained, {r.processed_ratio:.2f} of the durable endpoint "
            f"(target >= {TARGET_PROCESSED}: {'met' if met else 'MISSED'})"
        )
        if r.paced is not None:
            met = r.paced.lag_p95 <= TARGET_LAG
            ok = ok and met
            print(
                f"verdict: {r.scenario} offered {r.paced_rate:.0f}/s (half the accepted rate): "
                f"p95 lag from 201 to processed {r.paced.lag_p95:.2f} s "
                f"(p50 {r.paced.lag_p50:.2f} s; target <= {TARGET_LAG:g} s: "
                f"{'met' if met else 'MISSED'})"
            )
            if r.paced.rate < 0.85 * r.paced_rate:  # (the last jobs end after the last 201)
                print(
                    f"  note: over that run the jobs processed {r.paced.rate:.0f}/s, less than the "
                    f"{r.paced_rate:.0f}/s offered: the lag grows with the run's length"
                )
        if r.processing.parked:
            ok = False
            print(f"verdict: {r.processing.parked} job(s) parked: see the server log")
    print(f"failed requests: {failures}")
    return ok


# -- Main -------------------------------------------------------------------------------------------


def existing_tables(database_url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(database_url)
    try:
        return sorted(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="e.g. a PostgreSQL URL (default: SQLite, temp dir)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per scenario")
    parser.add_argument("--clients", default="1,8", help="concurrency levels (default 1,8)")
    parser.add_argument(
        "--photos", type=int, default=4000, help="distinct pictures made beforehand (default 4000)"
    )
    parser.add_argument(
        "--only",
        choices=("xml", "photo"),
        help="run one scenario: XML only, or with a photo (default: both)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.clients.split(",") if c.strip()]

    if args.database_url and (tables := existing_tables(args.database_url)):
        print(
            f"{args.database_url} already holds tables ({', '.join(tables[:3])}, …): the "
            "benchmark needs an empty database (it adds a user and publishes a form). Drop and "
            "create it again, e.g. psql -c 'DROP DATABASE khudan_bench' -c 'CREATE DATABASE "
            "khudan_bench'.",
            file=sys.stderr,
        )
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="khudan-bench-"))
    env = server_env(tmp, args.database_url)
    sqlite = env["KHUDAN_DATABASE_URL"].startswith("sqlite")
    log_path = tmp / "server.log"
    proc = None
    ok = False
    failures = 0
    finished = False
    try:
        print(f"setting up in {tmp} ...", flush=True)
        setup(tmp, env)
        scenarios = []
        if args.only != "photo":
            scenarios.append(("xml", Bodies(None), Bodies(None)))
        if args.only != "xml":
            photos = make_photos(args.photos)
            size = sum(map(len, photos)) // len(photos) // 1000
            # khudan's runs and the durable endpoint's draw the pictures each from its own
            # counter, so every photo khudan is sent is one it has not stored yet.
            scenarios.append((f"xml+{size}KB jpg", Bodies(photos), Bodies(photos)))
        port = free_port()
        queue = QueueReader(env["KHUDAN_DATABASE_URL"])
        with log_path.open("wb") as log:
            proc = start_server(tmp, env, port, log)
            wait_ready(proc, port)
            print(
                f"server on {HOST}:{port}; {args.warmup:g}+{args.seconds:g} s per run", flush=True
            )
            rows = []
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for name, bodies, durable_bodies in scenarios:
                for n in levels:
                    queue.wait_empty()
                    d0 = Cpu.now(proc.pid)
                    first, first_s = run_clients(
                        port, "/bench/durable", durable_bodies, n, args.warmup, args.seconds / 2
                    )
                    d1 = Cpu.now(proc.pid)
                    mark = queue.mark()
                    start = Cpu.now(proc.pid)
                    ours, ours_s = run_clients(
                        port, "/submission", bodies, n, args.warmup, args.seconds
                    )
                    after = Cpu.now(proc.pid)
                    processing = queue.since(mark, queue.wait_empty())
                    end = Cpu.now(proc.pid)
                    d2 = Cpu.now(proc.pid)
                    second, second_s = run_clients(
                        port, "/bench/durable", durable_bodies, n, args.warmup, args.seconds / 2
                    )
                    d3 = Cpu.now(proc.pid)
                    durable, durable_s = first.joined(second), first_s + second_s
                    known = None not in (d0, d1, start, after, end, d2, d3)
                    cpu = (after - start).server if known else None
                    row = Row(
                        name, n, ours, ours_s, durable, durable_s, cpu, ours.total, processing
                    )
                    if known:
                        row.cost = (end - start).per(processing.count)
                        row.durable_cost = ((d1 - d0) + (d3 - d2)).per(durable.total)
                    rows.append(row)
                    print(
                        f"  {name} @ {n}: {row.rate:.1f} subs/s, processed "
                        f"{processing.rate:.1f}/s (p95 lag {processing.lag_p95:.1f} s), "
                        f"durable {row.durable_rate:.1f} req/s (before "
                        f"{len(first.latencies) / first_s:.1f}, after "
                        f"{len(second.latencies) / second_s:.1f})",
                        flush=True,
                    )
                    if n >= 2 and row.rate > 0:
                        row.paced_rate = row.rate / 2
                        mark = queue.mark()
                        run_clients(port, "/submission", bodies, n, 0, args.seconds, row.paced_rate)
                        row.paced = queue.since(mark, queue.wait_empty())
                        print(
                            f"  {name} @ {n} offered {row.paced_rate:.1f}/s: p95 lag "
                            f"{row.paced.lag_p95:.2f} s",
                            flush=True,
                        )
            ok = report(rows, sqlite, time.process_time() - cpu0, time.perf_counter() - wall0)
            if any(bodies.cycled for _, bodies, _durable in scenarios):
                print(
                    f"note: more photo submissions than the {args.photos} distinct pictures "
                    "(--photos): some pictures were sent twice"
                )
            failures = sum(r.ours.failures + r.durable.failures for r in rows)
            finished = True
    finally:
        if proc is not None:
            stop_server(proc)
        problems = []
        if log_path.exists():
            text = log_path.read_text(errors="replace")
            problems = [ln for ln in text.splitlines() if " ERROR " in ln or "Traceback" in ln]
        if problems:
            print(f"server log has {len(problems)} error line(s), e.g.: {problems[0][:200]}")
        if args.keep or problems or failures or not finished:
            print(f"kept {tmp} (server log: {log_path})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
