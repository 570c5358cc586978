"""One worker process as the parent sees it: launch, messages, limits, kill, reaping.

Everything here runs on the parent's event loop. A worker is watched three ways: its socket
(messages, then end of stream), a pidfd (the moment the process exits) and its stdout/stderr
pipes (see ``_capture``). An action's fate is settled only once the process has exited and its
socket is drained, so a result written just before a crash is never mistaken for a crash.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from flyte._internal.controllers._action import TraceEntry
from flyte._internal.runtime.convert import decode_inputs, encode_outputs
from flyte._internal.workers import _protocol as p
from flyte._internal.workers._call import Call, CallSite, died, set_call_site
from flyte._internal.workers._capture import OutputCapture
from flyte._internal.workers._launch import LIVE, launch
from flyte._internal.workers._worker import PAGE
from flyte.errors import ActionAbortedError, WorkerDiedError

if TYPE_CHECKING:
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext

log = logging.getLogger("flyte.workers")

STARTUP_TIMEOUT = 60.0
LOAD_GRACE = 60.0
"""How long a worker may take to import an action's task before its max_runtime starts counting."""
EXIT_DRAIN_GRACE = 0.5
"""After the process exits, how long to wait for its socket to deliver what it wrote last."""
LOST_LINK_GRACE = 1.0
"""A worker that closed its socket but is still alive after this long is killed."""


