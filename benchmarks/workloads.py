"""Benchmark workloads: flyte tasks, their plain-asyncio baselines, and the registry ``WORKLOADS``.

Each in-process workload is a module-level flyte task run with ``flyte.run`` plus, optionally, the
same shape written with plain ``async def`` functions and ``asyncio.gather`` (no flyte), so that a
result can be read against what the interpreter itself costs.

To add a workload: define its tasks (and a baseline) below, then add one entry to ``WORKLOADS``.
``benchmarks/run.py`` picks it up by name (``--only NAME``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flyte
from flyte._run import process_env

env = flyte.TaskEnvironment(name="bench")


# -- async fan-out: one parent awaits N async children with asyncio.gather ----------------------------


@env.task
async def noop(x: int) -> int:
    return x


@env.task
async def fanout(n: int) -> int:
    return sum(await asyncio.gather(*(noop(i) for i in range(n))))


async def plain_noop(x: int) -> int:
    return x


async def plain_fanout(n: int) -> int:
    return sum(await asyncio.gather(*(plain_noop(i) for i in range(n))))


# -- sequential chain: each child's output is the next child's input ---------------------------------


@env.task
async def chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = await noop(x + 1)
    return x


async def plain_chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = await plain_noop(x + 1)
    return x


# -- sync fan-out: sync tasks (run on worker threads) awaited with .aio from an async parent ---------


@env.task
def sync_noop(x: int) -> int:
    return x


@env.task
async def sync_fanout(n: int) -> int:
    return sum(await asyncio.gather(*(sync_noop.aio(i) for i in range(n))))


def plain_sync_noop(x: int) -> int:
    return x


async def plain_sync_fanout(n: int) -> int:
    return sum(await asyncio.gather(*(asyncio.to_thread(plain_sync_noop, i) for i in range(n))))


# -- sync chain: a sync task calling sync tasks, one after the other (no event loop in user code) ---


@env.task
def sync_chain(n: int) -> int:
    x = 0
    for _ in range(n):
        x = sync_noop(x) + 1
    return x


def plain_sync_chain_body(n: int) -> int:
    x = 0
    for _ in range(n):
        x = plain_sync_noop(x) + 1
    return x


async def plain_sync_chain(n: int) -> int:
    return await asyncio.to_thread(plain_sync_chain_body, n)


# -- large list[int] passed task to task: produce -> consume inside a parent -------------------------


@env.task
async def produce_list(n: int) -> list[int]:
    return list(range(n))


@env.task
async def consume_list(xs: list[int]) -> int:
    return sum(xs)


@env.task
async def pass_list(n: int) -> int:
    return await consume_list(await produce_list(n))


async def plain_produce_list(n: int) -> list[int]:
    return list(range(n))


async def plain_consume_list(xs: list[int]) -> int:
    return sum(xs)


async def plain_pass_list(n: int) -> int:
    return await plain_consume_list(await plain_produce_list(n))


# -- large bytes passed task to task -----------------------------------------------------------------


@env.task
async def produce_bytes(n: int) -> bytes:
    return bytes(n)


@env.task
async def consume_bytes(data: bytes) -> int:
    return len(data)


@env.task
async def pass_bytes(n: int) -> int:
    return await consume_bytes(await produce_bytes(n))


async def plain_produce_bytes(n: int) -> bytes:
    return bytes(n)


async def plain_consume_bytes(data: bytes) -> int:
    return len(data)


async def plain_pass_bytes(n: int) -> int:
    return await plain_consume_bytes(await plain_produce_bytes(n))


# -- the registry ------------------------------------------------------------------------------------

METRICS: dict[str, tuple[str, str]] = {
    "cpu_us_per_action": ("us CPU/action", "{:.1f}"),
    "peak_rss_mb": ("MB peak RSS", "{:.1f}"),
    "wall_s": ("s wall", "{:.3f}"),
    "wall_ms": ("ms wall", "{:.1f}"),
    "cpu_s": ("s CPU", "{:.3f}"),
    "cpu_ms": ("ms CPU", "{:.1f}"),
}
"""Metric key -> (unit shown in the table, number format). Targets name one of these keys."""


@dataclass(frozen=True)
class Target:
    """``metric <= limit``. ``sized``: the limit only holds at the workload's full size (not --quick)."""

    metric: str
    limit: float
    sized: bool = True

    def describe(self) -> str:
        return f"<= {self.limit:g} {METRICS[self.metric][0]}"

    def met_by(self, value: float) -> bool:
        return value <= self.limit


