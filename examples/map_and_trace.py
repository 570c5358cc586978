"""Fan out with flyte.map (bounded concurrency), record helper calls with @flyte.trace.

Run it with `python examples/map_and_trace.py`.
"""

import asyncio
import functools

import flyte

env = flyte.TaskEnvironment(name="mapping")


@flyte.trace
async def fetch_score(item: int) -> float:
    await asyncio.sleep(0.01)  # stands in for a call to an external service
    return item / 10


@env.task
async def score(item: int, weight: float) -> float:
    return await fetch_score(item) * weight


@env.task
async def main(n: int = 20) -> float:
    weighted = functools.partial(score, weight=2.0)
    results = [r async for r in flyte.map.aio(weighted, range(n), concurrency=5, group_name="scoring")]
    return sum(results)


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main, n=20)
    print(f"run {run.name}: {run.phase}, {len(run.action.children)} mapped actions")
    print(f"total score: {run.outputs()[0]:.1f}")
