from __future__ import annotations

import pytest

import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="tracing")


@flyte.trace
async def fetch(url: str) -> str:
    return f"<{url}>"


@flyte.trace
def parse(text: str) -> int:
    return len(text)


@flyte.trace
async def stream(n: int):
    for i in range(n):
        yield i


@flyte.trace
def sync_stream(n: int):
    yield from range(n)


@env.task
async def leaf() -> int:
    return 1


@flyte.trace
async def calls_a_task() -> int:
    return await leaf()


@env.task
async def uses_traces() -> int:
    page = await fetch("a")
    items = [i async for i in stream(3)]
    return parse(page) + sum(items) + sum(sync_stream(4))


@env.task
async def nests_task_in_trace() -> int:
    return await calls_a_task()


def test_traces_are_recorded_on_the_calling_action():
    run = flyte.run(uses_traces)
    assert run.outputs()[0] == 3 + 3 + 6
    traces = run.source.get_traces(run.name, "a0")
    assert [t.name for t in traces] == ["fetch", "stream", "parse", "sync_stream"]
    assert all(t.error is None and t.outputs is not None for t in traces)


def test_traced_functions_work_outside_a_task():
    assert parse("abcd") == 4


def test_a_task_inside_a_trace_is_refused():
    with pytest.raises(flyte.errors.TraceDoesNotAllowNestedTasksError, match="tracing.leaf"):
        flyte.run(nests_task_in_trace)


@flyte.trace
async def failing_trace() -> int:
    raise KeyError("gone")


@env.task
async def catches_trace_error() -> str:
    try:
        await failing_trace()
    except KeyError:
        return "caught"
    return "no"


def test_trace_errors_are_recorded_and_propagate():
    run = flyte.run(catches_trace_error)
    assert run.outputs()[0] == "caught"
    (entry,) = run.source.get_traces(run.name, "a0")
    assert entry.error == "KeyError: 'gone'"


@env.task
async def grouped_children() -> list[str | None]:
    with flyte.group("stage-1"):
        await leaf()
    await leaf()
    return []


def test_group_labels_child_actions():
    run = flyte.run(grouped_children)
    assert [c.group for c in run.action.children] == ["stage-1", None]


def test_group_outside_a_task_is_a_no_op():
    with flyte.group("g"):
        pass
    with pytest.raises(ValueError), flyte.group(""):
        pass


def test_custom_context_outside_a_run_seeds_the_run():
    @env.task
    async def read_ctx() -> dict[str, str]:
        return flyte.get_custom_context()

    with flyte.custom_context(experiment="e1"):
        assert flyte.get_custom_context() == {"experiment": "e1"}
        assert flyte.run(read_ctx).outputs()[0] == {"experiment": "e1"}
    assert flyte.get_custom_context() == {}
    with pytest.raises(TypeError, match="must be a str"), flyte.custom_context(n=1):  # type: ignore[arg-type]
        pass
