"""A sync task calling sync tasks: the calls behave as any child action (records, errors, context,
abort, time bounds), though they run on the parent's thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="sync_inline")


@env.task
def leaf(x: int) -> str:
    return f"{flyte.ctx().action.name}:{x}"


@env.task
def middle(x: int) -> list[str]:
    return [leaf(x), leaf(x), leaf(x + 1)]


@env.task
def top(x: int) -> list[str]:
    return middle(x) + [leaf(x)]


def test_nested_sync_calls_are_actions_with_their_own_context_and_records() -> None:
    run = flyte.run(top, 3)
    names = run.outputs()[0]
    actions = {a.name: a for a in flyte.remote.Run.get(run.name).actions()}
    assert len(actions) == 6  # top, middle, 4 leaves
    assert [n.split(":")[1] for n in names] == ["3", "3", "4", "3"]
    assert len({n.split(":")[0] for n in names}) == 4  # identical calls get distinct actions
    for name in names:
        action = actions[name.split(":")[0]]
        assert action.task_name == "sync_inline.leaf" and action.phase.value == "succeeded"
    assert flyte.run(top, 3).outputs()[0] == names  # same code, same names


class Bad(ValueError):
    pass


@env.task
def fails(x: int) -> int:
    raise Bad(f"bad value {x}")


@env.task
def catches(x: int) -> str:
    try:
        fails(x)
    except Bad as e:
        assert isinstance(e, flyte.errors.RuntimeUserError) and e.code == "Bad"
        return f"caught {e}"
    return "not raised"


def test_a_failing_sync_child_is_recorded_failed_and_raises_in_its_parent() -> None:
    run = flyte.run(catches, 4)
    assert run.outputs() == ("caught bad value 4",)
    (failed,) = [a for a in flyte.remote.Run.get(run.name).actions() if a.task_name == "sync_inline.fails"]
    assert failed.phase.value == "failed"
    record = failed.record
    assert record.error_type == "Bad" and "bad value 4" in (record.error_message or "")
    assert "raise Bad" in (record.traceback or "")


@env.task
def spins(path: str) -> int:
    end = time.time() + 30
    n = 0
    while time.time() < end:
        n += 1
        if n % 100_000 == 0:
            Path(path).write_text(str(n))
    return n


@env.task(timeout=1)
def bounded(path: str) -> int:
    return spins(path)


def test_a_timed_out_sync_parent_stops_its_sync_child_and_aborts_it(tmp_path: Path) -> None:
    marks = tmp_path / "spins"
    name = f"inline-timeout-{time.time_ns()}"
    with pytest.raises(flyte.errors.TaskTimeoutError):
        flyte.with_runcontext(name=name).run(bounded, str(marks))
    time.sleep(0.3)
    seen = marks.read_text()
    time.sleep(0.3)
    assert marks.read_text() == seen  # the child's body was stopped
    phases = {a.task_name: a.phase.value for a in flyte.remote.Run.get(name).actions()}
    assert phases == {"sync_inline.bounded": "timed_out", "sync_inline.spins": "aborted"}


@env.task
def survives_abort(path: str) -> str:
    try:
        spins(path)
    except flyte.errors.ActionAbortedError as e:
        return f"child aborted: {e}"
    return "not aborted"


def _running_action(run_name: str, task_name: str) -> flyte.remote.Action:
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            for a in flyte.remote.Run.get(run_name).actions():
                if a.task_name == task_name and a.phase.value == "running":
                    return a
        except Exception:
            pass  # the run is not recorded yet
        time.sleep(0.05)
    raise AssertionError(f"{task_name} never ran in {run_name}")


def test_aborting_a_sync_child_alone_lets_its_sync_parent_catch_it(tmp_path: Path) -> None:
    name = f"inline-abort-{time.time_ns()}"
    box: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: box.update(
            out=flyte.with_runcontext(name=name).run(survives_abort, str(tmp_path / "s"))
        )
    )
    runner.start()
    _running_action(name, "sync_inline.spins").abort("enough")
    runner.join(30)
    assert "child aborted" in box["out"].outputs()[0]  # type: ignore[attr-defined]
    phases = {a.task_name: a.phase.value for a in flyte.remote.Run.get(name).actions()}
    assert phases == {"sync_inline.survives_abort": "succeeded", "sync_inline.spins": "aborted"}


@env.task
def waits_on_spinner(path: str) -> int:
    return spins(path)


def test_aborting_the_run_aborts_a_sync_child_running_on_its_parents_thread(tmp_path: Path) -> None:
    name = f"inline-run-abort-{time.time_ns()}"
    box: dict[str, object] = {}

    def go() -> None:
        try:
            flyte.with_runcontext(name=name).run(waits_on_spinner, str(tmp_path / "s"))
        except Exception as e:
            box["error"] = e

    runner = threading.Thread(target=go)
    runner.start()
    _running_action(name, "sync_inline.spins")
    flyte.remote.Run.get(name).abort("stop it")
    runner.join(30)
    assert isinstance(box.get("error"), flyte.errors.ActionAbortedError)
    actions = flyte.remote.Run.get(name).actions()
    assert {a.phase.value for a in actions} == {"aborted"}


@env.task
def talks(x: int) -> int:
    print(f"child says {x}")
    return x


@env.task
def listens(x: int) -> int:
    print("parent speaks")
    return talks(x)


def test_a_sync_childs_output_goes_to_its_own_logs() -> None:
    run = flyte.run(listens, 5)
    assert run.outputs() == (5,)
    stored = flyte.remote.Run.get(run.name)
    (child,) = [a for a in stored.actions() if a.task_name == "sync_inline.talks"]
    assert any("child says 5" in line for line in stored.get_logs(child.name))
    assert not any("child says" in line for line in stored.get_logs("a0"))
    assert any("parent speaks" in line for line in stored.get_logs("a0"))
