"""Run the flyte-engine benchmarks and print how they compare with their targets.

    python benchmarks/run.py                      # everything, full sizes
    python benchmarks/run.py --quick              # small sizes: a smoke test of the runner (< 30 s)
    python benchmarks/run.py --only async_fanout chain --json out.json
    python benchmarks/run.py --profile async_fanout   # cProfile of one run, top functions by tottime

Every in-process workload (and its plain-asyncio baseline) runs in a fresh subprocess of this same
interpreter (``benchmarks/_child.py``), so that memory and import costs do not leak between them.
Whole-process workloads are timed by the OS's accounting of the child's CPU (``os.wait4``).

Exit status: 0 when every workload ran (met targets or not); 1 when one crashed or returned a wrong
result; with ``--strict``, 2 when all ran but a target was missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _ensure_flyte_importable() -> str | None:
    """Make ``flyte`` importable here and in children; return a path to add to PYTHONPATH, if any.

    An installed flyte-engine (or PYTHONPATH) wins; otherwise fall back to this checkout's ``src``.
    """
    if importlib.util.find_spec("flyte") is not None:
        return None
    src = str(REPO / "src")
    sys.path.insert(0, src)
    return src


_EXTRA_PATH = _ensure_flyte_importable()
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from workloads import METRICS, WORKLOADS, InProcess, Target, WholeProcess, Workload  # noqa: E402


def child_env(workdir: str) -> dict[str, str]:
    """The environment of every measured child: ours, with absolute PYTHONPATH and a private FLYTE_HOME.

    Bytecode caching is on (PYTHONDONTWRITEBYTECODE dropped) with the cache under ``workdir``
    (PYTHONPYCACHEPREFIX, unless already set), so that imports cost what they cost a user whose
    .pyc files exist, and nothing is written next to the sources.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", os.path.join(workdir, "pycache"))
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if _EXTRA_PATH:
        paths.insert(0, _EXTRA_PATH)
    if paths:  # children run in a temporary directory, so relative entries would break
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths)
    env["FLYTE_HOME"] = os.path.join(workdir, "flyte-home")
    return env


@dataclass
class Settings:
    quick: bool
    repeat: int
    env: dict[str, str]
    workdir: str
    timeout: float


@dataclass
class Outcome:
    """What one workload produced: results per variant ("flyte", "baseline"), or errors."""

    name: str
    spec: Workload
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def errors(self) -> list[str]:
        return [f"{variant}: {r['error']}" for variant, r in self.results.items() if "error" in r]


PRIME = """\
import sys
sys.path.insert(0, sys.argv[1])
import workloads
for spec in workloads.WORKLOADS.values():
    for fn in (getattr(spec, "flyte", None), getattr(spec, "baseline", None)):
        if fn is not None:
            try:
                fn(spec.warmup_size)
            except Exception:
                pass  # reported by the workload's own measurement
"""
"""Run every in-process workload once, tiny, to fill the bytecode cache before anything is measured."""


def prime(settings: Settings) -> None:
    cmd = [sys.executable, "-c", PRIME, str(HERE)]
    try:
        subprocess.run(
            cmd, env=settings.env, cwd=settings.workdir, timeout=settings.timeout, capture_output=True
        )
    except subprocess.TimeoutExpired:
        pass  # a hanging workload is reported by its own measurement


# -- in-process workloads -----------------------------------------------------------------------------


