"""The garbage collector in processes that serve for long (gunicorn's workers, ``khudan
worker``).

Python's full collection walks every object it tracks. In a serving process almost all of them
(modules, the app, SQLAlchemy's mappers and compiled statements, the form caches) live as long as
the process, yet each full collection walked them again: about 130,000 objects, roughly every 120
jobs, 0.8-1.3 ms a job of a poverty review's ~10 ms, and a pause of the same length for the
requests of that process. ``gc.freeze()`` (Python 3.7+) moves what is alive once the app is loaded
out of the collector's sight; it is still freed by reference counting, only reference cycles among
those objects would stay (they are the app's own, kept until the process ends anyway).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Call once the process's app is loaded and before it serves: collect, then freeze what is
    left."""
    gc.collect()
    gc.freeze()
