"""One trivial task as a whole process: ``python benchmarks/one_task.py``.

``benchmarks/run.py`` measures this script's total CPU (start-up, ``import flyte``, one local run,
shutdown) as the cost of the smallest useful flyte program.
"""

from __future__ import annotations

import flyte

env = flyte.TaskEnvironment(name="one_task")


@env.task
async def hello(name: str) -> str:
    return f"hello {name}"


if __name__ == "__main__":
    run = flyte.run(hello, name="world")
    print(run.outputs()[0])