@dataclass(frozen=True)
class InProcess:
    """A workload measured inside one fresh Python process (imports excluded from the numbers).

    ``flyte`` and ``baseline`` take the size and return the workload's result, which is checked
    against ``expected(size)`` when given. ``actions(size)`` is how many task calls (actions)
    one run makes, including the root; CPU per action is CPU seconds / that number.
    """

    description: str
    flyte: Callable[[int], Any]
    size: int
    quick_size: int
    actions: Callable[[int], int]
    targets: tuple[Target, ...] = ()
    baseline: Callable[[int], Any] | None = None
    expected: Callable[[int], Any] | None = None
    warmup_size: int = 1
    """A first, unmeasured run at this size loads lazily imported modules and warms caches."""
    kind: str = field(default="in_process", init=False)


@dataclass(frozen=True)
class WholeProcess:
    """A whole ``python ARGV...`` process, measured by its CPU (user + sys) from the OS.

    ``argv`` follows ``sys.executable``; ``{benchmarks}`` in it is replaced by this directory.
    ``baseline_argv`` is the reference process shown next to it, named ``baseline_label``.
    """

    description: str
    argv: tuple[str, ...]
    targets: tuple[Target, ...] = ()
    baseline_argv: tuple[str, ...] | None = ("-c", "pass")
    baseline_label: str = "python -c pass"
    runs: int = 5
    quick_runs: int = 2
    kind: str = field(default="whole_process", init=False)


Workload = InProcess | WholeProcess


def run_task(task: Any) -> Callable[[int], Any]:
    """``size -> flyte.run(task, n=size).outputs()[0]``."""

    def go(n: int) -> Any:
        return flyte.run(task, n=n).outputs()[0]

    go.__name__ = f"run_{task.__name__}"
    return go


def run_plain(fn: Callable[[int], Any]) -> Callable[[int], Any]:
    """``size -> asyncio.run(fn(size))``: the plain-asyncio counterpart of ``run_task``."""

    def go(n: int) -> Any:
        return asyncio.run(fn(n))

    go.__name__ = f"run_{fn.__name__}"
    return go


# -- flyte.map: items run concurrently (the reference runs them one at a time locally) ----------------


@env.task
async def map_noop(n: int) -> int:
    return sum([r async for r in flyte.map.aio(noop, range(n))])


async def plain_map_noop(n: int) -> int:
    return sum(await asyncio.gather(*(plain_noop(i) for i in range(n))))


@env.task
async def nap(x: int) -> int:
    await asyncio.sleep(0.2)
    return x


@env.task
async def map_naps(n: int) -> int:
    return sum([r async for r in flyte.map.aio(nap, range(n), concurrency=10)])


async def plain_map_naps(n: int) -> int:
    limit = asyncio.Semaphore(10)

    async def one(i: int) -> int:
        async with limit:
            await asyncio.sleep(0.2)
            return i

    return sum(await asyncio.gather(*(one(i) for i in range(n))))


# -- caching: misses (every input new) and hits (every input seen) ------------------------------------


@env.task(cache="auto")
async def cached_noop(x: int) -> int:
    return x


@env.task
async def cached_fanout(n: int, offset: int) -> int:
    return sum(await asyncio.gather(*(cached_noop(offset + i) for i in range(n)))) - n * offset


@env.task
async def uncached_fanout(n: int, offset: int) -> int:
    return sum(await asyncio.gather(*(noop(offset + i) for i in range(n)))) - n * offset


_offsets = iter(range(1, 1_000_000_000, 1_000_000))


def run_cache_misses(n: int) -> int:
    """Every call uses inputs never seen before: all misses, all written to the cache."""
    return flyte.run(cached_fanout, n=n, offset=next(_offsets)).outputs()[0]


def run_uncached(n: int) -> int:
    return flyte.run(uncached_fanout, n=n, offset=0).outputs()[0]


def run_cache_hits(n: int) -> int:
    """The same inputs every call: after the warm-up run, all hits."""
    return flyte.run(cached_fanout, n=n, offset=0).outputs()[0]


