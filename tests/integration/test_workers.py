"""Worker-process costs: parent CPU per action on warm workers, cold start, CPU-bound fan-out.

The numbers are printed (run with ``-s``); speed is not asserted (the machine may be busy), only
that the parent's cost per action stays far from what would make workers pointless.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "workers"))

import worker_tasks as wt  # noqa: E402
from worker_harness import CTX, enc, with_executor  # noqa: E402

from flyte._internal.workers import ProcessExecutor  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_parent_cpu_per_action_on_warm_workers():
    data = enc(wt.noop)

    async def body(ex: ProcessExecutor):
        async def one(**limits):
            await ex.run(wt.noop, data, CTX, env={}, **{"timeout": None, "memory_limit": None, **limits})

        started = time.perf_counter()
        await asyncio.gather(one(), one())
        cold = time.perf_counter() - started
        results = {}
        for label, concurrency, limits in [
            ("1 worker, sequential", 1, {}),
            ("2 workers, 2 callers", 2, {}),
            ("with timeout + memory limit", 1, {"timeout": 30, "memory_limit": 512 << 20}),
        ]:
            n = 1000

            async def caller(count: int, limits=limits) -> None:
                for _ in range(count):
                    await one(**limits)

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(caller(n // concurrency) for _ in range(concurrency)))
            results[label] = ((time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6)
        return cold, results

    cold, results = with_executor(body, max_workers=2)
    print(f"\ncold start of 2 workers: {cold * 1000:.0f} ms")
    for label, (cpu_us, wall_us) in results.items():
        print(f"{label}: parent CPU {cpu_us:.0f} us/action, wall {wall_us:.0f} us/action")
    assert results["1 worker, sequential"][0] < 1000


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two CPUs")
def test_cpu_bound_fan_out_on_one_and_two_workers():
    data = enc(wt.burn, 4_000_000)

    def fan_out(workers: int) -> float:
        async def body(ex: ProcessExecutor):
            noop = enc(wt.noop)
            await asyncio.gather(  # warm the workers first: only the fan-out is timed
                *(ex.run(wt.noop, noop, CTX, timeout=None, memory_limit=None, env={}) for _ in range(workers))
            )
            started = time.perf_counter()
            results = await asyncio.gather(
                *(ex.run(wt.burn, data, CTX, timeout=None, memory_limit=None, env={}) for _ in range(4))
            )
            assert len({r.outputs for r in results}) == 1
            return time.perf_counter() - started

        return with_executor(body, max_workers=workers)

    one, two = fan_out(1), fan_out(2)
    print(f"\n4 CPU-bound actions: 1 worker {one:.2f}s, 2 workers {two:.2f}s, speedup {one / two:.2f}x")
