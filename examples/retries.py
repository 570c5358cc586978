"""Retries with backoff, attempt numbers, timeouts, and errors caught by the parent.

Run it with `python examples/retries.py`.
"""

import asyncio

import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="resilience")


@env.task(retries=flyte.RetryStrategy(count=3, backoff=flyte.Backoff(base=0.05, factor=2, cap=1)))
async def flaky_download(url: str) -> str:
    attempt = flyte.ctx().attempt_number
    if attempt < 2:
        raise ConnectionError(f"{url}: connection reset (attempt {attempt})")
    return f"{url}: downloaded on attempt {attempt}"


@env.task(timeout=0.5)
async def slow_step() -> str:
    await asyncio.sleep(10)
    return "never"


@env.task
async def main() -> list[str]:
    results = [await flaky_download("http://127.0.0.1/data.csv")]
    try:
        results.append(await slow_step())
    except flyte.errors.TaskTimeoutError as e:
        results.append(f"slow_step gave up: {type(e).__name__}")
    return results


if __name__ == "__main__":
    flyte.init()
    for line in flyte.run(main).outputs()[0]:
        print(line)
