"""The cyclic garbage collector while a local run is in progress.

A run allocates many small container objects per action (nodes, contexts, futures), almost all of
them freed by reference counting. With CPython's default thresholds the collector still runs a
young-generation pass every 700 net allocations and, every hundred of those, a full pass over every
live object: the modules imported so far and the run's growing action tree. Measured, that was a
fifth of the CPU of a 10,000-action fan-out.

So, while at least one run is in progress in this process:

- objects alive when the first run starts (imports, the user's module state) are moved to the
  permanent generation (``gc.freeze()``): no pass looks at them again;
- the young-generation threshold is raised, so that collections are rarer and each one finds
  more garbage for the time it takes.

Both are undone when the last run in progress ends (``gc.unfreeze()`` hands the frozen objects
back to the oldest generation, and the thresholds the process had are restored), so code after a
run sees the collector exactly as before. Cycles made during a run are still collected, only
less often. Runs may overlap (threads, nested event loops): a count decides first and last.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 20_000
"""Net allocations between young-generation collections during a run (CPython's default: 700)."""

_lock = threading.Lock()
_active = 0
_saved: tuple[int, ...] | None = None
_froze = False


def _enter() -> None:
    global _active, _saved, _froze
    with _lock:
        _active += 1
        if _active > 1 or not gc.isenabled():
            return  # the program turned the collector off: leave it alone
        _saved = gc.get_threshold()
        # A program that froze objects itself manages the permanent generation: never unfreeze those.
        _froze = gc.get_freeze_count() == 0
        if _froze:
            gc.freeze()
        young, *older = _saved
        gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)


def _exit() -> None:
    global _active, _saved, _froze
    with _lock:
        _active -= 1
        if _active > 0 or _saved is None:
            return
        gc.set_threshold(*_saved)
        _saved = None
        if _froze:
            gc.unfreeze()
            _froze = False


@contextmanager
def during_run() -> Iterator[None]:
    """Apply the run-time collector settings for the duration of the ``with`` block."""
    _enter()
    try:
        yield
    finally:
        _exit()
