"""RemoteController: the controller of actions running in a control-plane worker.

A child call becomes a new action on the server: the controller derives the child's name exactly
as ``LocalController.submit`` does (so a resubmission is recognised), ``POST``s it with a
``TaskRef`` built from the child's template, waits until it is terminal, and then returns its
decoded outputs or raises its error at the call site (rebuilt as described in ``_wire``).

Waiting costs one long-poll per *run*, not per child: a ``_RunWatch`` follows the run's event feed
(``GET /runs/{run}/watch``) and wakes the children's callers as their terminal phases go by. It
starts from the feed's current end and checks the children it waits for directly (at start,
after the feed restarted, and every ``RECONCILE_SECONDS``), so no ending is missed, also across
a server restart.

The server answers a name that already exists with that action (our own retried request, or a
later attempt of the parent calling the same child); it queues it again when the earlier
attempt's call failed, so a retried parent reruns what failed and keeps what was done.

Cancelling the awaiting call (the parent was aborted or ended) stops waiting; the server ends
the child with the run or its parent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import flyte.errors as errors
from flyte._internal.controllers._action import ActionNode, TraceEntry
from flyte._internal.controllers._batch import Coalescer
from flyte._internal.controllers._wire import b64d, b64e, error_of, http_error, q, task_ref
from flyte._internal.core.identity import child_id
from flyte._internal.core.nursery import cancel_children as end_children
from flyte._internal.redaction import redact
from flyte._internal.runtime.convert import decode_outputs, encode_inputs
from flyte.models import ActionPhase

if TYPE_CHECKING:
    from flyte._context import Frame
    from flyte._task import TaskTemplate
    from flyte.remote._client import ApiClient

T = TypeVar("T")
Key = tuple[str, str, int]
"""(run, action, attempt)"""
logger = logging.getLogger("flyte.worker")

WATCH_SECONDS = 30.0
"""Server-side timeout of one ``watch`` long-poll."""
RECONCILE_SECONDS = 30.0
"""How often the children still awaited are checked directly, whatever the feed says."""
DIRECT_CHECKS = 20
"""Up to this many awaited children are checked one by one; more, by listing the run's actions."""
LOG_FLUSH_SECONDS = 0.5
"""How often captured output is posted (and always before an attempt is reported)."""
MAX_BATCH = 500
"""Children created (or outputs read) in one request: the server's bound (``server.models``)."""
MAX_RUN_BATCHERS = 64
MAX_CACHED_REFS = 1024
_FEED_END = 2**62
_TERMINAL = frozenset(p.value for p in ActionPhase if p.is_terminal)


class _RunWatch:
    """Tells when actions of one run end, from the run's event feed: one long-poll for all.

    A caller that is about to create children calls :meth:`begin` first (and :meth:`release`
    after it waited): the feed's position is then known before the children exist, so none of
    their endings can go by unseen and the children need not be checked one by one at start.
    """

    def __init__(self, client: ApiClient, run: str, on_idle: Callable[[_RunWatch], None]):
        self.client = client
        self.run = run
        self._on_idle = on_idle
        self._pending: dict[str, asyncio.Future[str]] = {}
        self._ended: dict[str, str] = {}
        """Terminal phases seen since this watch started (an ending can arrive before its waiter)."""
        self._task: asyncio.Task[None] | None = None
        self._since: int | None = None
        """The feed position every ending after which is seen (None: not known yet)."""
        self._positioning: asyncio.Future[None] | None = None
        self._users = 0

    async def begin(self) -> None:
        """Register a caller about to create children; returns once the feed position is known."""
        self._users += 1
        if self._since is not None:
            return
        if self._positioning is None or self._positioning.done():
            self._positioning = asyncio.ensure_future(self._position())
        try:
            await asyncio.shield(self._positioning)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        self._users -= 1
        if self._users <= 0 and not self._pending and (self._task is None or self._task.done()):
            self._on_idle(self)

    async def _position(self) -> None:
        if self._since is None:
            self._since = await self._feed_end()

    async def _feed_end(self) -> int:
        path = f"/api/v1/runs/{q(self.run)}/watch"
        answer = await self.client.acall("GET", path, params={"since": _FEED_END, "timeout": 0}, poll=0)
        return int(answer["seq"])

    async def phase(self, name: str) -> str:
        """The terminal phase of action ``name``, once it has one."""
        if name in self._ended:
            return self._ended[name]
        future = self._pending.get(name)
        if future is None:
            future = self._pending[name] = asyncio.get_running_loop().create_future()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._follow())
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if self._pending.get(name) is future and not future.done():
                del self._pending[name]
            raise

    def _end(self, name: str, phase: str) -> None:
        self._ended[name] = phase
        future = self._pending.pop(name, None)
        if future is not None and not future.done():
            future.set_result(phase)

    async def _follow(self) -> None:
        path = f"/api/v1/runs/{q(self.run)}/watch"
        since = self._since
        checked = time.monotonic() if since is not None else 0.0  # positioned before: nothing missed
        try:
            while self._pending:
                if since is None:  # (re)start at the feed's end, then look at what we wait for
                    since, checked = await self._feed_end(), 0.0
                    self._since = since
                if time.monotonic() - checked > RECONCILE_SECONDS:
                    await self._reconcile()
                    checked = time.monotonic()
                    continue
                started = time.monotonic()
                params = {"since": since, "timeout": WATCH_SECONDS, "kinds": "phase"}
                answer = await self.client.acall("GET", path, params=params, poll=WATCH_SECONDS)
                seq = int(answer.get("seq", since))
                for e in answer.get("events") or []:
                    if e.get("kind") == "phase" and e.get("phase") in _TERMINAL:
                        self._end(e["action"], e["phase"])
                late = time.monotonic() - started > WATCH_SECONDS + 10  # retried through an outage
                since = None if seq < since or late or answer.get("done") else seq
                self._since = since
        except Exception as e:  # the server is gone for good, or the run is: callers get the error
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(e)
            self._pending.clear()
        finally:
            if self._users <= 0:
                self._ended.clear()
                if not self._pending:
                    self._on_idle(self)

    async def _reconcile(self) -> None:
        names = list(self._pending)
        base = f"/api/v1/runs/{q(self.run)}/actions"
        if len(names) <= DIRECT_CHECKS:
            found = await asyncio.gather(*(self.client.acall("GET", f"{base}/{q(n)}") for n in names))
        else:
            found = await self.client.acall("GET", base) or []
        for action in found:
            if action.get("phase") in _TERMINAL:
                self._end(action["name"], action["phase"])


