"""Worker processes that misbehave: busy loops past a timeout, crashes, memory hogs, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest
import worker_tasks as wt
from worker_harness import eventually, pid_exists, run_task, with_executor

from flyte._internal.workers import ProcessExecutor
from flyte._internal.workers._protocol import FrameBuffer, pack
from flyte.errors import MaxRuntimeExceededError, OOMError, WorkerDiedError

pytestmark = pytest.mark.timeout(60)

MiB = 1024 * 1024


def test_busy_loop_past_its_timeout_is_killed_and_siblings_are_unaffected():
    async def body(ex: ProcessExecutor):
        await asyncio.gather(run_task(ex, wt.add, 0, 0), run_task(ex, wt.sleep_for, 0.1))  # two warm workers
        started = time.monotonic()
        spinning = asyncio.ensure_future(run_task(ex, wt.spin, timeout=2))
        sibling = asyncio.ensure_future(run_task(ex, wt.sleep_for, 1.0))
        with pytest.raises(MaxRuntimeExceededError, match="max_runtime of 2s") as caught:
            await spinning
        elapsed = time.monotonic() - started
        assert await sibling == 1.0
        after = await run_task(ex, wt.add, 2, 2)
        return elapsed, caught.value, after

    elapsed, error, after = with_executor(body, max_workers=2)
    assert 2.0 <= elapsed < 3.5
    assert error.kind == "user" and after == 4


@pytest.mark.parametrize(
    ("task", "args", "expected"),
    [
        (wt.exit_abruptly, (3,), "exited with code 3"),
        (wt.kill_self, (), "killed by signal SIGKILL"),
        (wt.segfault, (), "killed by signal SIGSEGV"),
        (wt.die_mid_message, (), "exited with code 1"),
    ],
)
def test_a_dying_worker_fails_the_action_and_is_replaced(task, args, expected):
    async def body(ex: ProcessExecutor):
        first = await run_task(ex, wt.whoami)
        with pytest.raises(WorkerDiedError, match=expected) as caught:
            await run_task(ex, task, *args)
        await eventually(lambda: not pid_exists(first))  # reaped, not a zombie
        second = await run_task(ex, wt.whoami)
        return first, second, caught.value

    first, second, error = with_executor(body, max_workers=1)
    assert first != second
    assert error.kind == "system" and error.code == "WorkerDied"
    if task is wt.segfault:
        assert "Segmentation fault" in str(error)  # faulthandler's report, from the worker's stderr


def test_memory_hog_fails_with_oom_and_the_pool_recovers():
    async def body(ex: ProcessExecutor):
        with pytest.raises(OOMError, match="200 MiB"):
            await run_task(ex, wt.allocate_at_once, 1024, memory_limit=200 * MiB)
        with pytest.raises(OOMError, match="200 MiB"):
            await run_task(ex, wt.allocate_gradually, 1024, memory_limit=200 * MiB)
        small = await run_task(ex, wt.allocate_at_once, 50, memory_limit=200 * MiB)
        unlimited = await run_task(ex, wt.allocate_at_once, 300)  # the limit was for that action only
        return small, unlimited

    assert with_executor(body, max_workers=1) == (50 * MiB, 300 * MiB)


def test_memory_error_raised_in_the_task_is_an_oom_error():
    async def body(ex: ProcessExecutor):
        with pytest.raises(OOMError, match="pretend the heap is full"):
            await run_task(ex, wt.raise_memory_error)
        return await run_task(ex, wt.add, 1, 2)

    assert with_executor(body, max_workers=1) == 3


def test_cancelling_the_caller_kills_the_worker():
    async def body(ex: ProcessExecutor):
        pid = await run_task(ex, wt.whoami)
        attempt = asyncio.ensure_future(run_task(ex, wt.sleep_for, 30.0))
        await asyncio.sleep(0.3)
        attempt.cancel()
        with pytest.raises(asyncio.CancelledError):
            await attempt
        await eventually(lambda: not pid_exists(pid), within=3)
        return await run_task(ex, wt.add, 1, 2)

    assert with_executor(body, max_workers=1) == 3


def test_worker_that_never_starts_is_reported(monkeypatch: pytest.MonkeyPatch):
    import flyte._internal.workers._launch as launch

    monkeypatch.setattr(launch, "BOOT", "import sys; sys.stderr.write('cannot boot\\n'); sys.exit(7)")

    async def body(ex: ProcessExecutor):
        with pytest.raises(WorkerDiedError, match="exited with code 7 while starting") as caught:
            await run_task(ex, wt.add, 1, 2)
        return str(caught.value)

    assert "cannot boot" in with_executor(body, max_workers=1)


def test_frames_split_anywhere_are_reassembled():
    messages = [[11, 1, b"x" * 100_000], [15, 1, "name", b"", None, None, 1.0, 2.0], [10, 42]]
    data = b"".join(pack(m) for m in messages)
    for step in (1, 3, 4096, len(data)):
        buffer = FrameBuffer()
        out = []
        for i in range(0, len(data), step):
            out += buffer.feed(data[i : i + step])
        assert out == messages and buffer.pending == 0
    partial = FrameBuffer()
    assert partial.feed(data[:10]) == [] and partial.pending == 10
