"""Rules 6 and 9: the one attempt runner, shared by the local controller and every remote executor.

One call of :func:`run_attempt` is one attempt of one action in this process: on the event loop
(async tasks), on an interruptible thread (sync tasks), or in a worker process when a thread cannot
give what the task needs (a stoppable ``max_runtime``, a memory limit, a reusable environment, its
own environment variables or secrets). Its time limits, the messages of the errors they raise, its
captured output and its report are handled here, the same way for a local run, a devbox worker
and a Ray task. What to do with the outcome (retry, record, report) is the caller's business.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from flyte._context import Frame
from flyte._internal.core.policy import ActionPolicy
from flyte._internal.runtime.execute import AttemptOverran, execute, execute_here, within
from flyte._internal.runtime.sync_threads import SyncThreads
from flyte.errors import DeadlineExceededError, MaxRuntimeExceededError

if TYPE_CHECKING:
    from flyte._internal.controllers import Controller
    from flyte._internal.workers import ProcessExecutor
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext
    from flyte.types._wire import Encoded

LogLines = Callable[[Any, int, str, list[tuple[float, str]]], None]
"""``log_lines(node, attempt, stream, [(at, line), ...])``: where a worker process's output goes."""


class AttemptPools:
    """Where the attempts of one process run: sync threads and worker processes, made on first need.

    ``sync_threads`` bounds the sync attempts running at once; a sync parent blocks its thread
    while its children run, so it also bounds how deeply sync tasks can nest.
    """

    def __init__(self, sync_threads: int, max_processes: int | None = None, isolate_all: bool = False):
        self.sync_threads = sync_threads
        self.max_processes = max_processes
        self.isolate_all = isolate_all
        self._threads: SyncThreads | None = None
        self._processes: ProcessExecutor | None = None

    def threads(self) -> SyncThreads:
        if self._threads is None:
            self._threads = SyncThreads(self.sync_threads, thread_name_prefix="flyte-sync")
        return self._threads

    def processes(self) -> ProcessExecutor:
        if self._processes is None:
            from flyte._internal.controllers._slots import Capacity
            from flyte._internal.workers import ProcessExecutor

            cpus = self.max_processes or max(1, int(Capacity.detect().cpus))
            self._processes = ProcessExecutor(max_workers=cpus)
        return self._processes

    def isolates(self, task: TaskTemplate[Any, Any], env: dict[str, str]) -> bool:
        """Whether an attempt of ``task`` with ``env`` runs in a worker process: when a thread
        cannot give what it needs, and a worker can import the task."""
        maybe = (
            self.isolate_all
            or env
            or not (task.is_async or (task.timeout is None and task.resources is None))
        )
        if not maybe and task.reusable is None:
            return False  # the fast path: nothing here needs a worker (and its imports)
        from flyte._internal.workers import needs_isolation

        if not (needs_isolation(task, isolate_all=self.isolate_all) or env):
            return False
        return self.processes().supports(task)

    async def aclose(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
        if self._processes is not None:
            await self._processes.aclose()
            self._processes = None


@contextmanager
def secrets_env(task: TaskTemplate[Any, Any], files_dir: Path) -> Iterator[dict[str, str]]:
    """The environment variables that give ``task`` its secrets, with the secrets that are files
    written under ``files_dir`` for the block and removed after it. Every value is registered for
    redaction first, so that no log line, error or record shows it. A missing secret raises
    ``SecretNotFoundError`` naming the task."""
    if not task.secrets:
        yield {}
        return
    from flyte._internal.redaction import register_secret_values
    from flyte._internal.secrets import SecretStore, cleanup, materialize_files, resolve_secrets

    resolved = resolve_secrets(task.secrets, SecretStore(), task.name)
    register_secret_values(resolved.values)
    files = materialize_files(resolved, files_dir)
    try:
        yield {**resolved.env, **files.env}
    finally:
        cleanup(files.root)


@overload
async def run_attempt(
    task: TaskTemplate[Any, Any],
    node: Any,
    tctx: TaskContext,
    controller: Controller,
    pools: AttemptPools,
    env: dict[str, str],
    deadline_at: float | None = None,
    log_lines: LogLines | None = None,
    spliced: Literal[False] = False,
) -> bytes: ...


@overload
async def run_attempt(
    task: TaskTemplate[Any, Any],
    node: Any,
    tctx: TaskContext,
    controller: Controller,
    pools: AttemptPools,
    env: dict[str, str],
    deadline_at: float | None = None,
    log_lines: LogLines | None = None,
    *,
    spliced: bool,
) -> Encoded: ...


async def run_attempt(
    task: TaskTemplate[Any, Any],
    node: Any,
    tctx: TaskContext,
    controller: Controller,
    pools: AttemptPools,
    env: dict[str, str],
    deadline_at: float | None = None,
    log_lines: LogLines | None = None,
    spliced: bool = False,
) -> Encoded:
    """Run one attempt of ``node`` (an ``ActionNode`` holding the encoded inputs); its encoded outputs.

    With ``spliced`` (a caller in this process, whose ``node`` has ``encoded_inputs``), large
    inputs are read and large outputs returned as :class:`~flyte.types._wire.Spliced`.

    ``env`` holds the action's own environment variables (secrets included); ``deadline_at`` the
    time by which every attempt must have ended. Past ``max_runtime`` the attempt is stopped and
    ``MaxRuntimeExceededError`` raised, past the deadline ``DeadlineExceededError`` (rule 6); a sync
    body is interrupted, a worker process killed. The output of a worker process goes to
    ``log_lines``; in-process output is captured by whoever captures this process's output.
    """
    policy = ActionPolicy.of_task(task)
    if pools.isolates(task, env):
        return await _in_worker(task, node, tctx, controller, pools, env, deadline_at, log_lines, policy)
    executor = None if task.is_async else pools.threads()
    runtime = policy.max_runtime
    remaining = None if deadline_at is None else deadline_at - time.time()
    inputs = node.encoded_inputs if spliced else node.inputs
    attempt = execute(task, inputs, tctx, controller, node, executor, spliced)
    if runtime is None and remaining is None:
        return await attempt
    by_deadline = remaining is not None and (runtime is None or remaining < runtime)
    limit = max(0.0, remaining) if by_deadline and remaining is not None else runtime
    try:
        return await within(attempt, limit, task.name)
    except AttemptOverran:
        pass
    if by_deadline:
        raise DeadlineExceededError(policy.deadline_message(node.name, tctx.attempt_number))
    raise MaxRuntimeExceededError(policy.max_runtime_message(node.name, tctx.attempt_number))


async def _in_worker(
    task: TaskTemplate[Any, Any],
    node: Any,
    tctx: TaskContext,
    controller: Controller,
    pools: AttemptPools,
    env: dict[str, str],
    deadline_at: float | None,
    log_lines: LogLines | None,
    policy: ActionPolicy,
) -> bytes:
    from flyte._internal.workers import logs_of, run_for_controller

    frame = Frame(tctx=tctx, controller=controller, action=node)
    remaining = None if deadline_at is None else max(0.0, deadline_at - time.time())
    # max_runtime counts from the start of the body (the executor's timeout, which excludes a
    # fresh worker importing the task's module); the deadline is a point in time, so it bounds
    # the whole call: cancelling the call kills the worker
    bound = asyncio.timeout(remaining)
    attempt = tctx.attempt_number
    try:
        async with bound:
            result = await run_for_controller(
                pools.processes(), frame, task, node.inputs, timeout=policy.max_runtime, env=env
            )
    except TimeoutError as e:
        _ship(log_lines, node, attempt, logs_of(e))
        if not bound.expired():  # the task's own TimeoutError
            raise
        raise DeadlineExceededError(
            policy.deadline_message(node.name, attempt, stopped="its worker was stopped")
        ) from None
    except BaseException as e:
        _ship(log_lines, node, attempt, logs_of(e))
        raise
    finally:
        if task.report:
            _adopt_report(node, tctx)
    _ship(log_lines, node, attempt, result.logs)
    return result.outputs


def runs_here(task: TaskTemplate[Any, Any], pools: AttemptPools) -> bool:
    """Whether an attempt of the sync ``task`` needs nothing of this runner's: no time limit of its
    own, no worker process (environment variables and secrets are the caller's to rule out)."""
    if task.is_async:
        return False
    policy = ActionPolicy.of_task(task)
    return policy.max_runtime is None and policy.deadline is None and not pools.isolates(task, {})


def run_attempt_here(
    task: TaskTemplate[Any, Any], node: Any, tctx: TaskContext, controller: Controller
) -> Encoded:
    """Run one attempt of the sync ``task`` on this thread, a sync parent's attempt (rule 9).

    For a task that :func:`runs_here`: its body runs where the parent's runs, within the parent's
    time limits, output capture and environment; ``node.handle.attempt.interrupt()`` stops it.
    """
    return execute_here(task, node.encoded_inputs, tctx, controller, node, node.handle.attempt)


def _ship(log_lines: LogLines | None, node: Any, attempt: int, logs: list[tuple[str, str]]) -> None:
    """Hand a worker process's ``(stream, line)`` output to ``log_lines``, one batch per stream."""
    if not logs or log_lines is None:
        return
    now = time.time()
    for stream in ("stdout", "stderr"):
        lines = [(now, line) for s, line in logs if s == stream]
        if lines:
            log_lines(node, attempt, stream, lines)


def _adopt_report(node: Any, tctx: TaskContext) -> None:
    """Take over the report a worker process wrote for the attempt (it saved it where an
    in-process attempt would have: ``<output_path>/report.html``, on this machine)."""
    from flyte.report import REPORT_FILE  # only report tasks pay for the report machinery

    written = Path(tctx.output_path) / REPORT_FILE
    if written.is_file():
        node.report_path = str(written)
