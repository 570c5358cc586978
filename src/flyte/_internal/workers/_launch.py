"""Starting worker interpreters, and making sure none of them outlives the parent.

Workers are fresh interpreters started with ``subprocess`` (the equivalent of multiprocessing's
"spawn", without its resource-tracker process, its re-import of the parent's ``__main__`` and its
ban on daemonic workers having children of their own).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

from flyte._internal.workers._worker import BOOT

LIVE: dict[int, subprocess.Popen[bytes]] = {}
"""Worker processes not yet reaped, by pid; killed at interpreter exit if nobody closed them."""


def _interpreter_flags() -> list[str]:
    try:  # -O, -X ..., -W ...: what multiprocessing passes on to its spawned children too
        return subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    except Exception:
        return []


def launch(sys_path: list[str]) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start a worker with ``sys_path``; return it and the parent's end of its socket pair."""
    parent_sock, child_sock = socket.socketpair()
    try:
        fd = child_sock.fileno()
        args = [sys.executable, *_interpreter_flags(), "-c", BOOT, str(fd)]
        args += [json.dumps(sys_path), json.dumps(sys.argv)]
        proc = subprocess.Popen(
            args,
            pass_fds=(fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the parent only; a kill takes the whole group
        )
    except BaseException:
        parent_sock.close()
        raise
    finally:
        child_sock.close()
    LIVE[proc.pid] = proc
    return proc, parent_sock


def kill_all_at_exit() -> None:
    """atexit: kill and reap every worker process still alive, so none outlives the parent."""
    for pid, proc in list(LIVE.items()):
        if proc.poll() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                proc.wait(timeout=2)
            except Exception:
                pass
    LIVE.clear()
