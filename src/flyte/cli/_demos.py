"""Built-in demo workflow for ``flyte run --local hello``: a small fan-out, no file needed."""

from __future__ import annotations

import asyncio

import flyte

env = flyte.TaskEnvironment(name="demo")


@env.task
async def greet(name: str, i: int) -> str:
    return f"hello {name} #{i}"


@env.task
async def hello(name: str = "world", n: int = 3) -> str:
    """Greet NAME N times, each greeting its own action."""
    greetings = await asyncio.gather(*(greet(name, i) for i in range(n)))
    return "\n".join(greetings)
