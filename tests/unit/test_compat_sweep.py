"""Behaviours the reference SDK's example programs rely on, found by running them locally.

Each test is a small program of the same kind as the examples that failed, in our own words.
"""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte.io import File

env = flyte.TaskEnvironment(name="compat_sweep")


# -- File.open handles: awaited and plain calls both work ----------------------------------------


@env.task
async def sum_lines_plain(f: File) -> float:
    """Reads the handle like a blocking file: plain read()/iteration inside ``async with``."""
    total = 0.0
    async with f.open() as fh:
        rows = iter(fh)
        next(rows)  # header
        for row in rows:
            total += float(row)
    async with f.open("rb") as fh:
        assert fh.read().decode().startswith("value")
    return total


@env.task
async def copy_with_mixed_styles(f: File) -> File:
    out = File.new_remote()
    async with f.open("rb") as src, out.open("wb") as dst:
        data = bytes(await src.read())
        dst.write(data[:3])  # plain call
        await dst.write(data[3:])  # awaited call
        await dst.flush()
    return out


def test_file_handle_supports_plain_and_awaited_calls(tmp_path: Path):
    path = tmp_path / "values.csv"
    path.write_text("value\n1.5\n2.5\n")
    f = File.from_local_sync(str(path))
    assert flyte.run(sum_lines_plain, f).outputs()[0] == 4.0
    copied = flyte.run(copy_with_mixed_styles, f).outputs()[0]
    with copied.open_sync("rb") as fh:
        assert fh.read() == path.read_bytes()


# -- flyte._image.PythonWheels -------------------------------------------------------------------


def test_python_wheels_layer_can_be_added_to_an_image(tmp_path: Path):
    from flyte._image import PythonWheels

    wheels = tmp_path / "dist"
    layer = PythonWheels(wheel_dir=wheels, package_name="flyte")
    assert layer.wheel_dir_name == "dist"
    image = flyte.Image.from_debian_base().clone(addl_layer=layer, name="with-wheels")
    before = image.uri
    wheels.mkdir()
    (wheels / "flyte-0.0.1-py3-none-any.whl").write_bytes(b"wheel bytes")
    after = flyte.Image.from_debian_base().clone(addl_layer=layer, name="with-wheels").uri
    assert before != after  # the wheels' content is part of the identity
    image.validate()  # the folder now exists


# -- a sync task called plainly from an async task blocks until done (the reference's behaviour) --


@env.task
def add_one(x: int) -> int:
    return x + 1


@env.task
def fail_sync(x: int) -> int:
    raise ValueError(f"bad x={x}")


@env.task
async def async_parent_calls_sync(x: int) -> int:
    first = add_one(x)  # no await: blocks this task, like the reference does
    try:
        fail_sync(first)
    except flyte.errors.RuntimeUserError as e:
        assert e.code == "ValueError"
    return first + await add_one.aio(first)


def test_sync_task_called_from_async_task_runs_as_a_child_action():
    run = flyte.run(async_parent_calls_sync, 1)
    assert run.outputs()[0] == 2 + 3
    names = [c.task_name for c in run.action.children]
    assert names == ["compat_sweep.add_one", "compat_sweep.fail_sync", "compat_sweep.add_one"]


def test_sync_task_called_from_async_task_is_refused_when_strict(monkeypatch):
    monkeypatch.setenv("FLYTE_STRICT_SYNC_CALLS", "1")
    with pytest.raises(flyte.errors.SyncTaskCallInAsyncContextError, match=r"await add_one\.aio"):
        flyte.run(async_parent_calls_sync, 1)


isolated = flyte.TaskEnvironment(name="compat_sweep_isolated", env_vars={"WHERE": "a worker process"})


@isolated.task
async def parent_in_a_worker_process(x: int) -> str:
    return f"{add_one(x)} from {os.environ['WHERE']}"  # its controller is the worker's, not the run's


def test_sync_task_called_plainly_from_an_async_task_in_a_worker_process():
    run = flyte.run(parent_in_a_worker_process, 1)
    assert run.outputs()[0] == "2 from a worker process"
    assert [c.task_name for c in run.action.children] == ["compat_sweep.add_one"]


tasks = types.ModuleType("compat_sweep_tasks")  # as after `import tasks`
tasks.increment = add_one


@isolated.task
async def parent_calls_through_a_module(x: int) -> int:
    return tasks.increment(x) * 10


def test_sync_task_called_plainly_as_an_attribute_of_a_module_in_a_worker_process():
    assert flyte.run(parent_calls_through_a_module, 1).outputs()[0] == 20


BY_KEY = {"add": add_one}


@env.task
async def calls_through_a_dict(x: int) -> int:
    return BY_KEY["add"](x)  # a sync task its code does not name: the call still blocks until done


def test_sync_task_called_plainly_through_a_container_still_runs():
    run = flyte.run(calls_through_a_dict, 1)
    assert run.outputs()[0] == 2
    assert [c.task_name for c in run.action.children] == ["compat_sweep.add_one"]


sized = flyte.TaskEnvironment(name="compat_sweep_sized", resources=flyte.Resources(cpu=1))


@sized.task
def leaf(x: int) -> int:
    return x * 10


@sized.task
def middle(x: int) -> int:
    return leaf(x) + leaf(x + 1)  # a sync task calling sync tasks, itself called plainly from async


@sized.task
async def top(x: int) -> int:
    return middle(x) + await middle.aio(x)


def test_blocking_sync_call_can_nest_further_sync_calls():
    run = flyte.run(top, 1)
    assert run.outputs()[0] == 2 * (10 + 20)
    assert [c.task_name for c in run.action.children] == ["compat_sweep_sized.middle"] * 2
    assert [g.task_name for g in run.action.children[0].children] == ["compat_sweep_sized.leaf"] * 2


# -- TaskEnvironment.from_task / add_task ------------------------------------------------------


def test_from_task_groups_templates_built_elsewhere():
    import flyte.sandbox

    @flyte.sandbox.orchestrator
    def double(x: int) -> int:
        return x * 2

    @flyte.sandbox.orchestrator
    def halve(x: int) -> int:
        return x // 2

    group = flyte.TaskEnvironment.from_task("compat-sweep-group", double, halve)
    assert group.name == "compat-sweep-group"
    assert set(group.tasks) == {double.name, halve.name}
    assert double.forward(4) == 8
    with pytest.raises(ValueError, match="already has a task named"):
        group.add_task(double)
    with pytest.raises(ValueError, match="at least one task"):
        flyte.TaskEnvironment.from_task("empty")
    user = flyte.TaskEnvironment(name="compat-sweep-user", depends_on=[group])
    assert user.depends_on == [group]
