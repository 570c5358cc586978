"""A process started by a server asks the kernel to stop it when that server dies.

This is done by the child itself, first thing, rather than between fork and exec
(``preexec_fn``), which is unsafe in a process with threads (a server has several): the child
might deadlock on a lock another thread held at fork time. The race that leaves (the parent dying
before the child asked) is closed by comparing the parent's pid with the one the parent passed.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PARENT_PID_ENV = "FLYTE_PARENT_PID"
"""Set by the starting process to its own pid; the child stops itself when that process dies."""

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """On Linux, get SIGTERM when the process named by ``FLYTE_PARENT_PID`` exits (and exit now if
    it already has). Elsewhere, or without the variable, nothing happens."""
    expected = os.environ.pop(PARENT_PID_ENV, None)
    if expected is None or sys.platform != "linux":
        return
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # no prctl: the server's own stop() still ends this process
        return
    if str(os.getppid()) != expected:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
