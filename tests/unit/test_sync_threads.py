"""The threads of sync attempts: quick calls share a few threads, blocking calls all get one."""

from __future__ import annotations

import asyncio
import threading

import flyte
from flyte._internal.runtime.sync_threads import SyncThreads


def _threads_named(prefix: str) -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith(prefix))


async def _gather(pool: SyncThreads, fn, n: int) -> list:
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(pool.run_soon(loop, fn, i) for i in range(n)), return_exceptions=True)


def test_quick_calls_are_served_by_the_eager_threads_alone() -> None:
    pool = SyncThreads(64, "quick-calls", eager=2, grow_after=60.0)
    try:
        results = asyncio.run(_gather(pool, lambda i: i * 2, 500))
        assert results == [i * 2 for i in range(500)]
        assert _threads_named("quick-calls") <= 2
    finally:
        pool.shutdown()


def test_outcomes_come_back_in_batches_without_mixing_up_values_and_errors() -> None:
    def odd_fails(i: int) -> int:
        if i % 2:
            raise ValueError(f"odd {i}")
        return i

    pool = SyncThreads(8, "outcomes")
    try:
        results = asyncio.run(_gather(pool, odd_fails, 300))
    finally:
        pool.shutdown()
    for i, outcome in enumerate(results):
        if i % 2:
            assert isinstance(outcome, ValueError) and str(outcome) == f"odd {i}"
        else:
            assert outcome == i


def test_calls_that_block_get_threads_of_their_own_up_to_the_cap() -> None:
    # Twelve calls that can only finish together: with two eager threads and no growth they would
    # wait on each other forever (the barrier's timeout turns that into BrokenBarrierError).
    barrier = threading.Barrier(12, timeout=30)
    pool = SyncThreads(12, "blocking-calls", eager=2, grow_after=0.01)
    try:
        results = asyncio.run(_gather(pool, lambda i: (barrier.wait(), i)[1], 12))
        assert results == list(range(12))
        assert _threads_named("blocking-calls") == 12
    finally:
        pool.shutdown()


def test_growth_never_passes_the_cap() -> None:
    release = threading.Event()
    pool = SyncThreads(3, "capped", eager=1, grow_after=0.01)
    seen: list[int] = []

    async def main() -> list:
        loop = asyncio.get_running_loop()
        futures = [pool.run_soon(loop, lambda i: (release.wait(30), i)[1], i) for i in range(9)]
        await asyncio.sleep(0.2)  # several growth checks with nothing finishing
        seen.append(_threads_named("capped"))
        release.set()
        return await asyncio.gather(*futures)

    try:
        assert asyncio.run(main()) == list(range(9))
        assert seen == [3]
    finally:
        pool.shutdown()


env = flyte.TaskEnvironment("sync_threads_e2e")
_meeting = threading.Barrier(6, timeout=30)


@env.task
def waits_for_the_others(i: int) -> int:
    _meeting.wait()
    return i


@env.task
async def six_meet(n: int) -> list[int]:
    return list(await asyncio.gather(*(waits_for_the_others.aio(i) for i in range(n))))


def test_a_fan_out_of_blocking_sync_tasks_runs_them_all_at_once() -> None:
    run = flyte.run(six_meet, 6)
    assert run.outputs()[0] == [0, 1, 2, 3, 4, 5]
