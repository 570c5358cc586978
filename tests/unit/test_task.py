from __future__ import annotations

import asyncio

import pytest

import flyte

env = flyte.TaskEnvironment(name="t")


@env.task
async def double(x: int) -> int:
    return 2 * x


@env.task
def add(a: int, b: int = 1) -> int:
    return a + b


def test_calling_a_task_outside_a_run_calls_the_function():
    assert add(2, 3) == 5
    assert add(2) == 3
    assert asyncio.run(double(4)) == 8
    assert add.forward(1, b=2) == 3


def test_aio_outside_a_run():
    assert asyncio.run(add.aio(1, 1)) == 2
    assert asyncio.run(double.aio(5)) == 10


def test_override_returns_a_new_template_and_leaves_the_original():
    faster = add.override(retries=2, timeout=5, env_vars={"X": "1"}, resources=flyte.Resources(cpu=2))
    assert faster is not add
    assert faster.retries.count == 2 and add.retries.count == 0
    assert faster.timeout is not None and add.timeout is None
    assert faster.env_vars == {"X": "1"} and add.env_vars == {}
    assert faster.name == add.name
    with pytest.raises(TypeError, match="unknown option"):
        add.override(nonsense=True)


def test_interface_and_repr():
    assert add.interface.input_types == {"a": int, "b": int}
    assert add.interface.outputs == {"o0": int}
    assert "t.add" in repr(add)


def test_multiple_outputs_are_declared_by_a_tuple_annotation():
    @env.task
    def pair(x: int) -> tuple[int, str]:
        return x, str(x)

    assert list(pair.interface.outputs) == ["o0", "o1"]

    @env.task
    def seq(x: int) -> tuple[int, ...]:
        return (x,)

    assert list(seq.interface.outputs) == ["o0"]
