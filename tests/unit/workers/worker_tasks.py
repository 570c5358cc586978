"""Tasks the worker-process tests run; workers import this module by name, as they would user code."""

from __future__ import annotations

import os
import signal
import sys
import time

import flyte

env = flyte.TaskEnvironment(name="worker_tests")
warm = flyte.TaskEnvironment(name="warm_tests", reusable=flyte.ReusePolicy(replicas=2, idle_ttl=30))


class Unpicklable(Exception):
    """An exception class whose instances cannot cross a process boundary as themselves."""

    def __init__(self, a: int, b: int):
        super().__init__(f"bad pair {a}/{b}")
        self.lock = __import__("threading").Lock()


@env.task
def add(x: int, y: int) -> int:
    return x + y


@env.task
def noop() -> None:
    return None


@env.task
def fail(message: str) -> int:
    raise ValueError(message)


@env.task
def fail_unpicklable() -> int:
    raise Unpicklable(1, 2)


@env.task
def exit_abruptly(code: int) -> int:
    os._exit(code)


@env.task
def kill_self() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@env.task
def segfault() -> int:
    import ctypes

    ctypes.string_at(0)
    return 0


@env.task
def spin() -> int:
    while True:
        pass


@env.task
def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@env.task
def allocate_at_once(mib: int) -> int:
    block = bytearray(mib * 1024 * 1024)
    return len(block)


@env.task
def allocate_gradually(mib: int) -> int:
    chunks = [b"x" * (8 * 1024 * 1024) for _ in range(mib // 8)]
    return len(chunks)


@env.task
def read_env(name: str) -> str:
    return os.environ.get(name, "<unset>")


@env.task
def set_env_and_chdir(name: str, value: str) -> str:
    os.environ[name] = value
    os.chdir("/")
    return os.getcwd()


@env.task
def whoami() -> int:
    return os.getpid()


@env.task
def context_summary() -> str:
    c = flyte.ctx()
    assert c is not None
    return f"{c.action.name}|{c.action.run_name}|{c.attempt_number}|{c.custom_context}|{c.output_path}"


@env.task
def chatty(n: int) -> int:
    for i in range(n):
        print(f"out {i}")
    print("to stderr", file=sys.stderr)
    os.write(1, b"raw fd write\n")
    return n


@env.task
def square(x: int) -> int:
    return x * x


@env.task
def sum_of_squares(n: int) -> int:
    return sum(square(i) for i in range(n))


@env.task
def child_fails() -> str:
    try:
        fail("from the child")
    except ValueError as e:
        return f"caught {type(e).__name__}: {e}"
    return "not raised"


@env.task
async def async_double(x: int) -> int:
    return 2 * x


@env.task
async def async_fan_out(n: int) -> list[int]:
    import asyncio

    return list(await asyncio.gather(*(async_double.aio(i) for i in range(n))))


@env.task
def burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


@flyte.trace
def traced_helper(x: int) -> int:
    return x + 100


@env.task
def uses_trace(x: int) -> int:
    return traced_helper(x)


@warm.task
def warm_pid() -> int:
    return os.getpid()


@env.task
def raise_memory_error() -> int:
    raise MemoryError("pretend the heap is full")


@env.task
def die_mid_message() -> int:
    """Write the start of a frame on the worker's link to the parent, then exit."""
    import gc

    from flyte._internal.workers._worker import _Link

    link = next(o for o in gc.get_objects() if isinstance(o, _Link))
    link._sock.sendall(b"\x00\x00\x10\x00\x93")
    os._exit(1)


@env.task
def nested(depth: int) -> int:
    return 0 if depth == 0 else 1 + nested(depth - 1)


@env.task
async def async_slow(seconds: float) -> float:
    import asyncio

    await asyncio.sleep(seconds)
    return seconds


@env.task
async def gives_up_on_child() -> str:
    import asyncio

    try:
        await asyncio.wait_for(async_slow.aio(30.0), 0.5)
    except asyncio.TimeoutError:
        return "gave up"
    return "waited"


@env.task
def waits_on_slow_child() -> float:
    return async_slow(30.0)


@env.task
def worker_sys_path() -> list[str]:
    return list(sys.path)


@env.task
def grouped_child_call() -> int:
    with flyte.group("g1"), flyte.custom_context(stage="two"):
        return square(3)


@env.task
def mapped_squares(n: int) -> list[int]:
    return list(flyte.map(square, range(n)))
