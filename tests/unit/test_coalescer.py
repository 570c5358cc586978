"""The request coalescer: items of one event-loop step leave together; with ``max_inflight``, items
that come while a request is out leave together in the next one."""

from __future__ import annotations

import asyncio

from flyte._internal.controllers._batch import Coalescer


def test_items_of_one_step_leave_in_one_request() -> None:
    sent: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        sent.append(items)
        return [i * 10 for i in items]

    async def main() -> list[int]:
        batcher: Coalescer[int, int] = Coalescer(send, max_batch=3)
        return list(await asyncio.gather(*(batcher.submit(i) for i in range(5))))

    assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    assert sent == [[0, 1, 2], [3, 4]]


def test_items_that_trickle_in_wait_for_the_request_out() -> None:
    sent: list[list[int]] = []

    async def main() -> list[int]:
        gate = asyncio.Event()

        async def send(items: list[int]) -> list[int]:
            sent.append(items)
            await gate.wait()
            return items

        batcher: Coalescer[int, int] = Coalescer(send, max_batch=100, max_inflight=1)
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0.01)  # the first request is out, unanswered
        rest = []
        for i in range(1, 4):  # one item per step
            rest.append(asyncio.ensure_future(batcher.submit(i)))
            await asyncio.sleep(0)
        assert sent == [[0]]
        gate.set()
        results = [await first, *await asyncio.gather(*rest)]
        await batcher.drain()
        return results

    assert asyncio.run(main()) == [0, 1, 2, 3]
    assert sent == [[0], [1, 2, 3]]


def test_a_failed_request_fails_its_callers_only() -> None:
    async def send(items: list[int]) -> list[int]:
        if 0 in items:
            raise OSError("server gone")
        return items

    async def main() -> tuple[BaseException | int, int]:
        batcher: Coalescer[int, int] = Coalescer(send, max_batch=10, max_inflight=1)
        first = asyncio.ensure_future(batcher.submit(0))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(batcher.submit(1))
        outcomes = await asyncio.gather(first, return_exceptions=True)
        return outcomes[0], await second

    failed, ok = asyncio.run(main())
    assert isinstance(failed, OSError)
    assert ok == 1