class Owner(Protocol):
    """What a worker reports to the pool that holds it."""

    def park(self) -> None: ...

    def unpark(self) -> None: ...

    def worker_exited(self, worker: WorkerProcess) -> None: ...


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
        self.output: OutputCapture | None = None
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
        self._timers: list[asyncio.TimerHandle] = []
        self._poller: asyncio.TimerHandle | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Launch the process (a fresh interpreter, never a fork) and wait until it is ready."""
        self.sys_path = list(sys.path)
        self.proc, parent_sock = launch(self.sys_path)
        self.pid = self.proc.pid
        assert self.proc.stdout is not None and self.proc.stderr is not None
        pipes = [(self.proc.stdout, "stdout"), (self.proc.stderr, "stderr")]
        self.output = OutputCapture(self.loop, self.pid, pipes, self._logs)
        try:
            self._pidfd = os.pidfd_open(self.pid)
            self.loop.add_reader(self._pidfd, self._on_exit)
        except (AttributeError, OSError):  # no pidfd (old kernel or not Linux): poll instead
            self._poll_exit()
        try:
            await self.loop.create_unix_connection(lambda: self, sock=parent_sock)
            await asyncio.wait_for(asyncio.shield(self.ready), STARTUP_TIMEOUT)
        except asyncio.TimeoutError:
            self.kill("startup", grace=False)
            text = f"Worker process {self.pid} did not start within {STARTUP_TIMEOUT:g}s"
            raise WorkerDiedError(text, f"pid {self.pid}") from None
        except BaseException:
            self.kill("startup", grace=False)
            raise

    def _logs(self) -> list[tuple[str, str]] | None:
        return self.call.logs if self.call is not None else None

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
        """Stop the process (SIGTERM, SIGKILL after the grace period); ``reason`` picks the error."""
        if self.kill_reason in (None, "retired"):
            self.kill_reason = reason
        self.dying = True
        if self.call is not None:
            for sub in self.call.subs.values():
                sub.cancel()  # the action is being stopped: so are the children it waits on
        if grace and self.kill_grace > 0:
            self._signal(signal.SIGTERM)
            self._timers.append(self.loop.call_later(self.kill_grace, self._signal, signal.SIGKILL))
        else:
            self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.returncode is not None or self.proc is None:
            return  # reaped: the pid may already belong to another process
        try:
            os.killpg(self.pid, sig)  # the worker leads its own group: its subprocesses go too
        except ProcessLookupError:
            pass
        except PermissionError:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _poll_exit(self) -> None:
        if self._on_exit() is None:
            self._poller = self.loop.call_later(0.05, self._poll_exit)

    def _on_exit(self) -> int | None:
        assert self.proc is not None
        rc = self.proc.poll()
        if rc is None:
            return None
        self.returncode = rc
        LIVE.pop(self.pid, None)
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
        for timer in [*self._timers, self._poller]:
            if timer is not None:
                timer.cancel()
        if self.transport is not None:
            self.transport.close()
        assert self.output is not None and self.returncode is not None
        self.output.drain()
        self.dying = True
        error = self._death_error(self.returncode)
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()  # retrieved here: start() may already have given up on it
        if self.call is not None:
            self._end_call(None, error)
        self.output.close()
        self.exited.set_result(self.returncode)
        self.owner.worker_exited(self)

    def _death_error(self, rc: int) -> Exception:
        call, reason = self.call, self.kill_reason
        if call is not None and reason == "timeout":
            return call.timed_out(self.pid)
        if call is not None and reason == "oom":
            return call.killed_for_memory(self.pid)
        who = call.describe() if call is not None else "No action"
        if reason == "closed":
            return WorkerDiedError(f"{who}: the process executor was closed while it ran", f"pid {self.pid}")
        tail = self.output.tail if self.output is not None else ""
        return died(who, self.pid, rc, starting=not self.ready.done(), stderr_tail=tail)

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
                elif kind == p.REPLAY:
                    self._on_replay(message)
                elif kind == p.STARTED:
                    self._on_started(message)
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
        *,
        replaying: bool = False,
    ) -> Call:
        """Send one action to this (idle, ready) worker; its outcome arrives on ``call.future``."""
        assert self.transport is not None and self.call is None
        call = Call(next(self._ids), task, tctx, self.loop.create_future(), timeout, memory_limit)
        sys_path = None if sys.path == self.sys_path else list(sys.path)
        wire = p.tctx_to_wire(tctx)
        frame = p.pack(
            [p.EXEC, call.id, locator, inputs, wire, env, memory_limit, sys_path, replaying]
        )  # may raise
        if sys_path is not None:
            self.sys_path = sys_path
        if memory_limit:
            call.baseline = self.rss() or 0
            call.poller = self.loop.call_later(self.poll_interval, self._check_memory, call)
        if timeout:  # until STARTED: the worker may still be importing the task's module
            call.timer = self.loop.call_later(timeout + LOAD_GRACE, self._expire, call)
        self.call = call
        self.transport.write(frame)
        return call

    def rss(self) -> int | None:
        """Resident memory of the worker process in bytes, from /proc."""
        try:
            with open(f"/proc/{self.pid}/statm", "rb") as f:
                return int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            return None

    def _on_started(self, message: list[Any]) -> None:
        """The worker has loaded the task: max_runtime and the memory limit count from here, so
        that importing the task's module in a fresh worker is not charged to the attempt."""
        call = self.call
        if call is None or message[1] != call.id:
            return
        if call.memory_limit:
            call.baseline = self.rss() or call.baseline
        if call.timeout:
            if call.timer is not None:
                call.timer.cancel()
            call.timer = self.loop.call_later(call.timeout, self._expire, call)

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
        call.poller = self.loop.call_later(self.poll_interval, self._check_memory, call)

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
            self._end_call(None, call.out_of_memory(wire[2]))
        else:
            self._end_call(None, p.error_from_wire(wire))

    def _end_call(self, outputs: bytes | None, error: Exception | None) -> None:
        call = self.call
        assert call is not None
        for timer in (call.timer, call.poller):
            if timer is not None:
                timer.cancel()
        for sub in call.subs.values():
            sub.cancel()  # a child cannot outlive its parent action
        call.subs.clear()
        if call.parked:
            call.parked = False
            self.owner.unpark()
        if self.output is not None:
            self.output.drain()
        self.call = None
        if call.future.done():  # the caller was cancelled
            return
        if error is None:
            call.future.set_result(outputs)  # type: ignore[arg-type]
            return
        try:
            error.worker_logs = call.logs  # type: ignore[attr-defined]
        except Exception:
            pass
        call.future.set_exception(error)

    # -- what the action asks of the parent ----------------------------------------------------------------

    def _on_submit(self, message: list[Any]) -> None:
        _, sub_id, call_id, locator, inputs, group, custom_context = message
        call = self.call
        if call is None or call.id != call_id:
            return
        site = CallSite(group, dict(custom_context))
        call.subs[sub_id] = self.loop.create_task(self._serve_submit(call, sub_id, locator, inputs, site))
        if not call.parked:
            call.parked = True  # waiting on a child: its slot must not keep the child from a worker
            self.owner.park()

    async def _serve_submit(
        self, call: Call, sub_id: int, locator: p.Locator, inputs: bytes, site: CallSite
    ) -> None:
        set_call_site(site)  # this task runs in its own copy of the context: visible to on_submit only
        try:
            if call.on_submit is None:
                raise RuntimeError(f"{call.describe()} called a task, but its executor takes no child calls")
            child = self.locate(locator)
            value = await call.on_submit(child, (), decode_inputs(child, inputs))
            reply = [p.SUB_OK, sub_id, encode_outputs(child, value)]
        except asyncio.CancelledError:
            aborted = ActionAbortedError(f"A child call of {call.describe()} was cancelled")
            self._reply([p.SUB_ERR, sub_id, p.error_to_wire(aborted)])  # no worker thread left waiting
            raise
        except Exception as e:
            reply = [p.SUB_ERR, sub_id, p.error_to_wire(e)]
        finally:
            call.subs.pop(sub_id, None)
            if call.parked and not call.subs:
                call.parked = False
                self.owner.unpark()
        self._reply(reply)

    def _reply(self, message: list[Any]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(p.pack(message))

    def _on_sub_cancel(self, message: list[Any]) -> None:
        call = self.call
        sub = call.subs.get(message[1]) if call is not None else None
        if sub is not None:
            sub.cancel()

    def _on_replay(self, message: list[Any]) -> None:
        _, sub_id, call_id, name, inputs = message
        call, entry = self.call, None
        if call is not None and call.id == call_id and call.on_replay is not None:
            try:
                entry = call.on_replay(name, inputs)
            except Exception:
                log.exception("flyte: replaying a trace of %s failed", call.describe())
        found = None if entry is None else [entry.outputs, entry.started_at, entry.ended_at]
        if self.transport is not None:
            self.transport.write(p.pack([p.SUB_OK, sub_id, found]))

    def _on_trace(self, message: list[Any]) -> None:
        call = self.call
        if call is None or call.id != message[1] or call.on_trace is None:
            return
        try:
            call.on_trace(TraceEntry(*message[2:8]))
        except Exception:
            log.exception("flyte: recording a trace of %s failed", call.describe())