# -- worker processes: dispatch cost, and two cores busy for CPU-bound sync work -------------------------


@env.task
async def isolated_fanout(n: int) -> int:
    return sum(await asyncio.gather(*(sync_noop.aio(i) for i in range(n))))


@env.task
def burn(x: int) -> int:
    total = 0
    for i in range(3_000_000):
        total += i % 7
    return x + total * 0


@env.task
async def burn_fanout(n: int) -> int:
    return sum(await asyncio.gather(*(burn.aio(i) for i in range(n))))


def with_env(fn: Callable[[int], Any], **variables: str) -> Callable[[int], Any]:
    """Run ``fn`` with environment variables set (each workload runs in its own process)."""

    def go(n: int) -> Any:
        with process_env(variables):
            return fn(n)

    go.__name__ = f"{fn.__name__}_with_{'_'.join(variables)}"
    return go


# -- through the control plane: a devbox on this host, two worker processes --------------------------

_devbox: dict[str, Any] = {}


def _start_devbox() -> None:
    """Start ``flyte start devbox`` once per benchmark process (stopped when the process exits)."""
    import atexit
    import json
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from flyte._internal.run_config import flyte_home

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    flyte_home().mkdir(parents=True, exist_ok=True)
    log = (flyte_home() / "benchmark-devbox.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", str(port), "--workers", "2"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    atexit.register(lambda: (proc.terminate(), proc.wait(timeout=30)))
    info = flyte_home() / "devbox.json"
    deadline = time.monotonic() + 180  # a loaded 2-core machine can take long to start it
    while True:
        with socket.socket() as probe:
            if info.exists() and probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            tail = (flyte_home() / "benchmark-devbox.log").read_text(errors="replace")[-2000:]
            state = f"exited with {proc.returncode}" if proc.poll() is not None else "did not start in 180 s"
            raise RuntimeError(f"the benchmark's devbox {state}:\n{tail}")
        time.sleep(0.05)
    box = json.loads(info.read_text())
    flyte.init(endpoint=box["endpoint"], api_key=box["api_key"], root_dir=Path(__file__).parent)
    _devbox["proc"] = proc


def run_through_devbox(n: int) -> int:
    """The async fan-out as a remote run: submit, then wait until it succeeded."""
    if not _devbox:
        _start_devbox()
    run = flyte.run(fanout, n=n)
    run.wait()
    return run.outputs()[0]


PLAIN_ONE_TASK = """\
import asyncio

async def hello(name: str) -> str:
    return f"hello {name}"

print(asyncio.run(hello("world")))
"""
"""one_task.py without flyte: the whole-process baseline of ``one_task_process``."""


def _sum_below(n: int) -> int:
    return n * (n - 1) // 2


WORKLOADS: dict[str, Workload] = {
    "async_fanout": InProcess(
        description="async parent gathers N async noop tasks",
        flyte=run_task(fanout),
        baseline=run_plain(plain_fanout),
        size=10_000,
        quick_size=1_000,
        actions=lambda n: n + 1,
        expected=_sum_below,
        targets=(Target("cpu_us_per_action", 50), Target("peak_rss_mb", 60)),
    ),
    "chain": InProcess(
        description="N sequential noop tasks, each fed the previous output",
        flyte=run_task(chain),
        baseline=run_plain(plain_chain),
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=lambda n: n,
        targets=(Target("cpu_us_per_action", 50),),
    ),
    "sync_fanout": InProcess(
        description="async parent gathers N sync tasks via .aio (worker threads)",
        flyte=run_task(sync_fanout),
        baseline=run_plain(plain_sync_fanout),
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=_sum_below,
        targets=(Target("cpu_us_per_action", 60),),
    ),
    "sync_chain": InProcess(
        description="a sync task calls N sync noop tasks in sequence (worker threads)",
        flyte=run_task(sync_chain),
        baseline=run_plain(plain_sync_chain),
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=lambda n: n,
        targets=(Target("cpu_us_per_action", 100),),
    ),
    "list_int": InProcess(
        description="list[int] of N elements: produce -> consume inside a parent",
        flyte=run_task(pass_list),
        baseline=run_plain(plain_pass_list),
        size=1_250_000,
        quick_size=125_000,
        actions=lambda n: 3,
        expected=_sum_below,
        warmup_size=10,
        targets=(Target("wall_s", 0.5),),
    ),
    "bytes_10mb": InProcess(
        description="bytes of N bytes: produce -> consume inside a parent",
        flyte=run_task(pass_bytes),
        baseline=run_plain(plain_pass_bytes),
        size=10_000_000,
        quick_size=1_000_000,
        actions=lambda n: 3,
        expected=lambda n: n,
        warmup_size=10,
        targets=(Target("wall_ms", 50), Target("cpu_ms", 25)),
    ),
    "async_fanout_no_store": InProcess(
        description="async_fanout with the run store off (what persistence costs)",
        flyte=with_env(run_task(fanout), FLYTE_LOCAL_PERSISTENCE="0"),
        baseline=run_plain(plain_fanout),
        size=10_000,
        quick_size=1_000,
        actions=lambda n: n + 1,
        expected=_sum_below,
    ),
    "map_1000": InProcess(
        description="flyte.map.aio over N noop items",
        flyte=run_task(map_noop),
        baseline=run_plain(plain_map_noop),
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=_sum_below,
        targets=(Target("cpu_us_per_action", 50),),
    ),
    "map_naps_c10": InProcess(
        description="flyte.map over N items sleeping 0.2 s each, concurrency=10",
        flyte=run_task(map_naps),
        baseline=run_plain(plain_map_naps),
        size=100,
        quick_size=20,
        actions=lambda n: n + 1,
        expected=_sum_below,
        targets=(Target("wall_s", 2.5),),
    ),
    "cache_miss_1000": InProcess(
        description="N cache misses (cache='auto', new inputs); baseline: the same fan-out uncached",
        flyte=run_cache_misses,
        baseline=run_uncached,
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=_sum_below,
        targets=(Target("wall_s", 0.25),),
    ),
    "cache_hit_1000": InProcess(
        description="N cache hits (the warm-up run fills the cache); baseline: the same fan-out uncached",
        flyte=run_cache_hits,
        baseline=run_uncached,
        size=1_000,
        quick_size=100,
        actions=lambda n: n + 1,
        expected=_sum_below,
        warmup_size=1_000,
        targets=(Target("cpu_us_per_action", 30),),
    ),
    "isolated_sync_1000": InProcess(
        description="N trivial sync tasks dispatched to warm worker processes (CPU of the parent)",
        flyte=with_env(run_task(isolated_fanout), FLYTE_LOCAL_ISOLATE="1"),
        baseline=run_plain(plain_sync_fanout),
        size=1_000,
        quick_size=50,
        actions=lambda n: n + 1,
        expected=_sum_below,
        warmup_size=4,
        targets=(Target("cpu_us_per_action", 300),),
    ),
    "cpu_bound_2_workers": InProcess(
        description="N CPU-bound sync tasks in worker processes; baseline: the same on one worker",
        flyte=with_env(run_task(burn_fanout), FLYTE_LOCAL_ISOLATE="1"),
        baseline=with_env(run_task(burn_fanout), FLYTE_LOCAL_ISOLATE="1", FLYTE_LOCAL_CPUS="1"),
        size=8,
        quick_size=2,
        actions=lambda n: n + 1,
        expected=_sum_below,
        warmup_size=2,
    ),
    "devbox_fanout_1000": InProcess(
        description="async fan-out of N through `flyte start devbox` (2 workers); baseline: the run locally",
        flyte=run_through_devbox,
        baseline=run_task(fanout),
        size=1_000,
        quick_size=20,
        actions=lambda n: n + 1,
        expected=_sum_below,
        warmup_size=2,
    ),
    "import_flyte": WholeProcess(
        description='python -c "import flyte"',
        argv=("-c", "import flyte"),
        targets=(Target("cpu_ms", 50, sized=False),),
    ),
    "one_task_process": WholeProcess(
        description="python benchmarks/one_task.py: one trivial task, whole process",
        argv=("{benchmarks}/one_task.py",),
        baseline_argv=("-c", PLAIN_ONE_TASK),
        baseline_label="python: asyncio.run(one coroutine)",
        targets=(Target("cpu_ms", 150, sized=False),),
    ),
}
