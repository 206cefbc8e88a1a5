"""A serving process freezes what it holds once loaded, so full collections stop walking the app,
and still collects the garbage it makes afterwards (in a fresh interpreter: a freeze is for the
whole process)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import gc, weakref
from khudan.app import create_app  # the modules a worker process holds
from khudan import heap

class Node:
    pass

heap.settle()
frozen = gc.get_freeze_count()
assert frozen > 10_000, frozen  # the modules, the app's classes, what was alive
before = len(gc.get_objects())
assert before < frozen, (before, frozen)  # the collector no longer walks them

cycle = Node()
cycle.me = cycle  # garbage made while serving: only the collector frees a cycle
gone = weakref.ref(cycle)
del cycle
gc.collect()
assert gone() is None
print("ok", frozen, before)
"""


def test_settle_freezes_what_is_loaded_and_later_garbage_is_still_collected():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")
