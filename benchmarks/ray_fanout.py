"""A fan-out through the Ray executor next to the same trivial tasks submitted to Ray directly.

    python benchmarks/ray_fanout.py                     # 1,000 children on a private 2-node cluster
    python benchmarks/ray_fanout.py --n 200 --repeat 1  # smaller
    python benchmarks/ray_fanout.py --ray-address 127.0.0.2:6379   # an existing cluster
    python benchmarks/ray_fanout.py --json out.json --no-processes

Both sides run in the same invocation, on the same cluster:

- ``flyte``: a devbox with ``executor="ray"`` runs ``fanout(n)``, an async task (``cpu=0``) that
  gathers ``n`` trivial child tasks (``noop(i) -> i``, no resources: one CPU each, Ray's default);
  measured from ``flyte.run`` to its outputs, i.e. submission of every child over HTTP, dispatch to
  Ray, the attempts, their reports and the parent's wake-up;
- ``ray``: ``n`` trivial ``@ray.remote`` tasks (also one CPU each) submitted from a driver and
  gathered with ``ray.get``.

A third row, for reference, runs the same fan-out on a devbox with the default process executor
(two worker processes): what the control plane costs per child without Ray.

Target: ``flyte`` within 2x of ``ray``'s wall time (best of ``--repeat``, after one warm-up each).
Without ``--ray-address`` a private cluster is started on 127.0.0.2 and 127.0.0.3 (one CPU each, as in
``tests/ray``) and stopped at the end by its process groups (never ``ray stop``). Ray must be
installed (``pip install 'flyte-engine[ray]'``). Exit status: 0 when both ran (target met or not),
1 when one failed, 2 with ``--strict`` and a missed target.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TARGET_RATIO = 2.0

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import flyte

    parent = flyte.TaskEnvironment(name="bench_parent", resources=flyte.Resources(cpu=0))
    child = flyte.TaskEnvironment(name="bench_child")


    @child.task
    async def noop(i: int) -> int:
        return i


    @parent.task
    async def fanout(n: int) -> int:
        return sum(await asyncio.gather(*(noop(i) for i in range(n))))
    """
)

