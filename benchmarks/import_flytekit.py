"""Start-up cost of the flytekit 1 layer: ``python benchmarks/import_flytekit.py [--quick] [--strict]``.

Measured like ``run.py``'s whole-process workloads (``time_process``: the child's user + system
CPU from ``os.wait4``, one discarded first run, bytecode cached in a temporary directory):

| row | process | target |
| --- | --- | --- |
| ``import_flytekit`` | ``python -c "import flytekit"`` | <= 100 ms CPU |
| ``flytekit_names`` | ``python -c "from flytekit import task, workflow"`` (loads the engine) | none |
| baseline | ``python -c pass`` | |

The layer is imported from an installed ``flyte-engine-flytekit`` when there is one, otherwise
from this checkout's ``compat/flytekit/src``. Exit status: 0, or 2 with ``--strict`` when the
target is missed, 1 when a child failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import Settings, child_env, table, time_process  # noqa: E402

TARGET_MS = 100.0
ROWS = {
    "import_flytekit": ("-c", "import flytekit"),
    "flytekit_names": ("-c", "from flytekit import task, workflow"),
    "baseline": ("-c", "pass"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 timed runs instead of 5")
    parser.add_argument("--strict", action="store_true", help="exit 2 when the target is missed")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else 5
    with tempfile.TemporaryDirectory() as workdir:
        env = child_env(workdir)
        if importlib.util.find_spec("flytekit") is None:
            compat = str(HERE.parent / "compat" / "flytekit" / "src")
            env["PYTHONPATH"] = os.pathsep.join(p for p in (compat, env.get("PYTHONPATH")) if p)
        settings = Settings(quick=args.quick, repeat=1, env=env, workdir=workdir, timeout=60)
        results = {name: time_process(list(argv_), runs, settings) for name, argv_ in ROWS.items()}
    failed = [n for n, r in results.items() if "error" in r]
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, "error", "", r["error"]])
            continue
        verdict = ""
        if name == "import_flytekit":
            verdict = "ok" if r["cpu_ms"] <= TARGET_MS else f"MISSED (<= {TARGET_MS:g} ms)"
        rows.append([name, f"{r['cpu_ms']:.1f}", f"{r['wall_ms']:.1f}", verdict])
    print(table(["workload", "ms CPU", "ms wall", "target"], rows, right={1, 2}))
    if failed:
        return 1
    missed = results["import_flytekit"]["cpu_ms"] > TARGET_MS
    return 2 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
