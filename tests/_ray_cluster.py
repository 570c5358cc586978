"""A real two-node Ray cluster on loopback, for tests/ray and the conformance suite's ``ray`` backend.

The head listens on 127.0.0.2 and the second node announces 127.0.0.3 (Ray rewrites 127.0.0.1 and
localhost to the host's outward address, which these tests must never use). Node 2 alone has a
GPU (``--num-gpus=1``, standing in for one), a ``T4`` accelerator type and a custom ``fake_gpu``
resource. Each node is one ``ray start --block`` process in its own process group, stopped by
signalling that group, never with ``ray stop`` (which stops every Ray cluster on the machine).

``tests/`` is on ``sys.path`` (its conftest is the rootdir's): ``from _ray_cluster import ...``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flyte

RAY_MISSING = importlib.util.find_spec("ray") is None
RAY_MISSING_REASON = "Ray is not installed: pip install 'flyte-engine[ray]'"

SRC = Path(flyte.__file__).resolve().parent.parent
HEAD_IP, NODE2_IP = "127.0.0.2", "127.0.0.3"
RAY = str(Path(sys.executable).with_name("ray"))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


@dataclass
class RayCluster:
    """A running cluster: its head's address, its temp dir and one process (group) per node."""

    address: str
    temp_dir: Path
    nodes: list[subprocess.Popen[bytes]]

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index``'s whole process group (its raylet, object store and Ray workers)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.nodes[index].pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.nodes[index].wait(10)

    def probe(self, code: str, timeout: float = 120.0) -> Any:
        """Run ``code`` as a Ray driver joined to this cluster (``ray`` is initialized, on the
        head's loopback address); return the JSON its last printed line holds."""
        prelude = (
            "import json, sys, ray\n"
            "ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], log_to_driver=False,"
            " configure_logging=False)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", prelude + textwrap.dedent(code), self.address, HEAD_IP],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])


LOOPBACK_PROBE = """
import ray._private.state as state
me = ray.util.get_node_ip_address()
nodes = [n["NodeManagerAddress"] for n in ray.nodes()]
drivers = [j.get("DriverIPAddress") for j in state.jobs()]
print(json.dumps({"me": me, "nodes": nodes, "drivers": drivers}))
"""
"""Every address Ray reports: this driver's, every node's (dead ones too) and every job's driver."""


def assert_all_on_loopback(cluster: RayCluster, min_drivers: int = 2) -> dict[str, Any]:
    """Assert that every node and driver address the cluster reports is in 127.0.0.0/8."""
    seen = cluster.probe(LOOPBACK_PROBE)
    assert HEAD_IP in seen["nodes"] and NODE2_IP in seen["nodes"], seen
    assert len(seen["drivers"]) >= min_drivers, seen  # this probe and the devbox's dispatcher at least
    for address in [seen["me"], *seen["nodes"], *seen["drivers"]]:
        assert address and loopback(address), f"Ray reports a non-loopback address: {address}"
    return seen


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:  # a node's processes all end on SIGTERM; what is left after a few seconds is killed
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def _kill_leftovers(temp_dir: Path) -> None:
    """Ray processes of this cluster that left their node's group (found by its temp dir)."""
    marker = str(temp_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "cmdline").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def _start_node(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: stopped by signalling the group
        )


def _wait_for_nodes(address: str, count: int, procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    probe = textwrap.dedent(
        """
        import json, sys, ray
        ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], log_to_driver=False,
                 configure_logging=False)
        print(json.dumps([n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]]))
        """
    )
    deadline = time.monotonic() + 180
    for proc, log in zip(procs, logs, strict=True):  # `ray start` says so once its node is up
        while b"Ray runtime started" not in log.read_bytes():
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, f"the Ray node did not start: {log.read_text()[-3000:]}"
            time.sleep(0.5)
    error = ""
    while time.monotonic() < deadline:
        try:
            done = subprocess.run(
                [sys.executable, "-c", probe, address, HEAD_IP], capture_output=True, text=True, timeout=90
            )
        except subprocess.TimeoutExpired as e:
            error = str(e)
            continue
        if done.returncode == 0 and len(json.loads(done.stdout.strip().splitlines()[-1])) >= count:
            return
        error = done.stderr[-2000:]
        time.sleep(1.0)
    raise AssertionError(f"the Ray cluster did not come up with {count} nodes: {error}")


@contextlib.contextmanager
def two_node_cluster(
    cpus_per_node: int = 1, head_resources: dict[str, float] | None = None
) -> Iterator[RayCluster]:
    """Start the two loopback nodes (``cpus_per_node`` CPUs each, and ``head_resources``, custom
    resources of the head node alone); stop both when the block ends."""
    temp_dir = Path(tempfile.mkdtemp(prefix="fr", dir="/tmp"))  # short: unix socket paths are limited
    port = free_port(HEAD_IP)
    address = f"{HEAD_IP}:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    env.pop("RAY_ADDRESS", None)
    common = [f"--num-cpus={cpus_per_node}", "--object-store-memory=100000000", f"--temp-dir={temp_dir}"]
    logs = [temp_dir / "head.log", temp_dir / "node2.log"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head = ["--head", f"--node-ip-address={HEAD_IP}", f"--port={port}", "--include-dashboard=false"]
        if head_resources:
            head.append(f"--resources={json.dumps(head_resources)}")
        nodes.append(
            _start_node([*head, f"--dashboard-agent-listen-port={free_port()}", *common], logs[0], env)
        )
        _wait_for_nodes(address, 1, nodes, logs[:1])
        node2 = [
            f"--address={address}",
            f"--node-ip-address={NODE2_IP}",
            f"--dashboard-agent-listen-port={free_port()}",
            "--num-gpus=1",
            '--resources={"fake_gpu": 1, "accelerator_type:T4": 1}',
        ]
        nodes.append(_start_node([*node2, *common], logs[1], env))
        _wait_for_nodes(address, 2, nodes, logs)
        yield RayCluster(address, temp_dir, nodes)
    finally:
        for proc in reversed(nodes):
            _stop_group(proc)
        _kill_leftovers(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


RAY_DEVBOX = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, executor='ray', "
    "ray_address=sys.argv[2], lease_seconds=float(sys.argv[3])))"
)
"""A devbox with ``--executor ray --ray-address ADDR`` (argv: home, address, lease seconds)."""


def ray_devbox_args(home: Path, address: str, lease_seconds: float = 30.0) -> list[str]:
    """The command of a Ray devbox on ``home`` joined to ``address``, for ``_services.devbox_process``."""
    return [sys.executable, "-c", RAY_DEVBOX, str(home), address, str(lease_seconds)]


def ray_devbox_env() -> dict[str, str]:
    """The devbox's environment: this checkout's ``src`` first on ``PYTHONPATH``."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
