"""Reads the jobs of one batch share.

Every job of a batch asks again for the same few reference rows: its form version's media, its
sender's areas, its commune's kind, which entity lists wait for approval. Within a batch (up to
four jobs run together, well within a second: ``services.processing``) each is read once: its jobs
see those rows as they were when the batch began, as if they had run at once; the next batch reads
them again. No job changes them. The batch also reads ahead, for all its jobs at once, what each
job reads first (``remember``). On PostgreSQL each read is a round trip.
Outside a batch (a request, a command) nothing is remembered. Values kept here are shared by the
batch's jobs: callers must not change them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_CURRENT: ContextVar[dict | None] = ContextVar("khudan_batch_reads", default=None)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Within this block (one thread's batch of jobs), :func:`once` remembers what it read."""
    token = _CURRENT.set({})
    try:
        yield
    finally:
        _CURRENT.reset(token)


def once(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or within a batch what it gave the first time ``key`` was asked."""
    kept = _CURRENT.get()
    if kept is None:
        return read()
    if key not in kept:
        kept[key] = read()
    return kept[key]


def take(key: Hashable, read: Callable[[], T]) -> T:
    """What was remembered for ``key`` (read ahead), forgotten once taken, or else ``read()``:
    for rows a job goes on to change, so that the next job reads them as changed."""
    kept = _CURRENT.get()
    if kept is not None and key in kept:
        return kept.pop(key)
    return read()


def remember(key: Hashable, value: object) -> None:
    """Within a batch, what :func:`once` gives for ``key`` (read ahead for several jobs at once);
    outside a batch, nothing."""
    kept = _CURRENT.get()
    if kept is not None:
        kept[key] = value
