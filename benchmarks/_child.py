"""Measure one in-process workload in this (fresh) process and write the numbers as JSON.

Started by ``benchmarks/run.py``; not meant to be run by hand (but it can be:
``python benchmarks/_child.py async_fanout flyte --size 1000 --out /dev/stdout``).

Only the workload's runs are timed: imports and a small warm-up run happen before the clock starts.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import traceback
from typing import Any

_T_START = time.perf_counter()


def ru_maxrss_mb() -> float:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in MiB (KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def peak_rss_mb() -> float:
    """This process's own peak resident set size so far, in MiB.

    On Linux a spawned child's ru_maxrss starts at its *parent's* RSS (exec keeps the high-water
    mark of the address space it replaces), so it reads ``VmHWM`` from /proc/self/status, the peak
    of this program's own address space. Elsewhere it falls back to ru_maxrss.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return ru_maxrss_mb()


def measure(name: str, variant: str, size: int, repeat: int, profile: bool) -> dict[str, Any]:
    from workloads import WORKLOADS, InProcess

    spec = WORKLOADS[name]
    assert isinstance(spec, InProcess), f"{name} is not an in-process workload"
    fn = spec.flyte if variant == "flyte" else spec.baseline
    if fn is None:
        raise ValueError(f"workload {name!r} has no {variant} variant")
    import_s = time.perf_counter() - _T_START
    import_rss_mb = peak_rss_mb()

    fn(spec.warmup_size)
    gc.collect()

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        fn(size)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return {}

    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeat):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        result = fn(size)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        walls.append(wall)
        cpus.append(cpu)
        if spec.expected is not None and result != spec.expected(size):
            raise AssertionError(f"{name}/{variant} returned {result!r}, expected {spec.expected(size)!r}")
        del result
        gc.collect()

    actions = spec.actions(size)
    wall, cpu = min(walls), min(cpus)
    return {
        "workload": name,
        "variant": variant,
        "size": size,
        "actions": actions,
        "repeat": repeat,
        "wall_s": wall,
        "wall_ms": wall * 1000,
        "cpu_s": cpu,
        "cpu_ms": cpu * 1000,
        "cpu_us_per_action": cpu / actions * 1e6,
        "peak_rss_mb": peak_rss_mb(),
        "ru_maxrss_mb": ru_maxrss_mb(),
        "import_s": import_s,
        "import_rss_mb": import_rss_mb,
        "wall_s_samples": walls,
        "cpu_s_samples": cpus,
        "type_engine": _type_engine_module(),
    }


def _type_engine_module() -> str | None:
    try:
        from flyte.types import TypeEngine
    except Exception:
        return None
    return f"{TypeEngine.__module__}.{TypeEngine.__qualname__}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workload")
    parser.add_argument("variant", choices=("flyte", "baseline"))
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run instead")
    args = parser.parse_args()
    try:
        result = measure(args.workload, args.variant, args.size, args.repeat, args.profile)
    except Exception as e:
        traceback.print_exc()
        result = {"workload": args.workload, "variant": args.variant, "error": f"{type(e).__name__}: {e}"}
        status = 1
    else:
        status = 0
    if not args.profile or status:
        with open(args.out, "w") as f:
            json.dump(result, f)
    return status


if __name__ == "__main__":
    sys.exit(main())
