"""Durable time, clock and random values: each call is a recorded ``@flyte.trace`` call.

A recovering run (``flyte.rerun(..., recover=True)``) replays the recorded trace calls of an
action in order, so the same call site sees the same value again. Outside a task the functions
are the plain ones from ``time``, ``datetime`` and ``random``.
"""

from __future__ import annotations

import asyncio
import random as _random
import time as _time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from flyte._trace import trace
from flyte.durable._call import DurableCall

F = TypeVar("F", bound=Callable[..., Any])


def _traced(name: str) -> Callable[[F], F]:
    """Trace ``func`` under a fixed ``name``: the name is part of the key a recovery matches on."""

    def decorate(func: F) -> F:
        func.__qualname__ = name
        return trace(func)

    return decorate


@_traced("flyte.durable.time")
def _time_now() -> float:
    return _time.time()


@_traced("flyte.durable.now")
def _datetime_now() -> datetime:
    return datetime.now()


@_traced("flyte.durable.sleep")
def _sleep_started(seconds: float) -> float:
    return _time.time()


@_traced("flyte.durable.random")
def _random_float() -> float:
    return _random.random()


@_traced("flyte.durable.randint")
def _random_int(a: int, b: int) -> int:
    return _random.randint(a, b)


def _time_sync() -> float:
    """The current time in seconds since the epoch, recorded (like ``time.time()``)."""
    return _time_now()


async def _time_async() -> float:
    """The current time in seconds since the epoch, recorded (like ``time.time()``)."""
    return _time_now()


def _now_sync() -> datetime:
    """The current local date and time, recorded (like ``datetime.now()``)."""
    return _datetime_now()


async def _now_async() -> datetime:
    """The current local date and time, recorded (like ``datetime.now()``)."""
    return _datetime_now()


def _remaining(seconds: float) -> float:
    return max(0.0, _sleep_started(seconds) + seconds - _time.time())


def _sleep_sync(seconds: float) -> None:
    """Sleep until ``seconds`` after the first time this call was reached.

    The start of the sleep is recorded: a recovering run that reaches the same call again only
    sleeps for what is left (or not at all when the time has passed).
    """
    _time.sleep(_remaining(seconds))


async def _sleep_async(seconds: float) -> None:
    """Sleep until ``seconds`` after the first time this call was reached (see ``sleep``)."""
    await asyncio.sleep(_remaining(seconds))


def _random_sync() -> float:
    """A random float in [0, 1), recorded (like ``random.random()``)."""
    return _random_float()


async def _random_async() -> float:
    """A random float in [0, 1), recorded (like ``random.random()``)."""
    return _random_float()


def _randint_sync(a: int, b: int) -> int:
    """A random int N with a <= N <= b, recorded (like ``random.randint(a, b)``)."""
    return _random_int(a, b)


async def _randint_async(a: int, b: int) -> int:
    """A random int N with a <= N <= b, recorded (like ``random.randint(a, b)``)."""
    return _random_int(a, b)


time: DurableCall[[], float] = DurableCall(_time_sync, _time_async)
now: DurableCall[[], datetime] = DurableCall(_now_sync, _now_async)
sleep: DurableCall[[float], None] = DurableCall(_sleep_sync, _sleep_async)
random: DurableCall[[], float] = DurableCall(_random_sync, _random_async)
randint: DurableCall[[int, int], int] = DurableCall(_randint_sync, _randint_async)

_CALLS: dict[str, Any] = {"time": time, "now": now, "sleep": sleep, "random": random, "randint": randint}
for _name, _call in _CALLS.items():
    _call.__name__ = _call.__qualname__ = _name
    _call.__module__ = "flyte.durable"
