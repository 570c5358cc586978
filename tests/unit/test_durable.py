"""flyte.durable: recorded clock, sleep and random values that a recovering run sees again."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

import flyte
import flyte.durable

env = flyte.TaskEnvironment(name="durable")
FAIL = {"on": True}


@env.task
async def draws() -> list[str]:
    values = [
        repr(flyte.durable.time()),
        repr(await flyte.durable.time.aio()),
        flyte.durable.now().isoformat(),
        repr(flyte.durable.random()),
        repr(await flyte.durable.randint.aio(0, 10**9)),
    ]
    await flyte.durable.sleep.aio(0.01)
    if FAIL["on"]:
        raise RuntimeError("fail after " + ",".join(values))
    return values


def test_a_recovered_run_sees_the_values_the_failed_run_recorded():
    FAIL["on"] = True
    with pytest.raises(RuntimeError) as info:
        flyte.with_runcontext(name="durable-src").run(draws)
    recorded = str(info.value).split("fail after ", 1)[1].split(",")
    FAIL["on"] = False
    try:
        run = flyte.rerun("durable-src", recover=True)
    finally:
        FAIL["on"] = True
    assert run.outputs()[0] == recorded


def test_a_fresh_run_draws_new_values():
    FAIL["on"] = False
    try:
        first = flyte.run(draws).outputs()[0]
        second = flyte.run(draws).outputs()[0]
    finally:
        FAIL["on"] = True
    assert first[3] != second[3]  # random() differs between unrelated runs


@env.task
def sync_draws() -> float:
    flyte.durable.sleep(0)
    return flyte.durable.time() + flyte.durable.random()


def test_sync_tasks_use_the_blocking_forms():
    assert isinstance(flyte.run(sync_draws).outputs()[0], float)


def test_outside_a_task_they_are_the_plain_functions():
    assert isinstance(flyte.durable.time(), float)
    assert isinstance(flyte.durable.now(), datetime)
    assert 0.0 <= flyte.durable.random() < 1.0
    assert 3 <= flyte.durable.randint(3, 4) <= 4
    assert flyte.durable.sleep(0) is None
    assert asyncio.run(flyte.durable.sleep.aio(0)) is None
    assert isinstance(asyncio.run(flyte.durable.now.aio()), datetime)


def test_names_match_the_reference():
    assert {"sleep", "time", "now"} <= set(flyte.durable.__all__)
    assert flyte.durable.sleep.__name__ == "sleep"
