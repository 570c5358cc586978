"""RemoteController against the fake control plane (in-process): child submission, waiting,
errors rebuilt at the call site, deterministic and idempotent names, cancellation, traces."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import flyte
from flyte._context import Frame
from flyte._internal.controllers._action import TraceEntry
from flyte._internal.controllers._wire import b64d, b64e, error_fields, error_of, rebuild_error, task_ref
from flyte._internal.controllers.remote import RemoteController, RunningAction
from flyte._internal.runtime.convert import decode_inputs, encode_inputs, encode_outputs
from flyte.errors import (
    ActionAbortedError,
    CustomError,
    DeadlineExceededError,
    MaxRuntimeExceededError,
    NonRecoverableError,
    RuntimeDataValidationError,
    RuntimeUserError,
    TaskTimeoutError,
    UnionRpcError,
)
from flyte.models import ActionID, ActionPhase, GroupData, TaskContext
from flyte.remote._client import ApiClient

from .fake_api import FakeControlPlane, create_fake_app

env = flyte.TaskEnvironment(name="rc")
HERE = Path(__file__).parent
BUNDLE = "bundles/" + "0" * 64 + ".tgz"


@env.task
async def double(x: int) -> int:
    return 2 * x


@env.task(cache="auto", retries=3)
async def child(x: int) -> int:
    return x


@env.task
async def root(n: int) -> int:
    return n


class Oops(Exception):
    pass


Behavior = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class Harness:
    """A fake control plane, a RemoteController on it, and an executor that answers claims."""

    def __init__(self) -> None:
        self.plane = FakeControlPlane()
        transport = httpx.ASGITransport(app=create_fake_app(self.plane))
        self.client = ApiClient("http://fake", "test-key", transport=transport, retry_for=1.0)
        self.parked: list[int] = []
        self.controller = RemoteController(
            self.client, on_park=lambda: self.parked.append(self.controller.parked)
        )
        self.behaviors: dict[str, Behavior] = {}
        self.executed: list[str] = []
        self._executor: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Harness:
        self._executor = asyncio.ensure_future(self._execute())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._executor is not None
        self._executor.cancel()
        await asyncio.gather(self._executor, return_exceptions=True)
        await self.client.aclose()

    async def start_run(self, name: str = "run1", attempt_of_root: int = 0) -> Frame:
        """A run whose root action is running 'here' (claimed by nobody else)."""
        if name not in self.plane.runs:
            body = {
                "name": name,
                "task": task_ref(root, BUNDLE, HERE),
                "inputs_b64": b64e(encode_inputs(root, {"n": 1})),
            }
            await self.client.acall("POST", "/api/v1/runs", json=body)
        if (name, "a0") in self.plane.queue:
            self.plane.queue.remove((name, "a0"))
        a0 = self.plane.actions[(name, "a0")]
        a0["attempts"] = attempt_of_root + 1
        a0["phase"] = "running"
        node = RunningAction(ActionID(name="a0", run_name=name), root.name, b"", BUNDLE, HERE)
        tctx = TaskContext(action=node.id, mode="remote", custom_context={"team": "x"}, task_name=root.name)
        return Frame(tctx=tctx, controller=self.controller, action=node)

    async def _execute(self) -> None:
        while True:
            batch = await self.client.acall(
                "POST", "/api/v1/executor/claim", json={"worker_id": "t", "max": 16, "timeout": 5}, poll=5
            )
            for a in batch:
                asyncio.ensure_future(self._one(a))

    async def _one(self, a: dict[str, Any]) -> None:
        if a["action"] == "a0":  # the test plays the root action itself
            return
        self.executed.append(a["action"])
        behavior = self.behaviors.get(a["task"]["name"], self._run_function)
        outcome = await behavior(a)
        body = {"worker_id": "t", "run": a["run"], "action": a["action"], "attempt": a["attempt"], **outcome}
        await self.client.acall("POST", "/api/v1/executor/report", json=body)

    @staticmethod
    async def _run_function(a: dict[str, Any]) -> dict[str, Any]:
        task = {t.name: t for t in (double, child)}[a["task"]["name"]]
        value = task.func(**decode_inputs(task, b64d(a["inputs_b64"]) or b""))
        if inspect.isawaitable(value):
            value = await value
        return {"phase": "succeeded", "outputs_b64": b64e(encode_outputs(task, value))}


def fails_with(error: BaseException, phase: str = "failed") -> Behavior:
    async def behavior(a: dict[str, Any]) -> dict[str, Any]:
        return {"phase": phase, **error_fields(error)}

    return behavior


def expected_name(
    parent: str, task: Any, inputs: dict[str, Any], seq: int = 0, group: str | None = None
) -> str:
    data = encode_inputs(task, inputs)
    input_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    return ActionID(name=parent, run_name="run1").new_sub_action_from(seq, task.name, input_hash, group).name


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


def test_a_child_runs_on_the_server_and_returns_its_value() -> None:
    async def main() -> None:
        async with Harness() as h:
            frame = await h.start_run()
            assert await h.controller.submit(double, (21,), {}, frame) == 42
            name = expected_name("a0", double, {"x": 21})
            assert h.plane.posts == [(name, 201)]
            action = h.plane.actions[("run1", name)]
            assert (action["parent"], action["phase"], action["task_name"]) == (
                "a0",
                "succeeded",
                "rc.double",
            )
            ref = h.plane.refs[("run1", name)]
            assert (ref["module"], ref["file"], ref["bundle_key"]) == (__name__, Path(__file__).name, BUNDLE)
            assert h.plane.ctx[("run1", name)] == {"team": "x"}
            assert frame.action.children[0].phase is ActionPhase.SUCCEEDED
            assert h.parked == [1, 0]  # the parent counted as waiting while its child ran

    run(main())


def test_names_are_deterministic_and_a_resubmission_reuses_finished_children() -> None:
    async def main() -> None:
        async with Harness() as h:
            frame = await h.start_run()
            group = frame.with_tctx(group_data=GroupData("g1"))
            results = await asyncio.gather(
                h.controller.submit(double, (1,), {}, frame),
                h.controller.submit(double, (1,), {}, frame),
                h.controller.submit(double, (1,), {}, group),
            )
            assert results == [2, 2, 2]
            names = [n for n, _ in h.plane.posts]
            assert sorted(names) == sorted(
                [
                    expected_name("a0", double, {"x": 1}, 0),
                    expected_name("a0", double, {"x": 1}, 1),
                    expected_name("a0", double, {"x": 1}, 0, "g1"),
                ]
            )
            assert len(h.executed) == 3
            # the parent's next attempt (a new worker, a new node) calls the same children again
            again = await h.start_run(attempt_of_root=1)
            assert await h.controller.submit(double, (1,), {}, again) == 2
            assert h.plane.posts[-1] == (expected_name("a0", double, {"x": 1}, 0), 200)
            assert len(h.executed) == 3  # nothing ran twice

    run(main())


def test_a_child_that_failed_in_an_earlier_attempt_runs_again() -> None:
    async def main() -> None:
        async with Harness() as h:
            h.behaviors["rc.double"] = fails_with(ValueError("first time"))
            frame = await h.start_run()
            with pytest.raises(ValueError, match="first time"):
                await h.controller.submit(double, (5,), {}, frame)
            del h.behaviors["rc.double"]
            retry = await h.start_run(attempt_of_root=1)
            assert await h.controller.submit(double, (5,), {}, retry) == 10
            assert len(h.executed) == 2

    run(main())


@pytest.mark.parametrize(
    ("error", "phase", "expected_type", "text"),
    [
        (ValueError("bad value"), "failed", ValueError, "bad value"),
        (KeyError("missing"), "failed", KeyError, "'missing'"),
        (Oops("not a builtin"), "failed", Oops, "not a builtin"),
        (NonRecoverableError("stop now"), "failed", NonRecoverableError, "stop now"),
        (MaxRuntimeExceededError("too slow"), "timed_out", MaxRuntimeExceededError, "too slow"),
    ],
)
def test_a_childs_error_is_raised_at_the_call_site(
    error: Exception, phase: str, expected_type: type, text: str
) -> None:
    async def main() -> None:
        async with Harness() as h:
            h.behaviors["rc.double"] = fails_with(error, phase)
            frame = await h.start_run()
            with pytest.raises(expected_type) as info:
                await h.controller.submit(double, (1,), {}, frame)
            assert str(info.value) == text
            # every error is also the reference's RuntimeUserError, its code the original class name
            assert isinstance(info.value, RuntimeUserError)
            assert info.value.code == type(error).__name__

    run(main())


def test_an_aborted_child_raises_action_aborted() -> None:
    async def main() -> None:
        async with Harness() as h:

            async def hang(a: dict[str, Any]) -> dict[str, Any]:
                await asyncio.sleep(3600)
                raise AssertionError

            h.behaviors["rc.double"] = hang
            frame = await h.start_run()
            call = asyncio.ensure_future(h.controller.submit(double, (1,), {}, frame))
            await asyncio.sleep(0.2)
            name = expected_name("a0", double, {"x": 1})
            h.plane.actions[("run1", name)]["error_message"] = "stopped by the test"
            h.plane.set_phase("run1", name, "aborted")
            await h.plane.notify()
            with pytest.raises(ActionAbortedError, match="stopped by the test"):
                await call

    run(main())


def test_cancelling_the_parent_stops_waiting() -> None:
    async def main() -> None:
        async with Harness() as h:

            async def hang(a: dict[str, Any]) -> dict[str, Any]:
                await asyncio.sleep(3600)
                raise AssertionError

            h.behaviors["rc.double"] = hang
            frame = await h.start_run()
            call = asyncio.ensure_future(h.controller.submit(double, (1,), {}, frame))
            await asyncio.sleep(0.2)
            assert h.controller.parked == 1
            h.controller.cancel_children(frame.action, "parent failed")
            with pytest.raises(asyncio.CancelledError):
                await call
            assert h.controller.parked == 0
            assert frame.action.children[0].phase is ActionPhase.ABORTED
            assert frame.action.children[0].abort_reason == "parent failed"

    run(main())


def test_cache_hits_come_back_without_running() -> None:
    async def main() -> None:
        async with Harness() as h:
            frame = await h.start_run()
            assert await h.controller.submit(child, (7,), {}, frame) == 7
            other = await h.start_run("run2")
            assert await h.controller.submit(child, (7,), {}, other) == 7
            assert len(h.executed) == 1
            assert other.action.children[0].cache_status == "hit"

    run(main())


def test_sync_callers_block_their_thread_and_traces_are_posted() -> None:
    async def main() -> None:
        async with Harness() as h:
            frame = await h.start_run()
            result: list[int] = []
            thread = threading.Thread(
                target=lambda: result.append(h.controller.submit_sync(double, (4,), {}, frame))
            )
            thread.start()
            await asyncio.to_thread(thread.join)
            assert result == [8]
            entry = TraceEntry("helper", b"in", b"out", None, 1.0, 2.0)
            await asyncio.to_thread(h.controller.record_trace, frame, entry)  # from another thread
            h.controller.record_trace(frame, TraceEntry("helper", b"in2", None, "ValueError: x", 2.0, 3.0))
            await h.controller.flush()
            assert [(t["seq"], t["name"], t["error"]) for t in h.plane.traces] == [
                (0, "helper", None),
                (1, "helper", "ValueError: x"),
            ]
            assert b64d(h.plane.traces[0]["outputs_b64"]) == b"out"

    run(main())


def test_submitting_needs_a_bundle_and_a_reachable_server() -> None:
    async def main() -> None:
        async with Harness() as h:
            frame = await h.start_run()
            plain = Frame(frame.tctx, h.controller, RunningAction(frame.action.id, "x", b"", BUNDLE, HERE))
            h.plane.fail_next = 1000
            with pytest.raises(UnionRpcError):
                await h.controller.submit(double, (1,), {}, plain)

    run(main())


def test_rebuilding_errors() -> None:
    assert isinstance(rebuild_error("ZeroDivisionError", "division by zero"), ZeroDivisionError)
    assert rebuild_error("KeyError", "'k'").args == ("k",)
    decode = rebuild_error("UnicodeDecodeError", "cannot")  # a builtin with a special constructor
    assert isinstance(decode, CustomError) and decode.code == "UnicodeDecodeError"
    validation = rebuild_error("RuntimeDataValidationError", "task 't', parameter 'x': bad")
    assert isinstance(validation, RuntimeDataValidationError) and validation.kind == "user"
    assert isinstance(rebuild_error("SystemExit", "1"), CustomError)  # never a BaseException escape
    unknown = rebuild_error("NowhereToBeFound", "gone", near=(__name__,))
    assert isinstance(unknown, CustomError) and unknown.code == "NowhereToBeFound"
    mine = rebuild_error("Oops", "mine", near=(__name__,))
    assert type(mine) is Oops and str(mine) == "mine"
    timed_out = {
        "name": "n",
        "task_name": "t",
        "phase": "timed_out",
        "error_type": None,
        "error_message": None,
    }
    assert type(error_of(timed_out)) is TaskTimeoutError
    deadline = dict(timed_out, error_type="DeadlineExceededError", error_message="late")
    assert isinstance(error_of(deadline), DeadlineExceededError)
    assert isinstance(error_of(dict(timed_out, phase="aborted")), ActionAbortedError)
    fields = error_fields(CustomError("Oops", "from a grandchild"))
    assert (fields["error_type"], fields["retryable"]) == ("Oops", True)
    assert error_fields(NonRecoverableError("no"))["retryable"] is False
    assert error_fields(UnionRpcError("Unreachable", "down"))["error_kind"] == "system"


def test_task_refs_describe_how_to_run_the_task() -> None:
    ref = task_ref(child, BUNDLE, HERE)
    assert ref["name"] == "rc.child" and ref["retries"] == 3
    assert ref["cache"]["behavior"] == "auto" and len(ref["cache"]["version"]) == 64
    assert ref["file"] == Path(__file__).name
    assert task_ref(child, BUNDLE, Path("/nowhere"))["file"] is None  # not in the bundle: import by name
    assert task_ref(double, BUNDLE, HERE)["cache"]["version"] is None
    assert context_free(
        task_ref(double.override(timeout=5, retries=flyte.RetryStrategy(2, backoff=1.5)), BUNDLE, HERE)
    )


def context_free(ref: dict[str, Any]) -> bool:
    return ref["timeout"] == 5 and ref["backoff"] == 1.5 and ref["retries"] == 2