RAW_RAY = textwrap.dedent(
    """
    import json, sys, time
    import ray

    ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], log_to_driver=False, configure_logging=False)


    @ray.remote
    def noop(i):
        return i


    n, repeat = int(sys.argv[3]), int(sys.argv[4])
    ray.get([noop.remote(i) for i in range(min(n, 50))])  # warm-up: workers started, function exported
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        total = sum(ray.get([noop.remote(i) for i in range(n)]))
        times.append(time.perf_counter() - start)
        assert total == n * (n - 1) // 2, total
    print(json.dumps(times))
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(SRC), env.get("PYTHONPATH", "")] if p)
    env.pop("RAY_ADDRESS", None)
    return env


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _wait_started(log: Path, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while b"Ray runtime started" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"a Ray node did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)


@contextlib.contextmanager
def private_cluster() -> Iterator[str]:
    """Two one-CPU Ray nodes on 127.0.0.2 and 127.0.0.3; yields the head's address."""
    temp = Path(tempfile.mkdtemp(prefix="frb", dir="/tmp"))
    port = _free_port("127.0.0.2")
    address = f"127.0.0.2:{port}"
    ray_cli = str(Path(sys.executable).with_name("ray"))
    common = ["--block", "--disable-usage-stats", "--num-cpus=1", "--object-store-memory=100000000"]
    common += [f"--temp-dir={temp}", f"--dashboard-agent-listen-port={_free_port()}"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        for i, args in enumerate(
            [
                ["--head", "--node-ip-address=127.0.0.2", f"--port={port}", "--include-dashboard=false"],
                [f"--address={address}", "--node-ip-address=127.0.0.3"],
            ]
        ):
            log = temp / f"node{i}.log"
            with open(log, "wb") as out:
                nodes.append(
                    subprocess.Popen(
                        [ray_cli, "start", *common, *args], stdout=out, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, env=_env(), start_new_session=True,
                    )
                )  # fmt: skip
            _wait_started(log, nodes[-1])
        time.sleep(2.0)  # let node 2 register with the head
        yield address
    finally:
        for proc in reversed(nodes):
            _stop(proc)
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def devbox(home: Path, address: str | None) -> Iterator[tuple[str, str]]:
    """A devbox with the Ray executor (the process executor, 2 workers, when ``address`` is None);
    yields (endpoint, api key)."""
    launch = (
        "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
        "from flyte.server.devbox import run_devbox; a = sys.argv[2] or None; "
        "run_devbox(ServerSettings(home=Path(sys.argv[1]), port=0, workers=2, "
        "executor='ray' if a else 'processes', ray_address=a))"
    )
    home.mkdir(parents=True, exist_ok=True)
    env = dict(_env(), FLYTE_HOME=str(home))
    with open(home / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", launch, str(home), address or ""], env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the devbox did not start:\n{(home / 'server.log').read_text()[-2000:]}")
            try:
                info = json.loads((home / "devbox.json").read_text())
                httpx.get(f"{info['endpoint']}/healthz", timeout=2).raise_for_status()
                break
            except (OSError, ValueError, KeyError, httpx.HTTPError):
                time.sleep(0.2)
        yield info["endpoint"], info["api_key"]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def measure_flyte(address: str | None, n: int, repeat: int, workdir: Path) -> list[float]:
    """Wall seconds of ``fanout(n)`` through a devbox (Ray executor at ``address``; the process
    executor when None), per timed run."""
    sys.path.insert(0, str(SRC))
    import flyte
    from flyte._internal.loader import load_module

    workdir = workdir / ("ray" if address else "processes")
    project = workdir / "project"
    project.mkdir(parents=True)
    (project / "benchwf.py").write_text(WORKFLOW)
    os.environ["FLYTE_HOME"] = str(workdir / "client-home")
    with devbox(workdir / "devbox", address) as (endpoint, key):
        flyte.init(endpoint=endpoint, api_key=key, root_dir=project)
        wf = load_module(str(project / "benchwf.py"), project)
        assert flyte.run(wf.fanout, n=min(n, 50)).outputs() == (sum(range(min(n, 50))),)  # warm-up
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            outputs = flyte.run(wf.fanout, n=n).outputs()
            times.append(time.perf_counter() - start)
            assert outputs == (n * (n - 1) // 2,), outputs
    return times


def measure_ray(address: str, n: int, repeat: int) -> list[float]:
    """Wall seconds of ``n`` direct ``ray.remote`` tasks, per timed run (in a driver process)."""
    head_ip = address.rsplit(":", 1)[0]
    done = subprocess.run(
        [sys.executable, "-c", RAW_RAY, address, head_ip, str(n), str(repeat)],
        env=_env(), capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the raw Ray driver failed:\n{done.stderr[-2000:]}")
    return [float(t) for t in json.loads(done.stdout.strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="children of the fan-out (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each side (best is kept)")
    parser.add_argument("--ray-address", default=None, help="an existing cluster's head (HOST:PORT)")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    parser.add_argument(
        "--no-processes", dest="processes", action="store_false",
        help="skip the reference row: the same fan-out on the default process executor",
    )  # fmt: skip
    parser.add_argument("--strict", action="store_true", help="exit 2 when the target is missed")
    args = parser.parse_args(argv)
    try:
        import ray  # noqa: F401
    except ImportError:
        print("the Ray benchmark needs Ray: pip install 'flyte-engine[ray]'", file=sys.stderr)
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="flyte-ray-bench-"))
    try:
        cluster = contextlib.nullcontext(args.ray_address) if args.ray_address else private_cluster()
        with cluster as address:
            raw = measure_ray(address, args.n, args.repeat)
            ours = measure_flyte(address, args.n, args.repeat, workdir)
        processes = measure_flyte(None, args.n, args.repeat, workdir) if args.processes else []
    except Exception as e:
        print(f"benchmark failed: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    best_raw, best_ours = min(raw), min(ours)
    ratio = best_ours / best_raw
    met = ratio <= TARGET_RATIO
    print(f"\n{args.n}-child fan-out, best of {args.repeat} (wall seconds)")
    print(f"{'variant':<34} {'wall s':>8} {'per task ms':>12} {'x raw Ray':>10}")
    rows = [("ray.remote, submitted directly", best_raw), ("flyte, Ray executor (devbox)", best_ours)]
    if processes:
        rows.append(("flyte, process executor (devbox)", min(processes)))
    for label, best in rows:
        print(f"{label:<34} {best:>8.2f} {1000 * best / args.n:>12.2f} {best / best_raw:>10.2f}")
    print(f"target: flyte <= {TARGET_RATIO:g}x raw Ray -> {'met' if met else 'MISSED'}")
    if args.json:
        numbers = {"n": args.n, "ray": raw, "flyte": ours, "processes": processes, "ratio": ratio}
        Path(args.json).write_text(json.dumps(numbers, indent=2))
    return 0 if met or not args.strict else 2


if __name__ == "__main__":
    raise SystemExit(main())
