"""The reads a batch of jobs shares: remembered within the batch only, per thread."""

from __future__ import annotations

import threading

from khudan.services import batch_reads


def test_outside_a_batch_every_read_is_made():
    calls = []
    for _ in range(3):
        assert batch_reads.once("k", lambda: calls.append(1) or len(calls)) == len(calls)
    assert len(calls) == 3


def test_within_a_batch_a_key_is_read_once_and_the_next_batch_reads_again():
    calls = []

    def read() -> int:
        calls.append(1)
        return len(calls)

    with batch_reads.batch():
        assert [batch_reads.once("k", read) for _ in range(3)] == [1, 1, 1]
        assert batch_reads.once("other", read) == 2
        assert batch_reads.once("none", lambda: None) is None  # None is remembered too
        assert batch_reads.once("none", read) is None
    with batch_reads.batch():
        assert batch_reads.once("k", read) == 3
    assert batch_reads.once("k", read) == 4


def test_another_threads_batch_is_its_own():
    seen = []
    with batch_reads.batch():
        batch_reads.once("k", lambda: "mine")
        thread = threading.Thread(target=lambda: seen.append(batch_reads.once("k", lambda: "its")))
        thread.start()
        thread.join()
    assert seen == ["its"]


def test_what_a_batch_read_ahead_is_what_once_gives_and_nothing_outside():
    batch_reads.remember("k", "ahead")  # outside a batch: not kept
    assert batch_reads.once("k", lambda: "read") == "read"
    with batch_reads.batch():
        batch_reads.remember("k", "ahead")
        batch_reads.remember("gone", None)
        assert batch_reads.once("k", lambda: "read") == "ahead"
        assert batch_reads.once("gone", lambda: "read") is None


def test_what_is_taken_is_given_once_then_read_again():
    """``take``: rows a job goes on to change; the next job of the batch reads them anew."""
    with batch_reads.batch():
        batch_reads.remember("k", ["ahead"])
        assert batch_reads.take("k", lambda: ["read"]) == ["ahead"]
        assert batch_reads.take("k", lambda: ["read"]) == ["read"]
        assert batch_reads.take("never", lambda: ["read"]) == ["read"]
    assert batch_reads.take("k", lambda: ["outside"]) == ["outside"]
