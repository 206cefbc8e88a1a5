"""The job queue behind ingest: enqueue in the submission's transaction, claim with a lease, run,
retry with back-off, park what keeps failing.

A job is claimed by a compare-and-set on its lease (``locked_until``), so two workers never run
one job at once, on SQLite or PostgreSQL, in one process or on several machines; on PostgreSQL
the candidate is read ``FOR UPDATE SKIP LOCKED`` so that workers do not queue behind each other.
No broker: the table is the queue, so the embedded default needs nothing else, and a job exists
exactly when its submission version was stored. A worker killed mid-job holds a lease that runs
out (``LEASE``); then any worker runs the job again, which gives the same result (see
``services.processing``). A finished job is deleted with its results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Insert, Integer, Update, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ..db import Database
from ..models import Job, JobState, SubmissionVersion
from ..models.base import utcnow
from ..storage import Storage
from ..xforms.safexml import XmlLimits
from . import audit, entity_updates, photos, processing

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)  # far above a job's time: a photo takes well under a second
MAX_ATTEMPTS = 8  # then parked: 1+2+4+…+128 s of back-off, about four minutes in all
POLL_SECONDS = 1.0  # a worker with nothing to do looks again after this (or when woken)
NICENESS = 10  # worker threads beside the requests yield the CPU to them (see Workers)
THREAD_NAME = "khudan-jobs"  # the operating system's name of a worker thread
MAX_YIELD_SECONDS = 0.25  # the longest a worker thread waits for this process's requests
CLAIM_BATCH = 4  # jobs a worker claims at once when that many are due
BACKLOG_CHECK_SECONDS = 600  # how often an idle process looks for held entity updates to force


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2 ** (attempts - 1), 600))


_INSERT = insert(Job.__table__)  # built once: ingest's path is counted in statements and ms


def due(now: dt.datetime) -> dict:
    """The values of a new job, due at once."""
    return {"state": JobState.PENDING.value, "attempts": 0, "run_after": now, "created_at": now}


def enqueue(session: Session, version_ids: list[int]) -> None:
    """Add a job per version, in the caller's transaction (the outbox)."""
    values = due(utcnow())
    for version_id in version_ids:
        session.connection().execute(_INSERT, {"version_id": version_id, **values})


