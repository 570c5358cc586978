"""Run exactly one attempt of one action: decode inputs, set the context, call, encode outputs."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from flyte._context import Frame, reset_frame, set_frame
from flyte._internal.runtime.bridge import drive, may_block
from flyte._internal.runtime.convert import decode_inputs, encode_outputs, encode_outputs_spliced
from flyte._internal.runtime.sync_threads import Attempt, SyncThreads, run_interruptibly

T = TypeVar("T")

if TYPE_CHECKING:
    from flyte._internal.controllers import Controller
    from flyte._task import TaskTemplate
    from flyte.models import TaskContext
    from flyte.types._wire import Encoded


def _call_sync(func: Any, kwargs: dict[str, Any]) -> Any:
    result = func(**kwargs)
    if inspect.isawaitable(result):  # a sync-looking wrapper around a coroutine function
        return asyncio.run(result)  # type: ignore[arg-type]
    return result


@overload
async def execute(
    task: TaskTemplate,
    inputs: Encoded,
    tctx: TaskContext,
    controller: Controller,
    action: Any,
    executor: Executor | None,
    spliced: Literal[False] = False,
) -> bytes: ...


@overload
async def execute(
    task: TaskTemplate,
    inputs: Encoded,
    tctx: TaskContext,
    controller: Controller,
    action: Any,
    executor: Executor | None,
    spliced: bool,
) -> Encoded: ...


async def execute(
    task: TaskTemplate,
    inputs: Encoded,
    tctx: TaskContext,
    controller: Controller,
    action: Any,
    executor: Executor | None,
    spliced: bool = False,
) -> Encoded:
    """Execute one attempt of ``task`` in this process and return its encoded outputs.

    Async tasks run on the current event loop; sync tasks run on ``executor`` threads so that
    they never block the loop. Either way the function sees ``flyte.ctx()`` for its own action.
    With ``spliced``, large outputs may come back as :class:`~flyte.types._wire.Spliced` (for a
    caller in this process); otherwise they are bytes.
    """
    kwargs = decode_inputs(task, inputs)
    report = None
    if task.report:
        from flyte.report import start_report  # only report tasks pay for the report machinery

        report = start_report(tctx)
        tctx = tctx.derive(report=report)
    frame = Frame(tctx=tctx, controller=controller, action=action)
    body = task.execute if task.runs_execute else task.func  # type: ignore[attr-defined]  # plugin hook
    try:
        if task.is_async:
            token = set_frame(frame)
            try:
                coro = body(**kwargs)
                result = await (drive(coro) if may_block(task.func) else coro)  # see runtime.bridge
            finally:
                reset_frame(token)
        else:
            loop = asyncio.get_running_loop()
            attempt = Attempt()
            call = _sync_call(body, frame, kwargs, attempt)
            try:
                if isinstance(executor, SyncThreads):  # the run's threads: settle the loop's future
                    result = await executor.run_soon(loop, call)
                else:
                    result = await loop.run_in_executor(executor, call)
            except asyncio.CancelledError:
                attempt.interrupt()  # aborted or out of time: stop the body too, not just the wait
                raise
    finally:
        if report is not None:
            from flyte.report import finish_report

            written = finish_report(report, tctx.output_path)
            if written is not None:
                action.report_path = str(written)
    return encode_outputs_spliced(task, result) if spliced else encode_outputs(task, result)


def execute_here(
    task: TaskTemplate,
    inputs: Encoded,
    tctx: TaskContext,
    controller: Controller,
    action: Any,
    attempt: Attempt,
) -> Encoded:
    """Execute one attempt of the sync ``task`` on the calling thread, as ``attempt``; its outputs.

    For a sync child called by a sync task, whose thread only waits for the child meanwhile: the
    child's body then runs where :func:`execute` would have run it, minus two thread hand-offs.
    The body sees ``flyte.ctx()`` for its own action; ``attempt.interrupt()`` stops it.
    """
    kwargs = decode_inputs(task, inputs)
    frame = Frame(tctx=tctx, controller=controller, action=action)
    body = task.execute if task.runs_execute else task.func  # type: ignore[attr-defined]  # plugin hook
    return encode_outputs_spliced(task, _sync_call(body, frame, kwargs, attempt)())


def _sync_call(body: Any, frame: Frame, kwargs: dict[str, Any], attempt: Attempt) -> Callable[[], Any]:
    """The call that runs a sync task's ``body`` as ``attempt`` (so that it can be interrupted),
    seeing ``flyte.ctx()`` for ``frame``'s action, in a copy of the caller's context."""
    context = contextvars.copy_context()
    context.run(set_frame, frame)
    return functools.partial(run_interruptibly, attempt, context.run, _call_sync, body, kwargs)


class AttemptOverran(Exception):
    """Raised by :func:`within` when the attempt outlived its time limit (and was cancelled)."""


async def within(attempt: Coroutine[Any, Any, T], seconds: float | None, task_name: str | None = None) -> T:
    """Await ``attempt``; past ``seconds`` cancel it, let it unwind, and raise :class:`AttemptOverran`.

    Unlike ``asyncio.wait_for``, a ``TimeoutError`` raised by the task itself is never mistaken for
    the limit firing. An async task that blocks the event loop (``time.sleep`` in async code) cannot
    be cancelled while it blocks; if it returns after its limit it has still overrun, and a warning
    naming ``task_name`` says that it blocked the loop (and with it every other action here).
    """
    if seconds is None:
        return await attempt
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.ensure_future(attempt)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if done:
        elapsed = loop.time() - started
        if elapsed <= seconds or task.cancelled() or task.exception() is not None:
            return task.result()
        print(
            f"warning: task '{task_name or '?'}' blocked the event loop until {elapsed:.1f}s, past its "
            f"timeout of {seconds:g}s; a blocking call in an async task stalls every action sharing the "
            "loop: make the task sync, or use 'await asyncio.to_thread(...)'",
            file=sys.stderr,
        )
        raise AttemptOverran()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # its own cancellation, or a last-moment failure
    raise AttemptOverran()