class _RunBatches:
    """The child creations and output reads of one run, coalesced per event-loop step (``_batch``)."""

    def __init__(self, client: ApiClient, run: str):
        self.client = client
        self.run = run
        self.create: Coalescer[dict[str, Any], dict[str, Any]] = Coalescer(self._create, MAX_BATCH)
        self.outputs: Coalescer[str, str | None] = Coalescer(self._outputs, MAX_BATCH)

    @property
    def busy(self) -> bool:
        return bool(self.create._queued or self.create._inflight or self.outputs._queued
                    or self.outputs._inflight)  # fmt: skip

    async def _create(self, bodies: list[dict[str, Any]]) -> list[dict[str, Any] | Exception]:
        path = f"/api/v1/runs/{q(self.run)}/actions:batch"
        answer = await self.client.acall("POST", path, json={"actions": bodies})
        results: list[dict[str, Any] | Exception] = []
        single = f"/api/v1/runs/{q(self.run)}/actions"  # errors read as the single-action route's
        for item in answer["results"]:
            if item.get("action") is not None:
                results.append(item["action"])
            else:  # the error the single-action route would have answered
                results.append(http_error(int(item["status"]), item.get("error") or "", "POST", single,
                                          self.client.endpoint))  # fmt: skip
        return results

    async def _outputs(self, names: list[str]) -> list[str | None | Exception]:
        path = f"/api/v1/runs/{q(self.run)}/outputs:batch"
        found = (await self.client.acall("POST", path, json={"names": names}))["outputs"]
        missing = f"Run '{self.run}' has no action named '{{}}'"
        return [found[n] if n in found else errors.ActionNotFoundError(missing.format(n)) for n in names]


# -- the controller ---------------------------------------------------------------------------------------


class LogShipper:
    """Collects captured lines from any thread and posts them per action attempt, in batches.

    It is the ``recorder`` the output capture of ``flyte._internal.logs`` writes to.
    """

    def __init__(self, client: ApiClient):
        self._client = client
        self._lock = threading.Lock()
        self._lines: dict[Key, list[list[Any]]] = {}

    def log_lines(self, node: Any, attempt: int, stream: str, lines: list[tuple[float, str]]) -> None:
        self.add((node.id.run_name, node.name, attempt), [[stream, at, line] for at, line in lines])

    def add(self, key: Key, lines: list[list[Any]]) -> None:
        """Queue ``[stream, at, line]`` lines of an attempt, secrets hidden (they leave here)."""
        if lines:
            lines = [[stream, at, redact(line)] for stream, at, line in lines]
            with self._lock:
                self._lines.setdefault(key, []).extend(lines)

    async def flush(self, only: Key | None = None) -> None:
        with self._lock:
            if only is None:
                batches, self._lines = self._lines, {}
            else:
                batches = {only: self._lines.pop(only)} if only in self._lines else {}
        for (run, action, attempt), lines in batches.items():
            body = {"run": run, "action": action, "attempt": attempt, "lines": lines}
            try:
                await self._client.acall("POST", "/api/v1/executor/logs", json=body)
            except Exception as e:  # logs are best effort; the outcome report is what counts
                logger.warning("could not post %d log lines of %s/%s: %s", len(lines), run, action, e)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(LOG_FLUSH_SECONDS)
            await self.flush()


