"""@dynamic, @eager and map_task."""

import asyncio
import functools
import typing

from flytekit import dynamic, eager, map_task, task, workflow


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: typing.List[int]) -> int:
    return sum(xs)


@dynamic
def fan_out(n: int) -> int:
    # n is a real int here: the graph is built when the task runs
    return total(xs=[inc(x=i) for i in range(n)])


@workflow
def dynamic_wf(n: int = 4) -> int:
    return fan_out(n=n)


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@workflow
def map_wf(xs: typing.List[int]) -> typing.List[int]:
    return map_task(functools.partial(scale, factor=10), concurrency=2)(x=xs)


@task
def fragile(x: int) -> int:
    if x == 3:
        raise ValueError("three is unlucky")
    return x


@workflow
def tolerant_map(xs: typing.List[int]) -> typing.List[typing.Optional[int]]:
    return map_task(fragile, min_success_ratio=0.5)(x=xs)


@workflow
def strict_map(xs: typing.List[int]) -> typing.List[int]:
    return map_task(fragile)(x=xs)


@eager
async def eager_wf(x: int) -> int:
    a, b = await asyncio.gather(inc(x=x), inc(x=x + 1))
    if a > 100:  # a real value: eager code may branch on it
        return a
    return await scale(x=a, factor=b)


@task
def count_call(marker: str) -> int:
    with open(marker, "a") as fh:
        fh.write("x")
    with open(marker) as fh:
        return len(fh.read())


@task
def needs_flag(flag: str, n: int) -> int:
    import os

    if not os.path.exists(flag):
        raise RuntimeError("flag file missing")
    return n * 100


@workflow
def recoverable(marker: str, flag: str) -> int:
    return needs_flag(flag=flag, n=count_call(marker=marker))
