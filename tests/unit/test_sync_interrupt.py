"""A sync attempt stops when its action is aborted or times out, not only the wait for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._internal.runtime.sync_threads import Attempt, AttemptInterrupted, SyncThreads, run_interruptibly

env = flyte.TaskEnvironment(name="sync_interrupt")


@env.task
def ticking(path: str, seconds: float) -> int:
    ticks = 0
    end = time.time() + seconds
    while time.time() < end:
        with open(path, "a") as f:
            f.write(".")
        ticks += 1
        time.sleep(0.01)
    return ticks


@env.task(timeout=1)
async def impatient(path: str) -> int:
    return await ticking.aio(path, 30.0)


def test_a_timed_out_parent_stops_its_sync_child_body(tmp_path: Path) -> None:
    marks = tmp_path / "ticks"
    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.run(impatient, str(marks))
    time.sleep(0.3)  # a stopped body writes nothing more; a running one ~30 ticks in this time
    seen = marks.read_text()
    time.sleep(0.3)
    assert marks.read_text() == seen
    assert 0 < len(seen) < 1000


def test_interrupting_a_finished_attempt_does_nothing_to_the_next_one() -> None:
    pool = SyncThreads(1)
    first = Attempt()
    assert pool.submit(run_interruptibly, first, lambda: 1).result() == 1
    assert first.interrupt() is False
    second = Attempt()
    started = threading.Event()

    def spin() -> str:
        started.set()
        end = time.time() + 30
        while time.time() < end:
            pass
        return "ran to the end"

    future = pool.submit(run_interruptibly, second, spin)
    started.wait(10)
    assert second.interrupt() is True
    with pytest.raises(AttemptInterrupted):
        future.result(30)
    assert pool.submit(run_interruptibly, Attempt(), lambda: "still serving").result(10) == "still serving"
    pool.shutdown()


def test_every_call_gets_a_thread_below_the_cap_so_parents_never_wait_behind_children() -> None:
    pool = SyncThreads(4)

    def parent() -> str:
        return "parent got " + pool.submit(lambda: "child").result(10)

    futures = [pool.submit(parent) for _ in range(2)]
    assert [f.result(10) for f in futures] == ["parent got child"] * 2
    pool.shutdown()


def test_an_outer_attempt_interrupted_as_an_inner_one_ends_is_still_stopped() -> None:
    outer, inner = Attempt(), Attempt()
    after: list[str] = []

    def child() -> str:
        outer.interrupt()  # lands as the inner call ends, whose end clears a pending interruption
        return "child done"

    def parent() -> None:
        run_interruptibly(inner, child)
        after.append("the parent ran on")

    with pytest.raises(AttemptInterrupted):
        run_interruptibly(outer, parent)
    assert after == []


def test_calls_run_for_the_loop_give_results_errors_and_skip_when_cancelled_first() -> None:
    import asyncio

    pool = SyncThreads(1)
    ran: list[str] = []
    gate = threading.Event()

    def boom() -> None:
        raise KeyError("k")

    async def go() -> None:
        loop = asyncio.get_running_loop()
        assert await pool.run_soon(loop, lambda: 41 + 1) == 42
        with pytest.raises(KeyError):
            await pool.run_soon(loop, boom)
        blocker = pool.run_soon(loop, gate.wait, 30)  # holds the only thread
        queued = pool.run_soon(loop, lambda: ran.append("ran"))
        queued.cancel()
        gate.set()
        assert await blocker is True
        assert await pool.run_soon(loop, lambda: "next") == "next"

    asyncio.run(go())
    assert ran == []  # cancelled before its thread took it: never called
    pool.shutdown()
