"""One worker process as the parent sees it: launch, messages, captured output, limits, kill, reaping.

Everything here runs on the parent's event loop. A worker is watched three ways: its socket
(messages, then end of stream), a pidfd (the moment the process exits) and its stdout/stderr
pipes (the running action's output, kept even when the process crashes). An action's fate is
settled only once the process has exited and its socket is drained, so a result written just
before a crash is never mistaken for a crash.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from flyte._internal.controllers._action import TraceEntry
from flyte._internal.runtime.convert import decode_inputs, encode_outputs
from flyte._internal.workers import _protocol as p
from flyte._internal.workers._worker import BOOT, PAGE
from flyte.errors import MaxRuntimeExceededError, OOMError, WorkerDiedError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext

log = logging.getLogger("flyte.workers")

STARTUP_TIMEOUT = 60.0
EXIT_DRAIN_GRACE = 0.5
"""After the process exits, how long to wait for its socket to deliver what it wrote last."""
LOST_LINK_GRACE = 1.0
"""A worker that closed its socket but is still alive after this long is killed."""
STDERR_TAIL = 20

OnSubmit = Callable[["TaskTemplate[Any, Any]", tuple, dict], Awaitable[Any]]
OnTrace = Callable[[TraceEntry], None]


class Owner(Protocol):
    """What a worker reports to the pool that holds it."""

    def park(self) -> None: ...

    def unpark(self) -> None: ...

    def worker_exited(self, worker: WorkerProcess) -> None: ...


class Call:
    """One action attempt dispatched to a worker."""

    __slots__ = ("id", "task", "tctx", "future", "logs", "subs", "parked", "on_submit", "on_trace")
    __slots__ += ("timeout", "memory_limit", "baseline", "timers")

    def __init__(self, call_id: int, task: TaskTemplate[Any, Any], tctx: TaskContext, future: asyncio.Future):
        self.id = call_id
        self.task = task
        self.tctx = tctx
        self.future = future
        self.logs: list[tuple[str, str]] = []
        self.subs: dict[int, asyncio.Task[None]] = {}
        self.parked = False
        self.on_submit: OnSubmit | None = None
        self.on_trace: OnTrace | None = None
        self.timeout: float | None = None
        self.memory_limit: int | None = None
        self.baseline = 0
        self.timers: list[asyncio.TimerHandle] = []

    def describe(self) -> str:
        return f"Task '{self.task.name}' (action '{self.tctx.action.name}')"


def _exit_text(rc: int) -> str:
    if rc < 0:
        try:
            return f"was killed by signal {signal.Signals(-rc).name}"
        except ValueError:
            return f"was killed by signal {-rc}"
    return f"exited with code {rc}"


def _interpreter_flags() -> list[str]:
    try:
        return subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    except Exception:
        return []


class WorkerProcess(asyncio.Protocol):
    """A worker process and its connection; one action at a time."""

    def __init__(
        self,
        owner: Owner,
        locate: Callable[[p.Locator], TaskTemplate[Any, Any]],
        *,
        kill_grace: float,
        poll_interval: float,
    ):
        self.owner = owner
        self.locate = locate
        self.kill_grace = kill_grace
        self.poll_interval = poll_interval
        self.loop = asyncio.get_running_loop()
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.transport: asyncio.Transport | None = None
        self.frames = p.FrameBuffer()
        self.ready: asyncio.Future[None] = self.loop.create_future()
        self.exited: asyncio.Future[int] = self.loop.create_future()
        self.call: Call | None = None
        self.dying = False
        self.kill_reason: str | None = None
        self.retire_after_call = False
        self.returncode: int | None = None
        self.eof = False
        self.idle_since = 0.0
        self.sys_path: list[str] = []
        self._ids = itertools.count(1)
        self._pidfd: int | None = None
        self._streams: dict[int, str] = {}
        self._partial: dict[int, bytes] = {}
        self._tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        self._timers: list[asyncio.TimerHandle] = []

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Launch the process (a fresh interpreter, never a fork) and wait until it is ready."""
        parent_sock, child_sock = socket.socketpair()
        self.sys_path = list(sys.path)
        try:
            fd = child_sock.fileno()
            args = [sys.executable, *_interpreter_flags(), "-c", BOOT, str(fd)]
            args += [json.dumps(self.sys_path), json.dumps(sys.argv)]
            self.proc = subprocess.Popen(
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
        self.pid = self.proc.pid
        _LIVE[self.pid] = self.proc
        for pipe, stream in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr")):
            assert pipe is not None
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._streams[fd] = stream
            self._partial[fd] = b""
            self.loop.add_reader(fd, self._on_output, fd)
        try:
            self._pidfd = os.pidfd_open(self.pid)
            self.loop.add_reader(self._pidfd, self._on_exit)
        except (AttributeError, OSError):  # no pidfd (old kernel or not Linux): poll instead
            self._poll_exit()
        await self.loop.create_unix_connection(lambda: self, sock=parent_sock)
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), STARTUP_TIMEOUT)
        except asyncio.TimeoutError:
            self.kill("startup", grace=False)
            raise WorkerDiedError(f"Worker process {self.pid} did not start within {STARTUP_TIMEOUT:g}s") from None
        except BaseException:
            self.kill("startup", grace=False)
            raise

    def retire(self) -> None:
        """Let an idle worker go: closing the socket makes it exit; killed if it lingers."""
        if self.dying:
            return
        self.dying = True
        self.kill_reason = self.kill_reason or "retired"
        if self.transport is not None:
            self.transport.close()
        self._timers.append(self.loop.call_later(LOST_LINK_GRACE, self._signal, signal.SIGKILL))

    def kill(self, reason: str, *, grace: bool = True) -> None:
        """Stop the process now (SIGTERM, then SIGKILL after the grace period); ``reason`` names the error."""
        if self.kill_reason in (None, "retired"):
            self.kill_reason = reason
        self.dying = True
        if grace and self.kill_grace > 0:
            self._signal(signal.SIGTERM)
            self._timers.append(self.loop.call_later(self.kill_grace, self._signal, signal.SIGKILL))
        else:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.returncode is not None or self.proc is None:
            return  # reaped: the pid may already belong to someone else
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _poll_exit(self) -> None:
        if self._on_exit() is None:
            self._timers.append(self.loop.call_later(0.05, self._poll_exit))

    def _on_exit(self) -> int | None:
        assert self.proc is not None
        rc = self.proc.poll()
        if rc is None:
            return None
        self.returncode = rc
        _LIVE.pop(self.pid, None)
        if self._pidfd is not None:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self.eof:
            self._finalize()
        else:
            self._timers.append(self.loop.call_later(EXIT_DRAIN_GRACE, self._finalize))
        return rc

    def _finalize(self) -> None:
        """The process has exited and its socket is drained: settle the action, tell the pool."""
        if self.exited.done():
            return
        for timer in self._timers:
            timer.cancel()
        if self.transport is not None:
            self.transport.close()
        self._drain()
        for fd in list(self._streams):
            self.loop.remove_reader(fd)
        assert self.proc is not None and self.returncode is not None
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
        self.dying = True
        error = self._death_error(self.returncode)
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()  # retrieved here: start() may already have given up on it
        if self.call is not None:
            self._end_call(None, error)
        self.exited.set_result(self.returncode)
        self.owner.worker_exited(self)

    def _death_error(self, rc: int) -> Exception:
        call, reason = self.call, self.kill_reason
        who = call.describe() if call is not None else "No action"
        if call is not None and reason == "timeout":
            return MaxRuntimeExceededError(
                f"{who} exceeded its max_runtime of {call.timeout:g}s on attempt "
                f"{call.tctx.attempt_number + 1}; its worker process {self.pid} was killed"
            )
        if call is not None and reason == "oom":
            return OOMError(
                "OOMError",
                f"{who} used more memory than its limit of {(call.memory_limit or 0) / 2**20:.0f} MiB; "
                f"its worker process {self.pid} was killed",
            )
        if reason == "closed":
            return WorkerDiedError(f"{who}: the process executor was closed while it ran", f"pid {self.pid}")
        tail = "\n".join(self._tail)
        text = f"{who}: worker process {self.pid} {_exit_text(rc)} before reporting a result"
        if reason == "startup" or not self.ready.done():
            text = f"Worker process {self.pid} {_exit_text(rc)} while starting"
        return WorkerDiedError(text + (f"\nLast stderr lines:\n{tail}" if tail else ""), f"pid {self.pid}")

    # -- the socket ---------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if self.returncode is not None:
            self._finalize()
        elif not self.exited.done():
            self._timers.append(self.loop.call_later(LOST_LINK_GRACE, self._signal, signal.SIGKILL))

    def data_received(self, data: bytes) -> None:
        try:
            for message in self.frames.feed(data):
                kind = message[0]
                if kind == p.OK or kind == p.ERR:
                    self._on_result(message)
                elif kind == p.SUB:
                    self._on_submit(message)
                elif kind == p.SUB_CANCEL:
                    self._on_sub_cancel(message)
                elif kind == p.TRACE:
                    self._on_trace(message)
                elif kind == p.READY and not self.ready.done():
                    self.ready.set_result(None)
        except Exception:
            log.exception("flyte: bad message from worker process %s; killing it", self.pid)
            self.kill("protocol", grace=False)

    # -- actions -----------------------------------------------------------------------------------------

    def dispatch(
        self,
        task: TaskTemplate[Any, Any],
        locator: p.Locator,
        inputs: bytes,
        tctx: TaskContext,
        env: dict[str, str],
        timeout: float | None,
        memory_limit: int | None,
    ) -> Call:
        """Send one action to this (idle, ready) worker; its outcome arrives on ``call.future``."""
        assert self.transport is not None and self.call is None
        call = Call(next(self._ids), task, tctx, self.loop.create_future())
        call.timeout, call.memory_limit = timeout, memory_limit
        sys_path = None
        if sys.path != self.sys_path:
            sys_path = self.sys_path = list(sys.path)
        if memory_limit:
            call.baseline = self.rss() or 0
            call.timers.append(self.loop.call_later(self.poll_interval, self._check_memory, call))
        if timeout:
            call.timers.append(self.loop.call_later(timeout, self._expire, call))
        self.call = call
        wire = p.tctx_to_wire(tctx)
        self.transport.write(p.pack([p.EXEC, call.id, locator, inputs, wire, env, memory_limit, sys_path]))
        return call

    def rss(self) -> int | None:
        """Resident memory of the worker process in bytes, from /proc."""
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            return None

    def _expire(self, call: Call) -> None:
        if self.call is call:
            self.kill("timeout")

    def _check_memory(self, call: Call) -> None:
        if self.call is not call or self.dying:
            return
        rss = self.rss()
        if rss is not None and call.memory_limit and rss - call.baseline > call.memory_limit:
            self.kill("oom", grace=False)
            return
        call.timers.append(self.loop.call_later(self.poll_interval, self._check_memory, call))

    def _on_result(self, message: list[Any]) -> None:
        call = self.call
        if call is None or message[1] != call.id:
            return
        if message[0] == p.OK:
            self._end_call(message[2], None)
            return
        wire = message[2]
        if wire[0] == "oom":
            self.retire_after_call = True  # a worker that hit MemoryError may be left fragmented
            limit = f"its limit of {call.memory_limit / 2**20:.0f} MiB" if call.memory_limit else "the memory"
            error: Exception = OOMError("OOMError", f"{call.describe()} ran out of memory ({limit}): {wire[2]}")
        else:
            error = p.error_from_wire(wire)
        self._end_call(None, error)

    def _end_call(self, outputs: bytes | None, error: Exception | None) -> None:
        call = self.call
        assert call is not None
        for timer in call.timers:
            timer.cancel()
        for sub in call.subs.values():
            sub.cancel()  # a child cannot outlive its parent action
        call.subs.clear()
        if call.parked:
            call.parked = False
            self.owner.unpark()
        self._drain()
        self.call = None
        if call.future.done():  # the caller was cancelled
            return
        if error is None:
            call.future.set_result(outputs)
        else:
            try:
                error.worker_logs = call.logs  # type: ignore[attr-defined]
            except Exception:
                pass
            call.future.set_exception(error)

    # -- what the action asks of the parent ----------------------------------------------------------------

    def _on_submit(self, message: list[Any]) -> None:
        _, sub_id, call_id, locator, inputs = message
        call = self.call
        if call is None or call.id != call_id:
            return
        call.subs[sub_id] = self.loop.create_task(self._serve_submit(call, sub_id, locator, inputs))
        if not call.parked:
            call.parked = True  # waiting on a child: its slot should not block the child from a worker
            self.owner.park()

    async def _serve_submit(self, call: Call, sub_id: int, locator: p.Locator, inputs: bytes) -> None:
        try:
            if call.on_submit is None:
                raise RuntimeError(f"{call.describe()} called a task, but its executor accepts no child calls")
            child = self.locate(locator)
            value = await call.on_submit(child, (), decode_inputs(child, inputs))
            reply = [p.SUB_OK, sub_id, encode_outputs(child, value)]
        except asyncio.CancelledError:
            raise
        except Exception as e:
            reply = [p.SUB_ERR, sub_id, p.error_to_wire(e)]
        finally:
            call.subs.pop(sub_id, None)
            if call.parked and not call.subs:
                call.parked = False
                self.owner.unpark()
        if self.call is call and self.transport is not None and not self.transport.is_closing():
            self.transport.write(p.pack(reply))

    def _on_sub_cancel(self, message: list[Any]) -> None:
        call = self.call
        sub = call.subs.get(message[1]) if call is not None else None
        if sub is not None:
            sub.cancel()

    def _on_trace(self, message: list[Any]) -> None:
        call = self.call
        if call is None or call.id != message[1] or call.on_trace is None:
            return
        try:
            call.on_trace(TraceEntry(*message[2:8]))
        except Exception:
            log.exception("flyte: recording a trace of %s failed", call.describe())

    # -- stdout / stderr -------------------------------------------------------------------------------------

    def _on_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._feed(fd, data)
        else:
            self.loop.remove_reader(fd)

    def _feed(self, fd: int, data: bytes) -> None:
        lines = (self._partial[fd] + data).split(b"\n")
        self._partial[fd] = lines.pop()
        stream = self._streams[fd]
        for line in lines:
            self._line(stream, line.decode("utf-8", "replace"))

    def _line(self, stream: str, text: str) -> None:
        if stream == "stderr":
            self._tail.append(text)
        if self.call is not None:
            self.call.logs.append((stream, text))
        else:  # output outside any action (start-up, a leftover thread): pass it on
            print(f"[flyte worker {self.pid}] {text}", file=sys.stderr)

    def _drain(self) -> None:
        """Take in what is already in the output pipes, then end any unfinished last line."""
        for fd, stream in self._streams.items():
            while True:
                try:
                    data = os.read(fd, 65536)
                except (BlockingIOError, OSError, ValueError):
                    break
                if not data:
                    break
                self._feed(fd, data)
            if self._partial[fd]:
                rest, self._partial[fd] = self._partial[fd], b""
                self._line(stream, rest.decode("utf-8", "replace"))


_LIVE: dict[int, subprocess.Popen[bytes]] = {}
"""Worker processes not yet reaped, by pid; killed at interpreter exit if nobody closed them."""


def kill_all_at_exit() -> None:
    """atexit: kill and reap every worker process still alive, so none outlives the parent."""
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                proc.wait(timeout=2)
            except Exception:
                pass
    _LIVE.clear()
