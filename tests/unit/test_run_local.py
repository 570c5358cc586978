from __future__ import annotations

import asyncio
import dataclasses
import os
import threading

import pytest

import flyte
import flyte.errors
from flyte.models import ActionPhase

env = flyte.TaskEnvironment(name="local")


@env.task
async def square(x: int) -> int:
    return x * x


@env.task
def inc(x: int) -> int:
    return x + 1


@env.task
async def fanout(n: int) -> int:
    return sum(await asyncio.gather(*(square(i) for i in range(n))))


def test_run_returns_a_finished_run_with_outputs():
    run = flyte.run(fanout, 10)
    assert run.phase == ActionPhase.SUCCEEDED
    assert run.done()
    assert run.name.startswith("r")
    outputs = run.outputs()
    assert outputs == (285,)
    assert outputs[0] == 285
    assert outputs.named_outputs == {"o0": 285}
    assert outputs.o0 == 285  # the reference's attribute access
    with pytest.raises(AttributeError, match="has no output .o1."):
        _ = outputs.o1
    run.wait()  # already terminal: returns at once
    assert run.inputs() == {"n": 10}
    assert [c.task_name for c in run.action.children] == ["local.square"] * 10


def test_run_aio():
    async def main() -> int:
        run = await flyte.run.aio(fanout, n=4)
        return (await run.outputs.aio())[0]

    assert asyncio.run(main()) == 14


def test_run_from_inside_a_running_event_loop_with_the_sync_api():
    async def main() -> int:
        return flyte.run(square, 7).outputs()[0]

    assert asyncio.run(main()) == 49


# -- nesting ------------------------------------------------------------------------------------------


@env.task
def sync_leaf(x: int) -> int:
    return x * 10


@env.task
def sync_mid(x: int) -> int:
    return sync_leaf(x) + inc(x)


@env.task
async def async_mid(x: int) -> int:
    return await sync_mid.aio(x) + await square(x)


@env.task
def sync_top(x: int) -> int:
    # a sync task calling an async task blocks until the child finishes
    return async_mid(x) + sync_mid(x)


@env.task
async def deep(x: int) -> int:
    return await sync_top.aio(x)


def test_sync_and_async_tasks_nest_to_any_depth():
    # sync_mid(3) = 30 + 4 = 34; async_mid(3) = 34 + 9 = 43; sync_top(3) = 43 + 34 = 77
    run = flyte.run(deep, 3)
    assert run.outputs()[0] == 77
    depth = 0
    node = run.action
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth >= 4


def test_a_sync_root_task():
    assert flyte.run(sync_mid, 2).outputs()[0] == 23


@env.task
async def barrier_child(i: int, n: int) -> int:
    # All n children must be running at the same time for any of them to pass the barrier.
    state = BARRIER
    state["arrived"] += 1
    if state["arrived"] == n:
        state["event"].set()
    await asyncio.wait_for(state["event"].wait(), timeout=10)
    return i


BARRIER: dict = {}


@env.task
async def gather_all(n: int) -> list[int]:
    BARRIER.update(arrived=0, event=asyncio.Event())
    return list(await asyncio.gather(*(barrier_child(i, n) for i in range(n))))


def test_gather_runs_children_concurrently():
    assert flyte.run(gather_all, 50).outputs()[0] == list(range(50))


@env.task
def sync_barrier_child(i: int) -> int:
    SYNC_BARRIER.wait(timeout=10)  # raises BrokenBarrierError unless 4 threads arrive together
    return i


SYNC_BARRIER = threading.Barrier(4)


@env.task
async def sync_fanout() -> list[int]:
    return list(await asyncio.gather(*(sync_barrier_child.aio(i) for i in range(4))))


def test_sync_tasks_from_an_async_parent_run_concurrently_on_threads():
    assert flyte.run(sync_fanout).outputs()[0] == [0, 1, 2, 3]


# -- errors ---------------------------------------------------------------------------------------------


@env.task
async def fails(x: int) -> int:
    raise ValueError(f"x={x} is not allowed")


