from __future__ import annotations

import asyncio
import functools

import pytest

import flyte

env = flyte.TaskEnvironment(name="mapping")


@env.task
async def square(x: int) -> int:
    return x * x


@env.task
def scale(x: int, factor: int) -> int:
    return x * factor


@env.task
async def maybe_fail(x: int) -> int:
    if x % 3 == 0:
        raise ValueError(f"multiple of three: {x}")
    return x


@env.task
def sync_parent(n: int) -> list[int]:
    return list(flyte.map(square, range(n)))


@env.task
def sync_partial(n: int) -> list[int]:
    return list(flyte.map(functools.partial(scale, factor=10), range(n)))


@env.task
async def async_parent(n: int) -> list[int]:
    return [r async for r in flyte.map.aio(square, range(n))]


@env.task
async def two_iterables(n: int) -> list[int]:
    return [r async for r in flyte.map.aio(scale, range(n), [2] * n)]


def test_map_in_sync_and_async_parents_keeps_input_order():
    assert flyte.run(sync_parent, 20).outputs()[0] == [i * i for i in range(20)]
    assert flyte.run(async_parent, 20).outputs()[0] == [i * i for i in range(20)]


def test_map_with_partial_and_several_iterables():
    assert flyte.run(sync_partial, 5).outputs()[0] == [0, 10, 20, 30, 40]
    assert flyte.run(two_iterables, 4).outputs()[0] == [0, 2, 4, 6]


def test_map_children_carry_the_group():
    run = flyte.run(async_parent, 3)
    assert {c.group for c in run.action.children} == {"square"}


@env.task
async def grouped() -> list[int]:
    return [r async for r in flyte.map.aio(square, range(3), group_name="squares")]


def test_map_group_name():
    run = flyte.run(grouped)
    assert {c.group for c in run.action.children} == {"squares"}


@env.task
async def errors_as_values(n: int) -> list[str]:
    out = []
    async for r in flyte.map.aio(maybe_fail, range(n)):
        out.append(f"error: {r}" if isinstance(r, Exception) else str(r))
    return out


def test_failed_items_are_returned_as_exceptions_by_default():
    assert flyte.run(errors_as_values, 5).outputs()[0] == [
        "error: multiple of three: 0", "1", "2", "error: multiple of three: 3", "4",
    ]  # fmt: skip


@env.task
async def errors_raised(n: int) -> list[int]:
    return [r async for r in flyte.map.aio(maybe_fail, range(1, n), return_exceptions=False)]


def test_return_exceptions_false_raises_the_first_failure():
    with pytest.raises(ValueError, match="multiple of three: 3"):
        flyte.run(errors_raised, 6)


PEAK: dict = {}


@env.task
async def slow(x: int) -> int:
    PEAK["now"] += 1
    PEAK["max"] = max(PEAK["max"], PEAK["now"])
    await asyncio.sleep(0.02)
    PEAK["now"] -= 1
    return x


@env.task
async def bounded(n: int, concurrency: int) -> int:
    PEAK.update(now=0, max=0)
    results = [r async for r in flyte.map.aio(slow, range(n), concurrency=concurrency)]
    assert results == list(range(n))
    return PEAK["max"]


def test_concurrency_bound_is_honoured_and_items_overlap():
    assert flyte.run(bounded, 30, 5).outputs()[0] == 5
    assert flyte.run(bounded, 30, 0).outputs()[0] == 30  # unbounded: all run together


@env.task
async def blocking_map_in_async(n: int, concurrency: int) -> int:
    PEAK.update(now=0, max=0)
    results = list(flyte.map(slow, range(n), concurrency=concurrency))  # blocking, in async code
    assert results == list(range(n))
    return PEAK["max"]


def test_blocking_map_in_an_async_task_works_in_order_and_honours_concurrency():
    assert flyte.run(blocking_map_in_async, 12, 3).outputs()[0] == 3


TICKS: list[str] = []


@env.task
async def ticker(n: int) -> int:
    for i in range(n):
        TICKS.append(f"tick {i}")
        await asyncio.sleep(0.01)
    return n


@env.task
async def marks_map(x: int) -> int:
    await asyncio.sleep(0.02)
    TICKS.append(f"map {x}")
    return x


@env.task
async def map_beside_a_sibling() -> list[int]:
    sibling = asyncio.ensure_future(ticker(10))
    await asyncio.sleep(0)  # the sibling starts
    mapped = list(flyte.map(marks_map, range(5), concurrency=1))  # ~0.1 s of blocking in this task
    return [*mapped, await sibling]


def test_a_blocking_map_does_not_stall_other_actions_of_the_run():
    TICKS.clear()
    assert flyte.run(map_beside_a_sibling).outputs()[0] == [0, 1, 2, 3, 4, 10]
    first_map = TICKS.index("map 0")
    last_map = TICKS.index("map 4")
    ticks_during_map = [t for t in TICKS[first_map:last_map] if t.startswith("tick")]
    assert ticks_during_map, TICKS  # the sibling kept running while the parent was blocked in map


def test_blocking_map_from_async_code_outside_a_task_body_says_what_to_use():
    async def not_a_task() -> None:
        from flyte._context import Frame, reset_frame, set_frame

        token = set_frame(Frame(tctx=None, controller=None, action=None))  # type: ignore[arg-type]
        try:
            list(flyte.map(square, range(2)))
        finally:
            reset_frame(token)

    with pytest.raises(RuntimeError, match=r"flyte\.map\.aio"):
        asyncio.run(not_a_task())


def test_map_outside_a_run_calls_the_functions():
    assert list(flyte.map(scale, [1, 2], [3, 4])) == [3, 8]
    assert list(flyte.map(square, [1, 2])) == [1, 4]


def test_bad_concurrency():
    with pytest.raises(ValueError, match="concurrency"):
        flyte.map(square, [1], concurrency=-1)
