"""Conditionals: if_/elif_/else_, fail, nested sections, conditions on task outputs."""

import typing

from flytekit import conditional, task, workflow


@task
def double(n: float) -> float:
    return 2 * n


@task
def square(n: float) -> float:
    return n * n


@workflow
def multiplier(my_input: float) -> float:
    return (
        conditional("fractions")
        .if_((my_input >= 0.1) & (my_input <= 1.0))
        .then(double(n=my_input))
        .elif_((my_input > 1.0) & (my_input <= 10.0))
        .then(square(n=my_input))
        .else_()
        .fail("The input must be between 0 and 10")
    )


@task
def coin(seed: int) -> bool:
    return seed % 2 == 0


@task
def label(text: str) -> str:
    return text


@workflow
def heads_or_tails(seed: int) -> str:
    result = coin(seed=seed)
    return (
        conditional("coin").if_(result.is_true()).then(label(text="heads")).else_().then(label(text="tails"))
    )


@workflow
def nested(a: int, b: int) -> str:
    return (
        conditional("outer")
        .if_(a > 0)
        .then(
            conditional("inner")
            .if_(b > 0)
            .then(label(text="both positive"))
            .else_()
            .then(label(text="only a"))
        )
        .elif_((a == 0) | (b == 0))
        .then(label(text="a zero"))
        .else_()
        .then(label(text="a negative"))
    )


@task
def count(n: int) -> int:
    return n


@workflow
def downstream(n: int) -> int:
    picked = conditional("big").if_(n >= 100).then(count(n=100)).else_().then(count(n=n))
    return count(n=picked)


@workflow
def compare_promises(a: int, b: int) -> str:
    x = count(n=a)
    y = count(n=b)
    return (
        conditional("order")
        .if_(x < y)
        .then(label(text="less"))
        .elif_(x == y)
        .then(label(text="equal"))
        .else_()
        .then(label(text="more"))
    )


def use_as_bool(x: int) -> typing.Any:
    @workflow
    def bad(x: int) -> int:
        y = count(n=x)
        if y:
            return y
        return y

    return bad