@env.task
async def catches(x: int) -> str:
    try:
        await fails(x)
    except ValueError as e:
        return f"recovered from {type(e).__name__}: {e}"
    return "no error"


def test_child_exception_reaches_parent_with_type_and_message_and_can_be_caught():
    assert flyte.run(catches, 3).outputs()[0] == "recovered from ValueError: x=3 is not allowed"


@env.task
async def propagates(x: int) -> int:
    return await fails(x)


def test_unhandled_failure_raises_from_flyte_run():
    with pytest.raises(ValueError, match="x=5 is not allowed"):
        flyte.run(propagates, 5)


@env.task
async def blocking_call_of_sync_task() -> int:
    return inc(1)  # wrong: a blocking call from async code


def test_blocking_sync_call_from_async_fails_at_once_when_strict(monkeypatch):
    monkeypatch.setenv("FLYTE_STRICT_SYNC_CALLS", "1")  # the default blocks, as the reference does
    with pytest.raises(flyte.errors.SyncTaskCallInAsyncContextError, match=r"await inc\.aio"):
        flyte.run(blocking_call_of_sync_task)


def test_wrong_input_type_names_task_parameter_expected_and_received():
    with pytest.raises(flyte.errors.RuntimeDataValidationError) as info:
        flyte.run(square, "seven")
    message = str(info.value)
    assert "local.square" in message
    assert "'x'" in message
    assert "int" in message and "str" in message


def test_missing_and_unknown_inputs():
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="missing required input"):
        flyte.run(square)
    with pytest.raises(TypeError, match="unexpected input 'y'"):
        flyte.run(square, x=1, y=2)


@env.task
async def bad_child_input() -> int:
    return await square("nope")  # type: ignore[arg-type]


def test_wrong_input_type_in_a_child_call():
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="local.square"):
        flyte.run(bad_child_input)


@env.task
async def returns_wrong_type() -> int:
    return "not an int"  # type: ignore[return-value]


def test_wrong_output_type_is_reported():
    with pytest.raises(flyte.errors.RuntimeDataValidationError, match="return value"):
        flyte.run(returns_wrong_type)


@env.task(max_inline_io_bytes=1024)
async def big_output(n: int) -> bytes:
    return b"x" * n


def test_values_above_max_inline_io_bytes_fail_clearly():
    assert flyte.run(big_output, 100).outputs()[0] == b"x" * 100
    with pytest.raises(flyte.errors.InlineIOMaxBytesBreached, match="max_inline_io_bytes"):
        flyte.run(big_output, 5000)


@env.task
async def takes_bytes(data: bytes) -> int:
    return len(data)


def test_default_inline_limit_is_ten_mebibytes():
    assert flyte.run(takes_bytes, b"a" * 10_000_000).outputs()[0] == 10_000_000
    with pytest.raises(flyte.errors.InlineIOMaxBytesBreached):
        flyte.run(takes_bytes, b"a" * (10 * 1024 * 1024 + 1))


def test_flyte_run_rejects_non_tasks():
    with pytest.raises(TypeError, match="@env.task"):
        flyte.run(lambda: 1)  # type: ignore[arg-type]


# -- context ---------------------------------------------------------------------------------------------


@env.task
async def context_child() -> dict:
    c = flyte.ctx()
    assert c is not None
    return {
        "action": c.action.name,
        "run": c.action.run_name,
        "mode": c.mode,
        "attempt": c.attempt_number,
        "custom": c.custom_context,
        "task": c.task_name,
    }


@env.task
async def context_parent() -> list[dict]:
    me = flyte.ctx()
    assert me is not None and me.action.name == "a0"
    with flyte.custom_context(team="ml"):
        inner = await context_child()
    return [await context_child(), inner]


def test_ctx_describes_the_running_action():
    assert flyte.ctx() is None
    run = flyte.with_runcontext(name="ctx-run", custom_context={"owner": "me"}).run(context_parent)
    outer, inner = run.outputs()[0]
    assert outer["run"] == inner["run"] == "ctx-run"
    assert outer["mode"] == "local"
    assert outer["attempt"] == 0
    assert outer["task"] == "local.context_child"
    assert outer["custom"] == {"owner": "me"}
    assert inner["custom"] == {"owner": "me", "team": "ml"}
    assert outer["action"] != "a0"