def run_child(
    name: str, variant: str, size: int, settings: Settings, profile: bool = False
) -> dict[str, Any]:
    out = os.path.join(settings.workdir, f"{name}-{variant}.json")
    cmd = [sys.executable, str(HERE / "_child.py"), name, variant, "--size", str(size), "--out", out]
    cmd += ["--repeat", str(settings.repeat)]
    if profile:
        subprocess.run([*cmd, "--profile"], env=settings.env, cwd=settings.workdir, timeout=settings.timeout)
        return {}
    try:
        proc = subprocess.run(
            cmd,
            env=settings.env,
            cwd=settings.workdir,
            timeout=settings.timeout,
            capture_output=True,
            text=True,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {settings.timeout:g} s"}
    try:
        with open(out) as f:
            result: dict[str, Any] = json.load(f)
    except (OSError, ValueError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        result = {"error": f"exit status {proc.returncode}: " + " | ".join(tail)}
    if "error" in result and proc.stderr:
        result["stderr"] = proc.stderr[-4000:]
    return result


def measure_in_process(name: str, spec: InProcess, settings: Settings) -> Outcome:
    outcome = Outcome(name, spec)
    size = spec.quick_size if settings.quick else spec.size
    variants = ["flyte"] + (["baseline"] if spec.baseline is not None else [])
    for variant in variants:
        t0 = time.perf_counter()
        outcome.results[variant] = r = run_child(name, variant, size, settings)
        took = time.perf_counter() - t0
        brief = r["error"] if "error" in r else f"{r['cpu_us_per_action']:.1f} us CPU/action"
        print(f"  {name}/{variant} (n={size:,}): {brief}  [{took:.1f} s]", file=sys.stderr, flush=True)
    return outcome


# -- whole-process workloads ------------------------------------------------------------------------


def time_process(argv: list[str], runs: int, settings: Settings) -> dict[str, Any]:
    """CPU (user + sys, from os.wait4) and wall time of ``python ARGV``, averaged over ``runs``.

    One extra first run is discarded: it writes .pyc files and warms the page cache. No peak RSS:
    on Linux a child's ru_maxrss starts at the RSS of the parent that spawned it (this runner).
    """
    cpus: list[float] = []
    walls: list[float] = []
    for i in range(runs + 1):
        with tempfile.TemporaryFile() as err:
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, *argv],
                env=settings.env,
                cwd=settings.workdir,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
            if proc.returncode != 0:
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
                return {"error": f"exit status {proc.returncode}: " + " | ".join(tail)}
        if i == 0:
            continue
        cpus.append(usage.ru_utime + usage.ru_stime)
        walls.append(wall)
    cpu_ms = sum(cpus) / len(cpus) * 1000
    return {
        "argv": argv,
        "runs": runs,
        "cpu_ms": cpu_ms,
        "cpu_s": cpu_ms / 1000,
        "cpu_ms_min": min(cpus) * 1000,
        "wall_ms": sum(walls) / len(walls) * 1000,
        "wall_s": sum(walls) / len(walls),
        "cpu_s_samples": cpus,
        "wall_s_samples": walls,
    }


def measure_whole_process(
    name: str, spec: WholeProcess, settings: Settings, reference: dict[tuple[str, ...], dict[str, Any]]
) -> Outcome:
    outcome = Outcome(name, spec)
    runs = spec.quick_runs if settings.quick else spec.runs
    if spec.baseline_argv is not None:
        key = spec.baseline_argv
        if key not in reference:  # the bare interpreter is shared by every whole-process row
            reference[key] = time_process(list(key), runs, settings)
        outcome.results["baseline"] = reference[key]
    argv = [a.replace("{benchmarks}", str(HERE)) for a in spec.argv]
    outcome.results["flyte"] = r = time_process(argv, runs, settings)
    brief = r["error"] if "error" in r else f"{r['cpu_ms']:.1f} ms CPU"
    print(f"  {name} ({runs} runs): {brief}", file=sys.stderr, flush=True)
    return outcome


# -- verdicts and tables ----------------------------------------------------------------------------


def checked_targets(spec: Workload, quick: bool) -> list[Target]:
    return [t for t in spec.targets if not (quick and t.sized)]


def status(outcome: Outcome, quick: bool) -> str:
    if outcome.errors:
        return "ERROR"
    if not outcome.spec.targets:
        return "-"
    targets = checked_targets(outcome.spec, quick)
    if not targets:
        return "n/a (quick)"
    result = outcome.results["flyte"]
    missed = [t for t in targets if not t.met_by(result[t.metric])]
    return "misses" if missed else "meets"


def fmt_metric(result: dict[str, Any], metric: str) -> str:
    unit, number = METRICS[metric]
    return f"{number.format(result[metric])} {unit}"


def cell(outcome: Outcome, variant: str) -> str:
    result = outcome.results.get(variant)
    if result is None:
        return "-"
    if "error" in result:
        return "error"
    spec = outcome.spec
    metrics = [t.metric for t in spec.targets]
    if not metrics:
        metrics = ["cpu_us_per_action", "wall_s"] if isinstance(spec, InProcess) else ["cpu_ms"]
    text = ", ".join(fmt_metric(result, m) for m in dict.fromkeys(metrics))
    if isinstance(spec, WholeProcess) and variant == "baseline":
        text += f" ({spec.baseline_label})"
    return text


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    right = right or set()
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def summary_table(outcomes: list[Outcome], quick: bool) -> str:
    rows = []
    for o in outcomes:
        size = ""
        if isinstance(o.spec, InProcess):
            size = f" (n={o.spec.quick_size if quick else o.spec.size:,})"
        target = ", ".join(t.describe() for t in o.spec.targets) or "-"
        rows.append([o.name + size, cell(o, "flyte"), cell(o, "baseline"), target, status(o, quick)])
    return table(["workload", "flyte", "asyncio baseline", "target", "status"], rows)


def detail_table(outcomes: list[Outcome]) -> str:
    rows = []
    for o in outcomes:
        for variant, r in o.results.items():
            if "error" in r:
                rows.append([o.name, variant, "", "", "", "", "", "", r["error"][:60]])
            elif isinstance(o.spec, InProcess):
                rows.append(
                    [
                        o.name,
                        variant,
                        f"{r['size']:,}",
                        f"{r['actions']:,}",
                        f"{r['wall_s']:.4f}",
                        f"{r['cpu_s']:.4f}",
                        f"{r['cpu_us_per_action']:.1f}",
                        f"{r['peak_rss_mb']:.1f}",
                        f"imports {r['import_s'] * 1000:.0f} ms, {r['import_rss_mb']:.1f} MB RSS",
                    ]
                )
            else:
                rows.append(
                    [
                        o.name,
                        "flyte" if variant == "flyte" else o.spec.baseline_label,
                        f"{r['runs']} runs",
                        "",
                        f"{r['wall_s']:.4f}",
                        f"{r['cpu_s']:.4f}",
                        "",
                        "",
                        f"mean of {r['runs']}; CPU min {r['cpu_ms_min']:.1f} ms",
                    ]
                )
    headers = ["workload", "variant", "size", "actions", "wall s", "CPU s", "us/action", "peak MB", "notes"]
    return table(headers, rows, right={2, 3, 4, 5, 6, 7})


def metadata(quick: bool, repeat: int, outcomes: list[Outcome]) -> dict[str, Any]:
    spec = importlib.util.find_spec("flyte")
    engines = {r.get("type_engine") for o in outcomes for r in o.results.values() if r.get("type_engine")}
    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "flyte": str(Path(spec.origin).parent) if spec and spec.origin else None,
        "type_engine": sorted(engines),
        "quick": quick,
        "repeat": repeat,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


# -- main ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run the flyte-engine benchmarks.", formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and few runs: a smoke test")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(WORKLOADS), help="run only these")
    parser.add_argument("--json", metavar="PATH", help="also write all results to PATH as JSON")
    parser.add_argument(
        "--repeat", type=int, help="timed runs per in-process workload, best kept (default 3; 1 with --quick)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    parser.add_argument(
        "--profile", metavar="NAME", help="print a cProfile (by tottime) of one flyte run of NAME"
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, spec in WORKLOADS.items():
            print(f"{name:18} {spec.description}")
        return 0
    repeat = args.repeat or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="flyte-bench-") as workdir:
        settings = Settings(
            quick=args.quick,
            repeat=repeat,
            env=child_env(workdir),
            workdir=workdir,
            timeout=120.0 if args.quick else 900.0,
        )
        prime(settings)
        if args.profile:
            spec = WORKLOADS.get(args.profile)
            if not isinstance(spec, InProcess):
                print(f"--profile takes an in-process workload, not {args.profile!r}", file=sys.stderr)
                return 1
            run_child(
                args.profile, "flyte", spec.quick_size if args.quick else spec.size, settings, profile=True
            )
            return 0
        names = args.only or list(WORKLOADS)
        mode = "quick" if args.quick else "full"
        print(f"flyte-engine benchmarks ({mode}, best of {repeat} timed runs)", file=sys.stderr, flush=True)
        outcomes: list[Outcome] = []
        reference: dict[tuple[str, ...], dict[str, Any]] = {}
        for name in names:
            spec = WORKLOADS[name]
            if isinstance(spec, InProcess):
                outcomes.append(measure_in_process(name, spec, settings))
            else:
                outcomes.append(measure_whole_process(name, spec, settings, reference))

    print()
    print(summary_table(outcomes, args.quick))
    print()
    print(detail_table(outcomes))
    for o in outcomes:
        for variant, r in o.results.items():
            if "stderr" in r:
                print(f"\n--- {o.name}/{variant} stderr ---\n{r['stderr']}", file=sys.stderr)

    if args.json:
        doc = {
            "meta": metadata(args.quick, repeat, outcomes),
            "results": {
                o.name: {
                    "description": o.spec.description,
                    "kind": o.spec.kind,
                    "status": status(o, args.quick),
                    "targets": [
                        {"metric": t.metric, "limit": t.limit, "sized": t.sized} for t in o.spec.targets
                    ],
                    **o.results,
                }
                for o in outcomes
            },
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    if any(o.errors for o in outcomes):
        return 1
    if args.strict and any(status(o, args.quick) == "misses" for o in outcomes):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