def enqueue_from(version_ids) -> Insert:
    """An INSERT of a job per value of the column ``version_ids`` (a CTE's, in the statement
    that inserts the versions), with :func:`due`'s values as bound parameters."""
    names = tuple(due(utcnow()))
    return insert(_JOBS).from_select(
        ["version_id", *names],
        select(version_ids, *(bindparam(name, type_=_JOBS.c[name].type) for name in names)),
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    version_id: int
    attempts: int  # counting this one


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(
    db: Database, worker: str, job_id: int | None = None, lease: dt.timedelta = LEASE
) -> Claimed | None:
    """The oldest job that is due and not leased (or ``job_id``), leased to ``worker`` for
    ``lease``."""
    found = claim_many(db, worker, 1, lease, job_id)
    return found[0] if found else None


def claim_many(
    db: Database,
    worker: str,
    limit: int = CLAIM_BATCH,
    lease: dt.timedelta = LEASE,
    job_id: int | None = None,
) -> list[Claimed]:
    """Up to ``limit`` due jobs not leased, oldest first, leased to ``worker`` for ``lease`` in
    one statement and one commit: a commit costs about what a small job's statements do, so a
    busy worker takes a few at once (and runs them together: :func:`run_many`)."""
    with db.write_lock(), db.session() as session:
        db.lazy_commit(session)  # a claim lost to a power cut leaves the job due: it runs then
        won = claim_in(session, worker, limit, lease, job_id)
        session.commit()
    return won


def claim_in(
    session: Session,
    worker: str,
    limit: int = CLAIM_BATCH,
    lease: dt.timedelta = LEASE,
    job_id: int | None = None,
) -> list[Claimed]:
    """:func:`claim_many` in ``session``'s write transaction (the caller holds the write lock and
    commits): a busy worker claims its next batch with the writes of the last one."""
    now = utcnow()
    params = {"now": now, "until": now + lease, "worker": worker, "limit": limit, "job_id": job_id}
    rows = session.connection().execute(_CLAIM_NEXT if job_id is None else _CLAIM_THIS, params)
    return [Claimed(row.id, row.version_id, row.attempts) for row in sorted(rows.all())]


# The claim, built once: a worker claims once per batch. The candidates are read
# ``FOR UPDATE SKIP LOCKED`` (PostgreSQL: a row another worker is claiming is passed over, not
# waited for), and the UPDATE checks again that each is due (the compare-and-set: a job leased
# meanwhile is not taken twice).
_JOBS = Job.__table__
_DUE = (
    _JOBS.c.state == JobState.PENDING.value,
    _JOBS.c.run_after <= bindparam("now"),
    or_(_JOBS.c.locked_until.is_(None), _JOBS.c.locked_until < bindparam("now")),
)


def _claim(candidates) -> Update:
    # MATERIALIZED: the candidates are read once (PostgreSQL would otherwise rescan the LIMITed
    # subquery inside the UPDATE and take more jobs than asked for).
    chosen = candidates.with_for_update(skip_locked=True).cte("chosen").prefix_with("MATERIALIZED")
    return (
        update(_JOBS)
        .where(_JOBS.c.id.in_(select(chosen.c.id)), *_DUE)
        .values(
            locked_until=bindparam("until"),
            locked_by=bindparam("worker"),
            attempts=_JOBS.c.attempts + 1,
        )
        .returning(_JOBS.c.id, _JOBS.c.version_id, _JOBS.c.attempts)
    )


_CANDIDATES = select(_JOBS.c.id).where(*_DUE)
_CLAIM_NEXT = _claim(_CANDIDATES.order_by(_JOBS.c.id).limit(bindparam("limit", type_=Integer)))
_CLAIM_THIS = _claim(_CANDIDATES.where(_JOBS.c.id == bindparam("job_id")))


@dataclass(frozen=True)
class Context:
    """What running a job needs."""

    db: Database
    storage: Storage
    policy: photos.Policy
    limits: XmlLimits
    lease: dt.timedelta = LEASE
    backlog_wait: dt.timedelta = dt.timedelta(days=5)  # see entities.force_held

    @classmethod
    def of(cls, settings, db: Database, storage: Storage) -> Context:
        return cls(
            db,
            storage,
            photos.Policy.from_settings(settings),
            settings.submission_limits,
            dt.timedelta(seconds=settings.job_lease_seconds),
            dt.timedelta(days=settings.entity_backlog_days),
        )

    @classmethod
    def plain(cls, db: Database, storage: Storage) -> Context:
        """The default photo policy and XML limits (tests and benchmarks)."""
        return cls(db, storage, photos.Policy(), XmlLimits())


def run(ctx: Context, job: Claimed) -> bool:
    """Run a claimed job; True when it is done. A failure frees the job for a later try (with
    back-off) or, after ``MAX_ATTEMPTS``, parks it with its error."""
    return run_many(ctx, [job])[0] == 1


def _failed(ctx: Context, job: Claimed, exc: Exception) -> None:
    log.error("job %s (submission version %s) failed", job.id, job.version_id, exc_info=exc)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    parked = job.attempts >= MAX_ATTEMPTS
    values = {"locked_until": None, "locked_by": None, "error": error}
    if parked:
        values["state"] = JobState.PARKED.value
    else:
        values["run_after"] = utcnow() + backoff(job.attempts)
    with ctx.db.write_lock(), ctx.db.session() as session:
        session.execute(update(Job).where(Job.id == job.id).values(**values))
        session.commit()


def run_many(
    ctx: Context,
    claimed: list[Claimed],
    pause: Callable[[], None] = lambda: None,
    claim_for: str | None = None,
) -> tuple[int, list[Claimed]]:
    """Run claimed jobs together: one write transaction and one commit for them all. If that
    fails, each runs alone, so that only the failing one is retried or parked. ``pause`` is
    called between two jobs (a worker thread lets its process's requests go first). With
    ``claim_for`` (a worker's name) the next batch is claimed for it in the same transaction:
    one turn of the write lock and one commit a batch instead of two (a worker that took the
    lock again to claim waited behind the other workers' writes). How many were done, and the
    jobs claimed (none when the batch failed: its claim went with it)."""
    then = None
    if claim_for is not None:
        then = lambda session: claim_in(session, claim_for, lease=ctx.lease)  # noqa: E731
    try:
        following = processing.process_many(
            ctx.db,
            ctx.storage,
            [(job.id, job.version_id) for job in claimed],
            ctx.policy,
            ctx.limits,
            pause,
            then,
        )
        return len(claimed), following or []
    except Exception as exc:  # any failure must be kept, not lost
        if len(claimed) == 1:
            _failed(ctx, claimed[0], exc)
            return 0, []
        # Told again, with its job, by the lone run that fails.
        log.info("%d jobs together failed (%s); running each alone", len(claimed), exc)
    done = 0
    for n, job in enumerate(claimed):
        if n:
            pause()
        done += run(ctx, job)
    return done, []


def drain(ctx: Context, progress: Callable[[int], None] | None = None) -> int:
    """Run due jobs until none is left; return how many were done (``progress(tried)`` after
    each)."""
    worker = worker_name()
    done = tried = 0
    claimed = claim_many(ctx.db, worker, lease=ctx.lease)
    while claimed:
        ran, following = run_many(ctx, claimed, claim_for=worker)
        done += ran
        tried += len(claimed)
        if progress:
            progress(tried)
        claimed = following or claim_many(ctx.db, worker, lease=ctx.lease)
    return done


def run_now(ctx: Context, version_ids: list[int]) -> None:
    """Run the jobs of these versions at once, in this thread (``KHUDAN_PROCESS_INLINE``)."""
    with ctx.db.session() as session:
        ids = session.scalars(
            select(Job.id).where(Job.version_id.in_(version_ids)).order_by(Job.id)
        ).all()
    for job_id in ids:
        job = claim(ctx.db, worker_name(), job_id, ctx.lease)
        if job is not None:
            run(ctx, job)


class Requests:
    """The requests this process is answering now. The worker threads of ``khudan serve`` share
    the process (and Python's one interpreter lock) with them, so a job would slow every request
    it runs beside: a worker waits for a moment without requests before it takes the next job,
    but never longer than ``MAX_YIELD_SECONDS``, so the jobs move on under a steady load too."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def middleware(self, app):
        """Wrap a WSGI app so that its requests are counted."""

        def counted(environ, start_response):
            with self._idle:
                self._count += 1
            try:
                return app(environ, start_response)
            finally:
                with self._idle:
                    self._count -= 1
                    if not self._count:
                        self._idle.notify_all()

        return counted

    @property
    def in_flight(self) -> int:
        return self._count

    def wait_idle(self, timeout: float) -> None:
        with self._idle:
            self._idle.wait_for(lambda: not self._count, timeout)


class Workers:
    """Worker threads in this process: each claims and runs jobs until stopped. ``wake`` makes
    an idle one look at once (ingest calls it after each commit). The threads run at a lower
    priority (``NICENESS``) and let this process's requests go first (``Requests``): a 201 is
    what a collector waits for, a job is not."""

    def __init__(self, ctx: Context, threads: int, requests: Requests | None = None) -> None:
        self.ctx = ctx
        self.threads = threads
        self.requests = requests or Requests()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._running: list[threading.Thread] = []

    def start(self) -> Workers:
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"khudan-worker-{i}", daemon=True)
            thread.start()
            self._running.append(thread)
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._running:
            thread.join(timeout)

    def _loop(self) -> None:
        with contextlib.suppress(AttributeError, OSError):  # Linux: a thread has its own niceness
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICENESS)
        with contextlib.suppress(OSError):  # and its own name: `top -H`, `ps -L` show the jobs
            Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text(THREAD_NAME)
        name = worker_name()
        first = threading.current_thread().name == "khudan-worker-0"
        next_backlog = time.monotonic()
        claimed: list[Claimed] = []
        while claimed or not self._stop.is_set():  # stopping, it runs what it holds
            self.requests.wait_idle(MAX_YIELD_SECONDS)
            if not claimed:
                try:
                    claimed = claim_many(self.ctx.db, name, lease=self.ctx.lease)
                except Exception:  # the database may be away for a while
                    log.exception("claiming jobs failed; trying again")
            if not claimed:
                if first and time.monotonic() >= next_backlog:  # one thread a process
                    next_backlog = time.monotonic() + BACKLOG_CHECK_SECONDS
                    force_held(self.ctx)
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
                continue
            _, claimed = run_many(
                self.ctx,
                claimed,
                lambda: self.requests.wait_idle(MAX_YIELD_SECONDS),
                claim_for=None if self._stop.is_set() else name,
            )


def force_held(ctx: Context) -> int:
    """Apply the offline entity updates held longer than ``ctx.backlog_wait``; never raises."""
    try:
        with ctx.db.write_lock(), ctx.db.session() as session:
            forced = entity_updates.process_backlog(session, ctx.backlog_wait)
            session.commit()
    except Exception:
        log.exception("forcing held entity updates failed; trying again later")
        return 0
    if forced:
        log.info("applied %d held offline entity updates", forced)
    return forced


class Queue:
    """How this process gets the work after a 201 done: at once in the request (``inline``), by
    its own worker threads (woken after each submission), or by ``khudan worker`` processes
    elsewhere, which find the jobs in the database."""

    def __init__(self, ctx: Context, inline: bool = False) -> None:
        self.ctx = ctx
        self.inline = inline
        self.workers: Workers | None = None
        self.requests = Requests()  # counted by the app (create_app), yielded to by the workers

    def start(self, threads: int) -> None:
        if self.workers is None and threads > 0:
            self.workers = Workers(self.ctx, threads, self.requests).start()

    def stop(self) -> None:
        if self.workers is not None:
            self.workers.stop()
            self.workers = None

    def wake(self) -> None:
        """New work is due (workers elsewhere find it within ``POLL_SECONDS``)."""
        if self.workers is not None:
            self.workers.wake()

    def submitted(self, version_ids: list[int]) -> None:
        """Called after a submission's transaction committed."""
        if not version_ids:
            return
        if self.inline:
            run_now(self.ctx, version_ids)
        else:
            self.wake()


@dataclass(frozen=True)
class QueueStatus:
    pending: int  # waiting or running
    parked: int
    oldest_seconds: int | None  # how long the oldest pending job has waited


def status(session: Session) -> QueueStatus:
    """The queue's depth, the oldest job's age and the parked jobs: for `khudan status`, the
    admins' page and a monitor."""
    rows = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    oldest = session.scalar(
        select(func.min(Job.created_at)).where(Job.state == JobState.PENDING.value)
    )
    age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        age = max(0, int((utcnow() - oldest).total_seconds()))
    return QueueStatus(rows.get(JobState.PENDING.value, 0), rows.get(JobState.PARKED.value, 0), age)


@dataclass(frozen=True)
class ParkedJob:
    job_id: int
    submission_id: int
    instance_id: str
    instance_name: str | None  # what Collect lists the submission as ("NC-T01-017 - Lò Văn A")
    attempts: int
    error: str | None
    created_at: dt.datetime


def parked(session: Session, limit: int = 100) -> list[ParkedJob]:
    """The oldest parked jobs, with the submission each is for."""
    rows = session.execute(
        select(
            Job.id,
            SubmissionVersion.submission_id,
            SubmissionVersion.instance_id,
            SubmissionVersion.instance_name,
            Job.attempts,
            Job.error,
            Job.created_at,
        )
        .join(SubmissionVersion, SubmissionVersion.id == Job.version_id)
        .where(Job.state == JobState.PARKED.value)
        .order_by(Job.id)
        .limit(limit)
    )
    return [ParkedJob(*row) for row in rows]


def retry_parked(db: Database, actor_id: int | None) -> int:
    """Give every parked job another round of tries (after the cause was fixed), and say who did
    it in the audit log (``actor_id`` None: the command line). How many jobs."""
    with db.write_lock(), db.session() as session:
        again = session.execute(
            update(Job)
            .where(Job.state == JobState.PARKED.value)
            .values(state=JobState.PENDING.value, attempts=0, run_after=utcnow())
        ).rowcount
        audit.record(session, actor_id, "jobs.retry_parked", None, jobs=again)
        session.commit()
    return again
