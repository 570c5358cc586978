"""flyte.extras: sleep tasks, dynamic batching, and a clear error for container tasks."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import pytest

import flyte
import flyte.errors
from flyte.extras import (
    BatchStats,
    ContainerTask,
    CostEstimator,
    DynamicBatcher,
    Prompt,
    Sleep,
    SleepTask,
    TokenBatcher,
    TokenEstimator,
)

BODY_RAN: list[str] = []
sleep_env = flyte.TaskEnvironment(name="sleepers", plugin_config=Sleep())
env = flyte.TaskEnvironment(name="extras", depends_on=[sleep_env])


@sleep_env.task
async def wait(duration: timedelta) -> None:
    BODY_RAN.append("wait")


@sleep_env.task
def wait_sync(duration: timedelta) -> None:
    BODY_RAN.append("wait_sync")


@env.task
async def fan_out(n: int) -> int:
    await asyncio.gather(*(wait(duration=timedelta(milliseconds=1)) for _ in range(n)))
    return n


def test_sleep_tasks_are_sleep_templates_that_skip_their_body():
    BODY_RAN.clear()
    assert isinstance(wait, SleepTask) and wait.task_type == "core-sleep"
    assert flyte.run(fan_out, 5).outputs() == (5,)
    assert flyte.run(wait_sync, timedelta(0)).outputs() == (
        None,
    )  # a task returning None gives (None,), as in the reference
    assert BODY_RAN == []


def test_sleep_tasks_keep_their_identity_and_override():
    assert wait.name == "sleepers.wait"
    assert wait.func.__name__ == "wait" and wait.func.__module__ == __name__
    assert isinstance(wait.override(retries=2), SleepTask)


def test_sleep_tasks_need_one_timedelta_input_and_no_outputs():
    bad_env = flyte.TaskEnvironment(name="bad_sleepers", plugin_config=Sleep())
    with pytest.raises(
        TypeError, match=r"'bad_sleepers.seconds'.*exactly one input typed datetime.timedelta"
    ):

        @bad_env.task
        async def seconds(s: int) -> None: ...

    with pytest.raises(TypeError, match="cannot have outputs"):

        @bad_env.task
        async def returns(d: timedelta) -> int: ...


async def _double(batch: list[int]) -> list[int]:
    return [2 * x for x in batch]


def test_dynamic_batcher_returns_each_records_result_in_batches():
    async def main() -> tuple[list[int], BatchStats]:
        async with DynamicBatcher(process_fn=_double, max_batch_size=4, batch_timeout_s=0.01) as batcher:
            futures = await batcher.submit_batch(list(range(10)))
            results = list(await asyncio.gather(*futures))
        return results, batcher.stats

    results, stats = asyncio.run(main())
    assert results == [2 * x for x in range(10)]
    assert stats.total_submitted == stats.total_completed == 10
    assert stats.total_batches >= 3  # at most four per batch
    assert 0.0 <= stats.utilization <= 1.0
    assert stats.avg_batch_size == 10 / stats.total_batches


def test_cost_budget_bounds_batches():
    sizes: list[int] = []

    @dataclass
    class Job:
        n: int

        def estimate_cost(self) -> int:
            return 10

    async def process(batch: list[Job]) -> list[int]:
        sizes.append(len(batch))
        return [j.n for j in batch]

    async def main() -> list[int]:
        async with DynamicBatcher(process_fn=process, target_batch_cost=30, batch_timeout_s=1.0) as b:
            futures = [await b.submit(Job(i)) for i in range(9)]
            return list(await asyncio.gather(*futures))

    assert isinstance(Job(1), CostEstimator)
    assert asyncio.run(main()) == list(range(9))
    assert max(sizes) <= 3


def test_a_failing_batch_fails_its_records_and_the_batcher_goes_on():
    async def process(batch: list[int]) -> list[int]:
        if 13 in batch:
            raise ValueError("unlucky batch")
        return batch

    async def main() -> tuple[BaseException | None, int]:
        async with DynamicBatcher(process_fn=process, max_batch_size=1) as b:
            bad = await b.submit(13)
            good = await b.submit(7)
            error = None
            try:
                await bad
            except ValueError as e:
                error = e
            return error, await good

    error, good = asyncio.run(main())
    assert str(error) == "unlucky batch" and good == 7


def test_submit_needs_a_running_batcher():
    async def main() -> None:
        await DynamicBatcher(process_fn=_double).submit(1)

    with pytest.raises(RuntimeError, match="not running"):
        asyncio.run(main())


def test_token_batcher_costs_prompts_by_tokens():
    seen: list[list[str]] = []

    async def infer(batch: list[Prompt]) -> list[str]:
        seen.append([p.text for p in batch])
        return [p.text.upper() for p in batch]

    async def main() -> list[str]:
        async with TokenBatcher(inference_fn=infer, target_batch_tokens=5, batch_timeout_s=1.0) as b:
            futures = [await b.submit(Prompt(text="abcdefgh")) for _ in range(4)]  # 3 tokens each
            futures.append(await b.submit(Prompt(text="x"), estimated_tokens=100))
            return list(await asyncio.gather(*futures))

    assert isinstance(Prompt("a"), TokenEstimator) and Prompt("abcdefgh").estimate_tokens() == 3
    assert asyncio.run(main()) == ["ABCDEFGH"] * 4 + ["X"]
    assert all(len(batch) <= 2 for batch in seen)
    with pytest.raises(TypeError, match="inference_fn"):
        TokenBatcher()


def test_the_references_earlier_name_gpu_saturator_is_the_token_batcher():
    from flyte.extras import GPUSaturator

    async def infer(batch: list[str]) -> list[str]:
        return [f"result for {item}" for item in batch]

    async def main() -> str:
        async with GPUSaturator(inference_fn=infer) as saturator:
            return await (await saturator.submit("hello", estimated_tokens=5))

    assert asyncio.run(main()) == "result for hello"


def test_container_tasks_load_but_say_they_cannot_run():
    task = ContainerTask(name="echo", image="alpine:3", command=["echo", "hi"], outputs={"out": str})
    assert task.container_args() == ["echo", "hi"]
    with pytest.raises(
        flyte.errors.RuntimeUserError, match=r"ContainerTask 'echo'.*does not run container images"
    ):
        task()
    with pytest.raises(flyte.errors.RuntimeUserError, match="ContainerTask 'echo'"):
        asyncio.run(task.aio())


def test_durable_aliases():
    import flyte.durable
    import flyte.extras

    assert flyte.extras.durable_sleep is flyte.durable.sleep
    assert flyte.extras.durable_time is flyte.durable.time
