"""The worker process: runs its parent's actions one at a time, in its main thread.

A reader thread owns the socket's receiving side: it queues EXEC messages for the main thread
and hands replies to child calls to whichever thread is waiting for them. When the parent goes
away (end of stream) the worker exits at once, whatever the action is doing.

Each action gets its own environment variables, memory limit and working directory, all put
back afterwards; its stdout/stderr go to pipes the parent reads, so output reaches the parent
even if the worker crashes mid-action.
"""

from __future__ import annotations

import asyncio
import faulthandler
import importlib
import itertools
import os
import queue
import resource
import socket
import sys
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from flyte._context import Frame, reset_frame, set_frame
from flyte._internal.controllers._action import TraceEntry
from flyte._internal.runtime.convert import decode_inputs, decode_outputs, encode_inputs, encode_outputs
from flyte._internal.runtime.execute import _call_sync, execute
from flyte._internal.workers import _protocol as p

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from flyte._task import TaskTemplate

T = TypeVar("T")

BOOT = (
    "import sys,json;sys.path[:]=json.loads(sys.argv[2]);"
    "from flyte._internal.workers._worker import main;main(int(sys.argv[1]))"
)
"""The ``python -c`` program a worker starts with: argv is [fd, json sys.path, json sys.argv]."""

PAGE = resource.getpagesize()
AS_SLACK = 256 * 1024 * 1024
"""Address space granted beyond the memory limit: threads and allocators reserve more than they use,
so RLIMIT_AS only stops allocations that are clearly too large; RSS checks in the parent do the rest."""


