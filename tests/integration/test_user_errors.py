"""The error a parent catches and the error ``flyte.run`` raises, as code written for the reference
SDK expects it (``RuntimeUserError`` with ``.code``) and as plain Python expects it (the original
class): in-process, in worker processes, and for user-defined classes."""

from __future__ import annotations

import asyncio
import pickle

import pytest

import flyte
import flyte.errors
from flyte.errors import RuntimeUserError, user_error_of
from flyte.models import ActionPhase

env = flyte.TaskEnvironment(name="user_errors")


class QuotaExceeded(Exception):
    """A user-defined error with an attribute of its own."""

    def __init__(self, message: str, limit: int = 0):
        super().__init__(message)
        self.limit = limit


@env.task
async def bad_value(x: int) -> int:
    raise ValueError(f"bad value {x}")


@env.task
async def over_quota(x: int) -> int:
    raise QuotaExceeded(f"quota of {x} exceeded", limit=x)


@env.task(timeout=30)  # a sync task with a timeout runs in a worker process
def bad_key_in_worker(key: str) -> int:
    raise KeyError(key)


@env.task(timeout=30)
def over_quota_in_worker(x: int) -> int:
    raise QuotaExceeded(f"worker quota of {x} exceeded", limit=x)


@env.task(timeout=0.3)
async def too_slow() -> int:
    await asyncio.sleep(30)
    return 0


def describe(e: BaseException) -> str:
    code = e.code if isinstance(e, RuntimeUserError) else "-"
    return f"{type(e).__name__}|{code}|{e}"


@env.task
async def catches_the_reference_way() -> list[str]:
    seen = []
    for call in (bad_value(1), over_quota(2), bad_key_in_worker.aio("k"), over_quota_in_worker.aio(3)):
        try:
            await call
        except flyte.errors.RuntimeUserError as e:
            seen.append(describe(e))
    return seen


@env.task
async def catches_the_python_way() -> list[str]:
    seen = []
    try:
        await bad_value(1)
    except ValueError as e:
        seen.append(f"ValueError:{e}")
    try:
        await over_quota(5)
    except QuotaExceeded as e:
        seen.append(f"QuotaExceeded:{e}:limit={e.limit}")
    try:
        await bad_key_in_worker.aio("missing")
    except KeyError as e:
        seen.append(f"KeyError:{e.args[0]}")
    try:
        await over_quota_in_worker.aio(7)
    except QuotaExceeded as e:
        seen.append(f"QuotaExceeded:{e}:limit={e.limit}")
    return seen


@env.task
async def catches_a_timeout() -> str:
    try:
        await too_slow()
    except flyte.errors.TaskTimeoutError as e:
        return f"{type(e).__name__}|{e.code}"
    return "not raised"


def test_a_parent_catches_runtime_user_error_with_the_original_code():
    assert flyte.run(catches_the_reference_way).outputs()[0] == [
        "ValueError|ValueError|bad value 1",
        "QuotaExceeded|QuotaExceeded|quota of 2 exceeded",
        "KeyError|KeyError|'k'",
        "QuotaExceeded|QuotaExceeded|worker quota of 3 exceeded",
    ]


def test_a_parent_catches_the_original_class_in_process_and_from_a_worker():
    assert flyte.run(catches_the_python_way).outputs()[0] == [
        "ValueError:bad value 1",
        "QuotaExceeded:quota of 5 exceeded:limit=5",
        "KeyError:missing",
        "QuotaExceeded:worker quota of 7 exceeded:limit=7",
    ]


def test_timeouts_keep_their_own_type():
    assert flyte.run(catches_a_timeout).outputs()[0] == "MaxRuntimeExceededError|MaxRuntimeExceededError"


@pytest.mark.parametrize("task", [bad_value, over_quota])
def test_flyte_run_raises_both_types(task):
    with pytest.raises(RuntimeUserError) as reference_way:
        flyte.run(task, 4)
    with pytest.raises(ValueError if task is bad_value else QuotaExceeded) as python_way:
        flyte.run(task, 4)
    expected = "ValueError" if task is bad_value else "QuotaExceeded"
    assert reference_way.value.code == expected == type(python_way.value).__name__
    assert str(reference_way.value) == str(python_way.value)


def test_a_failed_run_returned_by_the_cli_path_raises_both_types_from_outputs():
    from flyte._internal.run_config import RunConfig, new_run_name
    from flyte._run import run_local

    run = asyncio.run(run_local(bad_value, (9,), {}, RunConfig(name=new_run_name()), raise_errors=False))
    assert run.phase is ActionPhase.FAILED
    with pytest.raises(ValueError, match="bad value 9") as info:
        run.outputs()
    assert isinstance(info.value, RuntimeUserError) and info.value.code == "ValueError"


def test_the_retyped_error_pickles_and_keeps_attributes():
    err = user_error_of(QuotaExceeded("too much", limit=3))
    again = pickle.loads(pickle.dumps(err))
    for e in (err, again):
        assert isinstance(e, QuotaExceeded) and isinstance(e, RuntimeUserError)
        assert (e.code, e.kind, str(e), e.limit) == ("QuotaExceeded", "user", "too much", 3)


def test_flyte_errors_and_non_exceptions_are_left_alone():
    timeout = flyte.errors.TaskTimeoutError("late")
    assert user_error_of(timeout) is timeout
    system = flyte.errors.RuntimeSystemError("Boom", "infra")
    assert user_error_of(system) is system
    interrupt = KeyboardInterrupt()
    assert user_error_of(interrupt) is interrupt
    assert user_error_of(user_error_of(ValueError("x"))).__class__.__mro__.count(ValueError) == 1
