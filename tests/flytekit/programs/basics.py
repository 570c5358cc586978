"""The classic basics: tasks, a workflow, multiple and named outputs, defaults, subworkflows."""

import typing
from dataclasses import dataclass

from flytekit import task, workflow


@task
def slope(x: typing.List[int], y: typing.List[int]) -> float:
    mean_x = sum(x) / len(x)
    mean_y = sum(y) / len(y)
    num = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y, strict=True))
    den = sum((a - mean_x) ** 2 for a in x)
    return num / den


@task
def intercept(x: typing.List[int], y: typing.List[int], slope: float) -> float:
    return sum(y) / len(y) - slope * sum(x) / len(x)


@workflow
def simple_wf(x: typing.List[int], y: typing.List[int]) -> float:
    s = slope(x=x, y=y)
    return intercept(x=x, y=y, slope=s)


@task
def split_name(full: str) -> typing.Tuple[str, str]:
    first, last = full.split(" ", 1)
    return first, last


class Greeting(typing.NamedTuple):
    text: str
    length: int


@task
def greet(first: str, punctuation: str = "!") -> Greeting:
    text = f"Hello, {first}{punctuation}"
    return Greeting(text=text, length=len(text))


@workflow
def greet_wf(full: str = "Ada Lovelace") -> Greeting:
    first, _last = split_name(full=full)
    return greet(first=first)


@dataclass
class Point:
    x: int
    y: int


@task
def make_point(n: int) -> Point:
    return Point(x=n, y=2 * n)


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def inner_wf(a: int, b: int = 10) -> int:
    return add(a=a, b=b)


@workflow
def outer_wf(n: int = 3) -> typing.Tuple[int, int]:
    p = make_point(n=n)
    total = add(a=p.x, b=p.y)  # attribute access on a promise
    nested = inner_wf(a=total)  # a subworkflow, its default b=10
    return total, nested


_log: typing.List[str] = []


@task
def write_marker(path: str, text: str) -> None:
    with open(path, "a") as fh:
        fh.write(text + "\n")


@workflow
def ordered_wf(path: str) -> None:
    first = write_marker(path=path, text="first")
    second = write_marker(path=path, text="second")
    first >> second