class _Link:
    """The worker's end of the socket: framed sends from any thread, replies routed by id."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._rfile = sock.makefile("rb")
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.pending: dict[int, Future[list[Any]]] = {}
        self.inbox: queue.SimpleQueue[list[Any]] = queue.SimpleQueue()

    def send(self, message: list[Any]) -> None:
        data = p.pack(message)
        with self._lock:
            self._sock.sendall(data)

    def request(self, call_id: Any, locator: p.Locator, inputs: bytes, site: list[Any]) -> Future[list[Any]]:
        """Ask the parent to run a child task; the future gets the SUB_OK/SUB_ERR reply."""
        sub_id = next(self._ids)
        fut: Future[list[Any]] = Future()
        self.pending[sub_id] = fut
        fut.add_done_callback(lambda f: self._abandoned(sub_id, f))
        self.send([p.SUB, sub_id, call_id, locator, inputs, *site])
        return fut

    def ask(self, message: list[Any]) -> Future[list[Any]]:
        """Send ``message`` with a fresh id in its second place; the future gets the SUB_OK reply."""
        sub_id = next(self._ids)
        fut: Future[list[Any]] = Future()
        self.pending[sub_id] = fut
        self.send([message[0], sub_id, *message[2:]])
        return fut

    def _abandoned(self, sub_id: int, fut: Future[list[Any]]) -> None:
        if fut.cancelled() and self.pending.pop(sub_id, None) is not None:
            try:
                self.send([p.SUB_CANCEL, sub_id])
            except OSError:
                pass

    def read_forever(self) -> None:
        """Reader thread: route messages until the parent closes the connection, then exit."""
        try:
            while True:
                header = self._rfile.read(4)
                if len(header) < 4:
                    break
                (length,) = p.HEADER.unpack(header)
                body = self._rfile.read(length)
                if len(body) < length:
                    break
                message = p.msgpack.unpackb(body, raw=False)
                if message[0] in (p.SUB_OK, p.SUB_ERR):
                    fut = self.pending.pop(message[1], None)
                    if fut is not None and not fut.done():
                        fut.set_result(message)
                else:
                    self.inbox.put(message)
        except BaseException:
            pass
        os._exit(0)  # the parent is gone or let us go: nothing in this process matters any more


class WorkerController:
    """The Controller of actions running in a worker: child calls go back to the parent."""

    def __init__(self, link: _Link) -> None:
        self._link = link
        self.replaying: set[int] = set()
        """The calls whose run recovers another (their trace calls may be replayed)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _send(
        self, task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ):
        bound = task.interface.bind(task.name, args, kwargs)
        tctx = parent.tctx
        site = [tctx.group_data.name if tctx.group_data else None, tctx.custom_context]
        return self._link.request(parent.action, p.locator_for(task), encode_inputs(task, bound), site)

    @staticmethod
    def _value(task: TaskTemplate[Any, Any], reply: list[Any]) -> Any:
        if reply[0] == p.SUB_OK:
            return decode_outputs(task, reply[2])
        raise p.error_from_wire(reply[2])

    async def submit(
        self, task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        reply = await asyncio.wrap_future(self._send(task, args, kwargs, parent))
        return self._value(task, reply)

    def submit_sync(
        self, task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        return self._value(task, self._send(task, args, kwargs, parent).result())

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on a helper loop thread (the calling sync task may be on any thread)."""
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="flyte-worker-loop", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def replay_trace(self, parent: Frame, name: str, inputs: bytes) -> TraceEntry | None:
        """The recorded result of this trace call when the run recovers another (asked of the
        parent, which keeps the record); None at once when the run recovers nothing."""
        if parent.action not in self.replaying:
            return None
        reply = self._link.ask([p.REPLAY, None, parent.action, name, inputs]).result()
        found = reply[2]
        if found is None:
            return None
        outputs, started_at, ended_at = found
        return TraceEntry(name, inputs, outputs, None, started_at, ended_at)

    def record_trace(self, parent: Frame, entry: TraceEntry) -> None:
        self._link.send(
            [p.TRACE, parent.action, entry.name, entry.inputs, entry.outputs, entry.error]
            + [entry.started_at, entry.ended_at]
        )

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop = None


def _limit_memory(limit: int | None) -> tuple[int, int] | None:
    if not limit:
        return None
    before = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * PAGE
    except OSError:  # no /proc (not Linux): the address space is not a usable measure there
        return None
    soft = size + limit + max(limit, AS_SLACK)
    hard = before[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    return before


def _getcwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the directory was removed under us
        return None


def _follow_sys_path(new: list[str]) -> None:
    """Adopt the parent's ``sys.path``, forgetting the modules imported from entries it dropped.

    A devbox worker switches ``sys.path`` from one code bundle's directory to the next; a module
    this process imported from the old bundle would otherwise keep answering imports by name, and
    the edited code would never run here (a module that other code still holds stays alive).
    """
    kept = {entry + os.sep for entry in new if entry}
    dropped = {entry + os.sep for entry in sys.path if entry} - kept
    sys.path[:] = new
    if not dropped:
        return

    def home(file: str) -> str:  # the most specific entry a file lies under ("" if none)
        return max((e for e in kept | dropped if file.startswith(e)), key=len, default="")

    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and home(file) in dropped:
            del sys.modules[name]
    importlib.invalidate_caches()


def _restore_environ(saved: dict[str, str]) -> None:
    env = os.environ
    for key in [k for k in env if k not in saved]:
        del env[key]
    for key, value in saved.items():
        if env.get(key) != value:
            env[key] = value


class _Runner:
    """Executes EXEC messages in the main thread and answers each with OK or ERR."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.controller = WorkerController(link)
        self.tasks: dict[tuple[Any, ...], TaskTemplate[Any, Any]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def task(self, locator: p.Locator) -> TaskTemplate[Any, Any]:
        key = tuple(locator)
        task = self.tasks.get(key)
        if task is None:
            task = self.tasks[key] = p.locate(locator, in_worker=True)
        return task

    def execute(self, task: TaskTemplate[Any, Any], inputs: bytes, tctx: Any, call_id: int) -> bytes:
        if task.is_async:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            attempt = execute(task, inputs, tctx, self.controller, call_id, None)
            try:
                return self.loop.run_until_complete(attempt)
            finally:
                self._cancel_leftovers(self.loop)
        kwargs = decode_inputs(task, inputs)
        token = set_frame(Frame(tctx=tctx, controller=self.controller, action=call_id))
        try:
            result = _call_sync(task.execute if task.runs_execute else task.func, kwargs)  # type: ignore[attr-defined]
        finally:
            reset_frame(token)
        return encode_outputs(task, result)

    @staticmethod
    def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
        """Background tasks an async action left behind do not carry over to the next action."""
        leftovers = asyncio.all_tasks(loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))

    def run(self, message: list[Any]) -> None:
        _, call_id, locator, inputs, tctx_wire, env, memory_limit, sys_path, replaying = message
        if sys_path is not None:
            _follow_sys_path(sys_path)
        saved_env = dict(os.environ)
        cwd = _getcwd()
        streams = sys.stdout, sys.stderr
        reply: list[Any] = []
        failure: BaseException | None = None
        limit = None
        try:
            os.environ.update(env)
            limit = _limit_memory(memory_limit)
            task = self.task(locator)
            self.link.send([p.STARTED, call_id])
            if replaying:
                self.controller.replaying.add(call_id)
            reply = [p.OK, call_id, self.execute(task, inputs, p.tctx_from_wire(tctx_wire), call_id)]
        except BaseException as e:
            failure = e
        finally:
            self.controller.replaying.discard(call_id)
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_AS, limit)
            _restore_environ(saved_env)
            if cwd is not None and _getcwd() != cwd:
                os.chdir(cwd)
            sys.stdout, sys.stderr = streams
            for stream in streams:
                try:
                    stream.flush()
                except Exception:
                    pass
        if failure is not None:
            kind = "oom" if isinstance(failure, MemoryError) else "user"
            try:
                wire = p.error_to_wire(failure, kind)
            except Exception:  # an exception whose text cannot even be produced
                wire = [kind, type(failure).__name__, "<unprintable error>", "", None]
            reply = [p.ERR, call_id, wire]
            del failure
        self.link.send(reply)


def main(fd: int) -> None:
    """Entry point of a worker process; ``fd`` is its end of the socket pair."""
    import json

    from flyte._internal.run_guard import mark_action_executor

    mark_action_executor()  # before any user module is imported here
    sock = socket.socket(fileno=fd)
    os.set_inheritable(fd, False)  # subprocesses of a task must not keep the parent's link open
    sys.argv = json.loads(sys.argv[3]) if len(sys.argv) > 3 else [""]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
        except Exception:
            pass
    faulthandler.enable()  # a crash dumps its traceback to stderr, which the parent keeps
    link = _Link(sock)
    threading.Thread(target=link.read_forever, name="flyte-worker-reader", daemon=True).start()
    runner = _Runner(link)
    link.send([p.READY, os.getpid()])
    while True:
        message = link.inbox.get()
        if message[0] == p.EXEC:
            runner.run(message)