class RunningAction(ActionNode):
    """An action a worker runs: an ``ActionNode`` that also knows the code bundle it came from,
    so that its children are submitted with the same bundle and files relative to it."""

    __slots__ = ("bundle_key", "bundle_dir", "replay")

    def __init__(self, action_id: Any, task_name: str, inputs: bytes, bundle_key: str, bundle_dir: Path):
        super().__init__(action_id, task_name, None, None, inputs)
        self.bundle_key = bundle_key
        self.bundle_dir = bundle_dir
        self.replay: dict[int, TraceEntry] = {}
        """When the run recovers another: the successful ``@flyte.trace`` calls this action made
        there, by call sequence (fetched before the attempt starts, see ``traces_to_replay``)."""


class RemoteController:
    """Child calls of the actions a worker runs become actions on the control plane.

    One controller serves all the actions of a worker process; construct it inside the worker's
    event loop. ``recorder`` receives captured log lines (see ``flyte._internal.logs``).
    """

    def __init__(self, client: ApiClient, recorder: Any = None, on_park: Callable[[], None] | None = None):
        self.client = client
        self.recorder = recorder
        self._loop = asyncio.get_running_loop()
        self._watches: dict[str, _RunWatch] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self._waiting: dict[ActionNode, int] = {}
        self._on_park = on_park
        self._runs: dict[str, _RunBatches] = {}
        self._refs: dict[tuple[int, str, str], tuple[TaskTemplate[Any, Any], dict[str, Any]]] = {}

    def _task_ref(self, task: TaskTemplate[Any, Any], parent: RunningAction) -> dict[str, Any]:
        """The child's ``TaskRef``, built once per template and parent bundle (it resolves files
        and hashes code: too slow to repeat for each of a thousand calls of the same task)."""
        if getattr(task, "wire_ref", None) is not None:  # a deployed task: its own, every time
            ref = task_ref(task, parent.bundle_key, parent.bundle_dir)
        else:
            key = (id(task), parent.bundle_key, str(parent.bundle_dir))
            found = self._refs.get(key)
            if found is None or found[0] is not task:
                if len(self._refs) >= MAX_CACHED_REFS:
                    self._refs.clear()
                found = self._refs[key] = (task, task_ref(task, parent.bundle_key, parent.bundle_dir))
            ref = found[1]
        return {**ref, "project": parent.id.project, "domain": parent.id.domain}

    def _batches(self, run: str) -> _RunBatches:
        found = self._runs.get(run)
        if found is None:
            if len(self._runs) > MAX_RUN_BATCHERS:  # runs this worker no longer serves: forget them
                self._runs = {r: b for r, b in self._runs.items() if b.busy}
            found = self._runs[run] = _RunBatches(self.client, run)
        return found

    @property
    def batched_requests(self) -> int:
        """Batched creation and output requests sent so far (benchmarks and tests)."""
        return sum(b.create.requests + b.outputs.requests for b in self._runs.values())

    @property
    def parked(self) -> int:
        """Running actions that are only waiting for their children (a worker does not count them)."""
        return len(self._waiting)

    def _park(self, node: ActionNode) -> None:
        count = self._waiting.get(node, 0)
        self._waiting[node] = count + 1
        if count == 0 and self._on_park is not None:
            self._on_park()

    def _unpark(self, node: ActionNode) -> None:
        count = self._waiting.pop(node, 1) - 1
        if count > 0:
            self._waiting[node] = count
        elif self._on_park is not None:
            self._on_park()

    # -- the Controller interface -------------------------------------------------------------

    async def submit(
        self, task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        bound = task.interface.bind(task.name, args, kwargs)
        data = encode_inputs(task, bound)
        parent_node: ActionNode = parent.action
        tctx = parent.tctx
        group = tctx.group_data.name if tctx.group_data else None
        if not isinstance(parent_node, RunningAction):
            raise errors.RuntimeSystemError(
                "NoBundle",
                f"Action '{parent_node.name}' runs without a code bundle; it cannot submit children",
            )
        action_id, _ = child_id(parent_node, task.name, data, group)  # the same name as a local run's
        body = {
            "name": action_id.name,
            "parent": parent_node.name,
            "task": self._task_ref(task, parent_node),
            "inputs_b64": b64e(data),
            "group": group,
            "custom_context": dict(tctx.custom_context),
        }
        run = parent_node.id.run_name or ""
        watch = self._watch(run)
        await watch.begin()
        try:
            action = await self._batches(run).create.submit(body)
            node = ActionNode(action_id, task.name, parent_node, group, b"")  # to be cancelled, not data
            node.handle = asyncio.current_task()
            parent_node.children.append(node)
            if not ActionPhase(action["phase"]).is_terminal:
                self._park(parent_node)
                try:
                    action = await self._wait(watch, run, action_id.name)
                except asyncio.CancelledError:
                    node.phase = ActionPhase.ABORTED
                    raise
                finally:
                    node.handle = None
                    self._unpark(parent_node)
        finally:
            watch.release()
        node.handle = None
        node.phase = ActionPhase(action["phase"])
        node.cache_status = action.get("cache_status")
        if node.phase is not ActionPhase.SUCCEEDED:
            node.error = error_of(action, near=_modules_of(task))
            raise errors.user_error_of(node.error)
        outputs = await self._batches(run).outputs.submit(action_id.name)
        return decode_outputs(task, b64d(outputs) or b"")

    def submit_sync(
        self, task: TaskTemplate[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any], parent: Frame
    ) -> Any:
        return self.run_blocking(self.submit(task, args, kwargs, parent))

    def run_blocking(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def traces_to_replay(self, source_run: str, action: str) -> dict[int, TraceEntry]:
        """The successful trace calls ``action`` made in ``source_run`` (the run being recovered)."""
        rows = await self.client.acall(
            "GET", f"/api/v1/runs/{q(source_run)}/traces", params={"action": action}
        )
        return {
            int(r["seq"]): TraceEntry(r["name"], b64d(r.get("inputs_b64")) or b"", b64d(r["outputs_b64"]),
                                      None, r["started_at"], r["ended_at"])
            for r in rows or []
            if r.get("error") is None and r.get("outputs_b64") is not None
        }  # fmt: skip

    def replay_trace(self, parent: Frame, name: str, inputs: bytes) -> TraceEntry | None:
        """The recorded result of the next trace call of ``parent``'s action, when recovering
        (the same rule as a local run: same position in the action, same name, same inputs)."""
        node = parent.action
        replay = getattr(node, "replay", None)
        entry = replay.get(len(node.traces)) if replay else None
        if entry is None or entry.name != name or entry.inputs != inputs:
            return None
        self.record_trace(parent, entry)  # the recovering run keeps it too
        return entry

    def record_trace(self, parent: Frame, entry: TraceEntry) -> None:
        node: ActionNode = parent.action
        node.traces.append(entry)
        body = {
            "run": node.id.run_name,
            "action": node.name,
            "seq": len(node.traces) - 1,
            "name": entry.name,
            "inputs_b64": b64e(entry.inputs),
            "outputs_b64": b64e(entry.outputs),
            "error": None if entry.error is None else redact(entry.error),
            "started_at": entry.started_at,
            "ended_at": entry.ended_at,
        }
        self.spawn(self.client.acall("POST", "/api/v1/executor/traces", json=body))

    async def stop(self) -> None:
        await self.flush()

    # -- helpers for the worker --------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background on the controller's loop (callable from any thread)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._keep(asyncio.ensure_future(coro))
        else:
            self._keep(asyncio.run_coroutine_threadsafe(coro, self._loop))  # type: ignore[arg-type]

    def _keep(self, future: Any) -> None:
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    async def flush(self) -> None:
        """Wait for the background requests (traces) started so far."""
        pending = [
            asyncio.wrap_future(f) if not isinstance(f, asyncio.Future) else f for f in self._background
        ]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def cancel_children(self, node: ActionNode, reason: str) -> None:
        """Stop waiting for children of ``node`` that are still running (it ended or was aborted)."""
        end_children(node, reason)

    def _watch(self, run: str) -> _RunWatch:
        watch = self._watches.get(run)
        if watch is None:
            watch = self._watches[run] = _RunWatch(self.client, run, self._idle)
        return watch

    async def _wait(self, watch: _RunWatch, run: str, name: str) -> dict[str, Any]:
        phase = await watch.phase(name)
        if phase == ActionPhase.SUCCEEDED.value:
            return {"phase": phase}
        return await self.client.acall("GET", f"/api/v1/runs/{q(run)}/actions/{q(name)}")

    def _idle(self, watch: _RunWatch) -> None:
        if self._watches.get(watch.run) is watch:
            del self._watches[watch.run]


def _modules_of(task: TaskTemplate[Any, Any]) -> tuple[str, ...]:
    """Where a user exception class raised by ``task`` is most likely defined."""
    module = getattr(getattr(task, "func", None), "__module__", None)
    return (module,) if module else ()
