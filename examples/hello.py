"""A first workflow: fan out over inputs with asyncio.gather, combine the results.

Run it with `python examples/hello.py` or `flyte run --local examples/hello.py main --n 20`.
"""

import asyncio

import flyte

env = flyte.TaskEnvironment(name="hello", resources=flyte.Resources(cpu=1, memory="250Mi"))


@env.task
async def square(x: int) -> int:
    return x * x


@env.task
def describe(total: int, n: int) -> str:
    return f"The squares of 0..{n - 1} add up to {total}"


@env.task
async def main(n: int = 10) -> str:
    squares = await asyncio.gather(*(square(i) for i in range(n)))
    return await describe.aio(sum(squares), n)


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main, n=10)
    print(f"run {run.name}: {run.phase}")
    print(run.outputs()[0])
