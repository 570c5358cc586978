"""Who runs a run: an owner token per process, and whether that process is still alive."""

from __future__ import annotations

import os
import socket
from functools import cache


def _stat_fields(pid: int) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2 :].split()


def _start_ticks(pid: int) -> str:
    """The process start time in clock ticks (Linux); tells a live pid from a reused one."""
    fields = _stat_fields(pid)
    return fields[19].decode() if fields else "?"


def _is_zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet: gone, although ``kill(pid, 0)`` works."""
    fields = _stat_fields(pid)
    return fields is not None and bool(fields) and fields[0] == b"Z"


@cache
def this_process_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


SERVER_OWNER_PREFIX = "server:"
"""Runs owned by a control-plane server: the server itself recovers them, never reaped here."""


def owner_alive(owner: str) -> bool:
    """False only when we can tell for sure that the owning process is gone."""
    if owner.startswith(SERVER_OWNER_PREFIX):
        return True
    try:
        host, pid_text, ticks = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != socket.gethostname():
        return True  # another machine's run: we cannot tell
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _is_zombie(pid):
        return False
    return ticks == "?" or _start_ticks(pid) in (ticks, "?")
