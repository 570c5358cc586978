"""One test (or a few) per numbered rule of the action core (``flyte._internal.core``).

The rules are what the local controller and the server's scheduler both obey; where a rule is a
formula both sides compute (the cache key, the backoff), the test computes it both ways.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._internal.controllers._action import ActionNode
from flyte._internal.controllers._wire import template_ref
from flyte._internal.core import (
    ActionPolicy,
    End,
    Retry,
    backoff_delay,
    cache_key,
    child_id,
    children_reason,
    is_retryable,
    is_timeout,
    replays,
)
from flyte._internal.core.attempt import AttemptPools, run_attempt, secrets_env
from flyte._internal.digest import LARGE
from flyte._internal.runtime.convert import encode_inputs
from flyte._internal.store import TaskCache, open_store
from flyte.models import ActionID, ActionPhase, TaskContext
from flyte.server.cache import cache_key as server_cache_key
from flyte.server.models import TaskRef

env = flyte.TaskEnvironment(name="core_rules")


@env.task(cache="auto")
async def add(x: int, y: int = 0) -> int:
    return x + y


@env.task(cache=flyte.Cache(behavior="auto", ignored_inputs=("y",)))
async def add_ignoring_y(x: int, y: int = 0) -> int:
    return x + y


def _root() -> ActionNode:
    return ActionNode(ActionID(name="a0", run_name="r1"), "core_rules.main", None, None, b"")


# -- rule 1: identity -----------------------------------------------------------------------------------


def test_identity_is_deterministic_and_counts_identical_calls() -> None:
    first, second = _root(), _root()
    a, _ = child_id(first, "core_rules.add", b"\x81\xa1x\x01", None)
    b, _ = child_id(first, "core_rules.add", b"\x81\xa1x\x01", None)  # the same call again
    again, _ = child_id(second, "core_rules.add", b"\x81\xa1x\x01", None)  # a re-run's first call
    other_group, _ = child_id(second, "core_rules.add", b"\x81\xa1x\x01", "g")
    assert a.name == again.name
    assert b.name != a.name
    assert other_group.name not in {a.name, b.name}


def test_identity_of_large_inputs_hashes_once_and_returns_the_blob_name() -> None:
    big = b"\x00" * (LARGE + 1)
    action, blob = child_id(_root(), "core_rules.add", big, None)
    assert blob is not None and len(blob) == 64
    small_action, small_blob = child_id(_root(), "core_rules.add", b"x", None)
    assert small_blob is None and small_action.name != action.name


# -- rule 2: replay ---------------------------------------------------------------------------------------


def test_a_recorded_call_replays_only_with_the_same_name_and_inputs() -> None:
    assert replays("t", b"in", "t", b"in")
    assert not replays("t", b"in", "t", b"other")
    assert not replays("t", b"in", "u", b"in")
    assert not replays("t", None, "t", b"in")


CALLS: list[int] = []


@env.task
async def fails_once(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add(i)
    CALLS.append(total)
    if len(CALLS) == 1:
        raise RuntimeError("first time fails")
    return total


def test_recover_replays_finished_actions_locally() -> None:
    CALLS.clear()
    with pytest.raises(RuntimeError):
        flyte.with_runcontext(name="core-recover-src").run(fails_once, 3)
    run = flyte.rerun("core-recover-src", recover=True)
    assert run.outputs()[0] == 3
    assert {a.cache_status for a in run.action.children} == {"recovered"}


# -- rule 3: cache ----------------------------------------------------------------------------------------


def test_the_local_cache_and_the_server_compute_the_same_key(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    try:
        local = TaskCache(store)
        for task in (add, add_ignoring_y):
            inputs = encode_inputs(task, task.interface.bind(task.name, (1,), {"y": 2}))
            ref = TaskRef.model_validate(template_ref(task, "bundle", tmp_path))
            assert local.key(task, inputs) == server_cache_key(ref, inputs)
    finally:
        store.close()


def test_ignored_inputs_do_not_change_the_key() -> None:
    def encoded(y: int) -> bytes:
        return encode_inputs(
            add_ignoring_y, add_ignoring_y.interface.bind(add_ignoring_y.name, (1,), {"y": y})
        )

    assert cache_key("t", "v1", encoded(2), ["y"]) == cache_key("t", "v1", encoded(3), ["y"])
    assert cache_key("t", "v1", encoded(2)) != cache_key("t", "v1", encoded(3))
    assert cache_key("t", "v1", encoded(2), ["y"]) != cache_key("t", "v2", encoded(2), ["y"])


# -- rule 4: admission ------------------------------------------------------------------------------------


def test_max_queued_time_fires_only_before_the_first_attempt() -> None:
    policy = ActionPolicy("t", max_queued=1.0)
    assert policy.queued_too_long("a1", 100.0, False, 100.5, "a slot") is None
    late = policy.queued_too_long("a1", 100.0, False, 101.0, "a slot")
    assert late is not None and late.error_type == "MaxQueuedTimeExceededError"
    assert late.message == "Task 't' (action 'a1') waited more than its max_queued_time of 1s for a slot"
    assert policy.queued_too_long("a1", 100.0, True, 200.0, "a slot") is None


# -- rule 5: attempts -------------------------------------------------------------------------------------


def test_failed_attempts_are_retried_while_retries_are_left() -> None:
    policy = ActionPolicy("t", retries=2, retry_delay=lambda n: 0.5 * n)
    assert policy.after_failure(1, True, False, 0.0, 1.0) == Retry(0.5)
    assert policy.after_failure(2, True, False, 0.0, 1.0) == Retry(1.0)
    assert policy.after_failure(3, True, False, 0.0, 1.0) == End(ActionPhase.FAILED)


def test_no_retry_after_a_non_retryable_error_or_past_the_deadline() -> None:
    policy = ActionPolicy("t", retries=5, deadline=10.0)
    assert policy.after_failure(1, False, False, 0.0, 1.0) == End(ActionPhase.FAILED)
    assert policy.after_failure(1, True, False, 0.0, 10.0) == End(ActionPhase.FAILED)
    assert policy.after_failure(1, True, True, 0.0, 10.0) == End(ActionPhase.TIMED_OUT)
    assert not is_retryable(flyte.errors.NonRecoverableError("stop"))
    assert not is_retryable(flyte.errors.SecretNotFoundError("no such secret"))
    assert is_retryable(ValueError("x"))
    assert is_timeout(flyte.errors.MaxRuntimeExceededError("late"))
    assert not is_timeout(ValueError("x"))


@pytest.mark.parametrize("retry", [1, 2, 3, 6])
def test_one_backoff_formula_for_sdk_and_server(retry: int) -> None:
    backoff = flyte.Backoff(base=0.5, factor=2.0, cap=3.0)
    ref = TaskRef.model_validate({"name": "t", "backoff": {"base": 0.5, "factor": 2.0, "cap": 3.0}})
    expected = min(3.0, 0.5 * 2.0 ** (retry - 1))
    assert backoff.delay(retry) == ref.retry_delay(retry) == backoff_delay(0.5, 2.0, 3.0, retry) == expected


def test_the_server_sees_the_same_policy_as_the_sdk(tmp_path: Path) -> None:
    @env.task(
        retries=flyte.RetryStrategy(count=3, backoff=flyte.Backoff(base=1, factor=2, cap=5)),
        timeout=flyte.Timeout(max_runtime=7, max_queued_time=2, deadline=30),
    )
    async def bounded() -> None:
        return None

    ref = TaskRef.model_validate(template_ref(bounded, "bundle", tmp_path))
    sdk, server = ActionPolicy.of_task(bounded), ref.policy()
    assert (sdk.retries, sdk.max_runtime, sdk.max_queued, sdk.deadline) == (
        server.retries, server.max_runtime, server.max_queued, server.deadline
    )  # fmt: skip
    assert [sdk.retry_delay(n) for n in (1, 2, 3)] == [server.retry_delay(n) for n in (1, 2, 3)] == [1, 2, 4]


# -- rule 6: time bounds, enforced where the attempt runs -------------------------------------------------


class _NoController:
    """Attempts in these tests make no child calls."""


def _context(tmp_path: Path, name: str = "a1") -> TaskContext:
    from flyte.models import RawDataPath

    return TaskContext(
        action=ActionID(name=name, run_name="r1"),
        raw_data_path=RawDataPath(path=str(tmp_path / "raw")),
        run_base_dir=str(tmp_path),
        output_path=str(tmp_path / name / "0"),
    )


@env.task(timeout=flyte.Timeout(deadline=0.3))
def sleepy(seconds: float, marker: str) -> int:
    for _ in range(int(seconds * 20)):
        time.sleep(0.05)
    Path(marker).write_text("the body ran to its end")
    return 1


@env.task(timeout=flyte.Timeout(max_runtime=0.3))
async def slow_async(seconds: float) -> int:
    await asyncio.sleep(seconds)
    return 1


def test_a_deadline_stops_a_sync_body_on_its_thread(tmp_path: Path) -> None:
    marker = tmp_path / "ended"
    inputs = encode_inputs(sleepy, {"seconds": 2.0, "marker": str(marker)})
    node = ActionNode(ActionID(name="a1", run_name="r1"), sleepy.name, None, None, inputs)
    pools = AttemptPools(4)

    async def attempt() -> bytes:
        try:
            return await run_attempt(
                sleepy, node, _context(tmp_path), _NoController(), pools, {}, time.time() + 0.3
            )  # type: ignore[arg-type]
        finally:
            await pools.aclose()

    policy = ActionPolicy("core_rules.sleepy", deadline=0.3)
    with pytest.raises(flyte.errors.DeadlineExceededError) as caught:
        asyncio.run(attempt())
    assert str(caught.value) == policy.deadline_message("a1", 0)
    time.sleep(2.2)  # as long as the body would have run
    assert not marker.exists()


def test_max_runtime_stops_an_async_attempt(tmp_path: Path) -> None:
    inputs = encode_inputs(slow_async, {"seconds": 5.0})
    node = ActionNode(ActionID(name="a2", run_name="r1"), slow_async.name, None, None, inputs)
    pools = AttemptPools(4)
    with pytest.raises(
        flyte.errors.MaxRuntimeExceededError, match=r"exceeded its max_runtime of 0.3s on attempt 1"
    ):
        asyncio.run(run_attempt(slow_async, node, _context(tmp_path, "a2"), _NoController(), pools, {}))  # type: ignore[arg-type]


# -- rule 7: children end with their parent ----------------------------------------------------------------


def test_children_reasons_name_the_parent_and_its_outcome() -> None:
    assert children_reason("a1", ActionPhase.SUCCEEDED) == "parent action 'a1' returned before it"
    assert children_reason("a1", ActionPhase.FAILED) == "parent action 'a1' failed"
    assert children_reason("a1", ActionPhase.ABORTED) == "parent action 'a1' was aborted before it"


@env.task
async def forever() -> int:
    await asyncio.sleep(60)
    return 0


@env.task
async def leaves_a_child_behind() -> int:
    asyncio.ensure_future(forever())
    await asyncio.sleep(0.2)
    return 1


def test_a_parent_that_returns_aborts_its_running_child() -> None:
    run = flyte.run(leaves_a_child_behind)
    assert run.outputs()[0] == 1
    (child,) = run.action.children
    assert child.phase == ActionPhase.ABORTED


# -- rule 8: errors ---------------------------------------------------------------------------------------


class Custom(Exception):
    pass


@env.task
async def raises_custom() -> int:
    raise Custom("boom")


@env.task
async def catches_custom() -> str:
    try:
        await raises_custom()
    except flyte.errors.RuntimeUserError as e:
        assert isinstance(e, Custom)
        return f"{e.code}: {e}"
    return "not raised"


def test_a_child_user_error_is_both_runtime_user_error_and_its_class() -> None:
    assert flyte.run(catches_custom).outputs()[0] == "Custom: boom"


# -- rule 9: the one attempt runner's secrets ---------------------------------------------------------


def test_secrets_env_fails_clearly_for_a_missing_secret(tmp_path: Path) -> None:
    secretive = flyte.TaskEnvironment(name="core_rules_secrets", secrets=[flyte.Secret(key="NOT_THERE")])

    @secretive.task
    async def needs_secret() -> None:
        return None

    with (
        pytest.raises(flyte.errors.SecretNotFoundError, match="NOT_THERE"),
        secrets_env(needs_secret, tmp_path),
    ):
        pass