# -- deterministic identity ------------------------------------------------------------------------------


def test_action_ids_are_deterministic_across_runs():
    a = flyte.run(fanout, 5)
    b = flyte.run(fanout, 5)
    names_a = sorted(c.name for c in a.action.children)
    names_b = sorted(c.name for c in b.action.children)
    assert names_a == names_b
    assert len(set(names_a)) == 5


@env.task
async def same_call_twice() -> list[int]:
    return [await square(2), await square(2)]


def test_identical_calls_get_distinct_ids():
    run = flyte.run(same_call_twice)
    names = [c.name for c in run.action.children]
    assert len(set(names)) == 2


# -- run context -----------------------------------------------------------------------------------------


@env.task
def read_env(key: str) -> str:
    return os.environ.get(key, "<unset>")


def test_with_runcontext_name_and_env_vars():
    assert "FLYTE_TEST_VAR" not in os.environ
    run = flyte.with_runcontext(mode="local", name="my-run", env_vars={"FLYTE_TEST_VAR": "v1"}).run(
        read_env, "FLYTE_TEST_VAR"
    )
    assert run.name == "my-run"
    assert run.outputs()[0] == "v1"
    assert "FLYTE_TEST_VAR" not in os.environ  # restored after the run


def test_with_runcontext_rejects_bad_options():
    with pytest.raises(ValueError, match="mode"):
        flyte.with_runcontext(mode="cloud")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown option"):
        flyte.with_runcontext(colour="blue")
    with pytest.raises(ValueError, match="max_action_concurrency"):
        flyte.with_runcontext(max_action_concurrency=0)


@env.task
async def count_concurrency(n: int) -> int:
    state = {"now": 0, "peak": 0}

    async def one(i: int) -> int:
        return await tracked(i)

    TRACK.clear()
    TRACK.update(state)
    await asyncio.gather(*(one(i) for i in range(n)))
    return TRACK["peak"]


TRACK: dict = {}


@env.task
async def tracked(i: int) -> int:
    TRACK["now"] += 1
    TRACK["peak"] = max(TRACK["peak"], TRACK["now"])
    await asyncio.sleep(0.01)
    TRACK["now"] -= 1
    return i


def test_max_action_concurrency_bounds_running_actions():
    run = flyte.with_runcontext(max_action_concurrency=4).run(count_concurrency, 20)
    assert 1 < run.outputs()[0] <= 4


@env.task
async def nested_under_limit(depth: int) -> int:
    if depth == 0:
        return 0
    return 1 + await nested_under_limit(depth - 1)


def test_nested_parents_never_deadlock_on_the_concurrency_limit():
    assert flyte.with_runcontext(max_action_concurrency=1).run(nested_under_limit, 5).outputs()[0] == 5


# -- typed values across tasks ----------------------------------------------------------------------------


@dataclasses.dataclass
class Point:
    x: int
    y: int


@env.task
async def move(p: Point, dx: int) -> Point:
    return Point(p.x + dx, p.y)


@env.task
async def pair(n: int) -> tuple[int, str]:
    return n, str(n)


@env.task
async def uses_pair(n: int) -> str:
    a, b = await pair(n)
    return f"{a}:{b}"


def test_dataclasses_and_multiple_outputs_cross_task_boundaries():
    assert flyte.run(move, Point(1, 2), 3).outputs()[0] == Point(4, 2)
    assert flyte.run(pair, 4).outputs() == (4, "4")
    assert flyte.run(uses_pair, 5).outputs()[0] == "5:5"


@env.task
async def mutate(xs: list[int]) -> list[int]:
    xs.append(99)
    return xs


def test_a_child_gets_a_copy_of_its_inputs():
    original = [1, 2]
    assert flyte.run(mutate, original).outputs()[0] == [1, 2, 99]
    assert original == [1, 2]
