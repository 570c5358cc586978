"""The basics of a flytekit 1 program on the engine: tasks, workflows, outputs, ordering, errors."""

from __future__ import annotations

import pytest
from programs import basics, conditions

import flyte
import flytekit
from flytekit import task, workflow


def test_a_task_called_outside_a_workflow_is_a_plain_function():
    assert basics.add(a=2, b=3) == 5
    assert basics.greet(first="Bo") == basics.Greeting(text="Hello, Bo!", length=10)
    assert flyte.ctx() is None


def test_a_workflow_called_locally_returns_flytekit_outputs():
    assert basics.simple_wf(x=[-3, 0, 3], y=[7, 4, -2]) == pytest.approx(3.0)
    # a NamedTuple output comes back as that NamedTuple
    assert basics.greet_wf() == basics.Greeting(text="Hello, Ada!", length=11)
    assert basics.greet_wf(full="Grace Hopper").text == "Hello, Grace!"
    # attribute access on a dataclass promise, a subworkflow with a default input
    assert basics.outer_wf() == (9, 19)


def test_every_task_call_is_an_action_of_one_run():
    run = flyte.run(basics.outer_wf, n=2)
    assert run.outputs() == (6, 16)
    tasks = sorted(a.task_name for a in run.actions())
    assert tasks == ["basics.add", "basics.add", "basics.inner_wf", "basics.make_point", "basics.outer_wf"]
    assert {a.phase.value for a in run.actions()} == {"succeeded"}


def test_named_outputs_keep_their_names():
    run = flyte.run(basics.greet_wf, full="Alan Turing")
    assert run.outputs().named_outputs == {"text": "Hello, Alan!", "length": 12}


def test_rshift_orders_calls_without_data_between_them(tmp_path):
    path = tmp_path / "order.txt"
    assert basics.ordered_wf(path=str(path)) is None
    assert path.read_text().split() == ["first", "second"]


def test_a_promise_used_as_a_bool_is_flytekits_error():
    with pytest.raises(ValueError, match="truth value testing"):
        conditions.use_as_bool(1)


def test_wrong_types_are_caught_when_the_workflow_is_defined():
    @task
    def length(s: str) -> int:
        return len(s)

    with pytest.raises(TypeError, match="Failed to bind input 's'.*expects str.*int"):

        @workflow
        def wf(n: int) -> int:
            return length(s=n)

    with pytest.raises(TypeError, match="expects str, got int 3"):

        @workflow
        def wf2() -> int:
            return length(s=3)

    with pytest.raises(TypeError, match="unexpected input 'text'"):

        @workflow
        def wf3() -> int:
            return length(text="a")

    with pytest.raises(TypeError, match="missing required input"):

        @workflow
        def wf4() -> int:
            return length()

    with pytest.raises(TypeError, match="Failed to bind output 'o0'.*declared str"):

        @workflow
        def wf5(s: str) -> str:
            return length(s=s)


def test_node_outputs_and_create_node():
    @task
    def pair(n: int) -> tuple[int, int]:
        return n, n * 10

    @workflow
    def wf(n: int) -> int:
        node = flytekit.create_node(pair, n=n)
        return basics.add(a=node.o0, b=node.outputs["o1"])

    assert wf(n=2) == 22


def test_imperative_workflow():
    wb = flytekit.Workflow(name="my.imperative.example")
    wb.add_workflow_input("full", str)
    names = wb.add_entity(basics.split_name, full=wb.inputs["full"])
    hello = wb.add_entity(basics.greet, first=names.outputs["o0"], punctuation="?")
    wb.add_workflow_output("greeting", hello.outputs["text"])
    assert wb(full="Katherine Johnson") == "Hello, Katherine?"
    run = flyte.run(wb, full="Mary Jackson")
    assert run.outputs().named_outputs == {"greeting": "Hello, Mary?"}


def test_independent_nodes_run_concurrently(tmp_path):
    # two nodes each wait for the other's file: this only finishes when they run at the same time
    import time
    from pathlib import Path

    @task
    def meet(me: str, other: str, folder: str) -> str:
        Path(folder, me).touch()
        deadline = time.monotonic() + 20
        while not Path(folder, other).exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{other} never started while {me} was running")
            time.sleep(0.01)
        return me

    @workflow
    def wf(folder: str) -> tuple[str, str]:
        return meet(me="a", other="b", folder=folder), meet(me="b", other="a", folder=folder)

    assert wf(folder=str(tmp_path)) == ("a", "b")


def test_failure_policy_and_error_reaches_the_caller():
    @task
    def bad(x: int) -> int:
        raise KeyError(f"no {x}")

    @workflow
    def wf(x: int) -> int:
        return bad(x=x)

    with pytest.raises(KeyError, match="no 4"):
        wf(x=4)


def test_with_overrides_changes_one_call():
    from flytekit import Resources

    @task(retries=0)
    def flaky(marker: str) -> int:
        from pathlib import Path

        path = Path(marker)
        tries = int(path.read_text()) if path.exists() else 0
        path.write_text(str(tries + 1))
        if tries == 0:
            raise RuntimeError("first attempt fails")
        return tries

    @workflow
    def wf(marker: str) -> int:
        return flaky(marker=marker).with_overrides(retries=2, requests=Resources(cpu="1", mem="100Mi"))

    import tempfile

    marker = tempfile.mktemp()
    run = flyte.run(wf, marker=marker)
    assert run.outputs()[0] == 1
    (action,) = [a for a in run.actions() if a.task_name.endswith(".flaky")]
    assert action.attempts == 2
    assert flaky.retries.count == 0  # the task itself is unchanged


def test_fail_after_executable_nodes_complete(tmp_path):
    from pathlib import Path

    from flytekit import WorkflowFailurePolicy

    @task
    def fails() -> int:
        raise RuntimeError("early failure")

    @task
    def slow(folder: str) -> int:
        import time

        time.sleep(0.3)
        Path(folder, "slow-done").touch()
        return 1

    @workflow(failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE)
    def wf(folder: str) -> tuple[int, int]:
        return fails(), slow(folder=folder)

    with pytest.raises(RuntimeError, match="early failure"):
        wf(folder=str(tmp_path))
    assert (tmp_path / "slow-done").exists()
