from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

import flyte
import flyte.errors
from flyte.models import ActionPhase

env = flyte.TaskEnvironment(name="resilience")

ATTEMPTS: list[int] = []


@env.task(retries=2)
async def flaky(fail_times: int) -> int:
    attempt = flyte.ctx().attempt_number
    ATTEMPTS.append(attempt)
    if attempt < fail_times:
        raise ConnectionError(f"attempt {attempt} failed")
    return attempt


@env.task
async def call_flaky(fail_times: int) -> int:
    return await flaky(fail_times)


def test_retries_until_success_and_attempt_number_counts_up():
    ATTEMPTS.clear()
    run = flyte.run(call_flaky, 2)
    assert run.outputs()[0] == 2
    assert ATTEMPTS == [0, 1, 2]
    (child,) = run.action.children
    assert child.attempts == 3 and child.phase == ActionPhase.SUCCEEDED


def test_retries_exhausted_raises_the_last_error():
    ATTEMPTS.clear()
    with pytest.raises(ConnectionError, match="attempt 2 failed"):
        flyte.run(call_flaky, 5)
    assert ATTEMPTS == [0, 1, 2]


@env.task(retries=flyte.RetryStrategy(count=3, backoff=flyte.Backoff(base=0.01, factor=2, cap=0.05)))
async def never_recovers() -> int:
    ATTEMPTS.append(flyte.ctx().attempt_number)
    raise flyte.errors.NonRecoverableError("bad config")


def test_non_recoverable_error_skips_retries():
    ATTEMPTS.clear()
    with pytest.raises(flyte.errors.NonRecoverableError, match="bad config"):
        flyte.run(never_recovers)
    assert ATTEMPTS == [0]


def test_backoff_delays():
    b = flyte.Backoff(base=1, factor=2, cap=5)
    assert [b.delay(i) for i in (1, 2, 3, 4)] == [1, 2, 4, 5]
    assert [b.compute_delay(n) for n in (0, 1, 3)] == [timedelta(seconds=s) for s in (1, 2, 5)]
    constant = flyte.Backoff(base=timedelta(seconds=3))  # the reference's defaults: factor 1.0, no cap
    assert (constant.factor, constant.cap) == (1.0, None)
    assert [constant.compute_delay(n) for n in (0, 5)] == [timedelta(seconds=3)] * 2
    with pytest.raises(ValueError, match="cap is required when factor > 1"):
        flyte.Backoff(base=timedelta(seconds=1), factor=2.0)
    with pytest.raises(ValueError, match="factor must be >= 1"):
        flyte.Backoff(base=1, factor=0.5)
    assert flyte.RetryStrategy(count=2, backoff=timedelta(seconds=3)).delay(1) == 3
    with pytest.raises(ValueError):
        flyte.RetryStrategy(count=-1)


@env.task(timeout=0.2)
async def sleepy(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "awake"


@env.task
async def tolerant() -> str:
    try:
        return await sleepy(5)
    except flyte.errors.TaskTimeoutError as e:
        return f"timed out: {type(e).__name__}"


def test_async_timeout_cancels_and_fails_with_timeout_error():
    assert flyte.run(sleepy, 0.01).outputs()[0] == "awake"
    with pytest.raises(flyte.errors.MaxRuntimeExceededError, match="max_runtime of 0.2s"):
        flyte.run(sleepy, 5)
    run = flyte.run(tolerant)
    assert run.outputs()[0] == "timed out: MaxRuntimeExceededError"
    assert run.action.children[0].phase == ActionPhase.TIMED_OUT


TIMEOUT_ATTEMPTS: list[int] = []


@env.task(timeout=flyte.Timeout(max_runtime=timedelta(seconds=0.1)), retries=1)
async def slow_then_fast() -> int:
    attempt = flyte.ctx().attempt_number
    TIMEOUT_ATTEMPTS.append(attempt)
    if attempt == 0:
        await asyncio.sleep(5)
    return attempt


def test_retries_apply_to_timeouts():
    TIMEOUT_ATTEMPTS.clear()
    assert flyte.run(slow_then_fast).outputs()[0] == 1
    assert TIMEOUT_ATTEMPTS == [0, 1]


def test_timeout_forms():
    assert flyte.Timeout(max_runtime=timedelta(minutes=1)).max_runtime_seconds == 60
    with pytest.raises(ValueError, match="positive"):
        flyte.Timeout(max_runtime=-1)
    with pytest.raises(TypeError, match="timeout"):
        env.task(timeout="soon")(lambda: None)  # type: ignore[arg-type]


CHILD_STATE: dict = {}


@env.task
async def long_child() -> int:
    CHILD_STATE["started"] = True
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        CHILD_STATE["cancelled"] = True
        raise
    return 1


@env.task
async def quick_fail_child() -> int:
    await asyncio.sleep(0.01)
    raise RuntimeError("sibling failed")


@env.task
async def nursery_parent() -> int:
    results = await asyncio.gather(long_child(), quick_fail_child())
    return sum(results)


def test_a_failing_parent_cancels_its_running_children():
    CHILD_STATE.clear()
    with pytest.raises(RuntimeError, match="sibling failed"):
        flyte.run(nursery_parent)
    assert CHILD_STATE == {"started": True, "cancelled": True}


DEADLINE_ATTEMPTS: list[int] = []


@env.task(timeout=flyte.Timeout(max_runtime=0.3, deadline=0.5), retries=5)
async def always_slow() -> int:
    DEADLINE_ATTEMPTS.append(flyte.ctx().attempt_number)
    await asyncio.sleep(5)
    return 1


def test_deadline_bounds_all_attempts_together():
    DEADLINE_ATTEMPTS.clear()
    with pytest.raises(flyte.errors.DeadlineExceededError, match="deadline of 0.5s"):
        flyte.run(always_slow)
    assert DEADLINE_ATTEMPTS == [0, 1]  # the second attempt is cut by the deadline; no third


@env.task(timeout=flyte.Timeout(max_queued_time=0.1))
async def impatient(i: int) -> int:
    return i


@env.task
async def hog() -> int:
    await asyncio.sleep(1)
    return 0


@env.task
async def crowded() -> str:
    blocker = asyncio.ensure_future(hog())
    await asyncio.sleep(0.05)  # the hog now holds the only slot
    try:
        await impatient(1)
    except flyte.errors.MaxQueuedTimeExceededError as e:
        blocker.cancel()
        return f"gave up: {e}"
    return "ran"


def test_max_queued_time_fails_an_action_that_waits_too_long_for_a_slot():
    run = flyte.with_runcontext(max_action_concurrency=1).run(crowded)
    message = run.outputs()[0]
    assert message.startswith("gave up:") and "max_queued_time of 0.1s" in message
    impatient_action = next(a for a in run.actions() if a.task_name == "resilience.impatient")
    assert impatient_action.phase == ActionPhase.TIMED_OUT


@env.task(timeout=0.2)
async def blocks_the_loop() -> str:
    import time

    time.sleep(0.5)  # a blocking call in async code: the timeout cannot cancel it while it blocks
    return "returned late"


def test_an_async_task_that_blocks_past_its_timeout_fails_with_the_timeout_and_a_warning(capfd):
    with pytest.raises(flyte.errors.MaxRuntimeExceededError, match="max_runtime of 0.2s"):
        flyte.run(blocks_the_loop)
    err = capfd.readouterr().err
    assert "warning: task 'resilience.blocks_the_loop' blocked the event loop" in err
