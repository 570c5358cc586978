"""A real two-node Ray cluster on loopback, and a devbox that runs its attempts on it.

The head listens on 127.0.0.2 and the second node announces 127.0.0.3 (Ray rewrites 127.0.0.1 and
localhost to the host's outward address, which these tests must never use). Node 2 alone has a
GPU (``--num-gpus=1``, standing in for one), a ``T4`` accelerator type and a custom ``fake_gpu``
resource. Each node is one ``ray start --block`` process in its own process group, stopped by
signalling that group, never with ``ray stop`` (which stops every Ray cluster on the machine).
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

import pytest

import flyte

RAY_MISSING = importlib.util.find_spec("ray") is None

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
    address: str
    temp_dir: Path
    nodes: list[subprocess.Popen[bytes]]


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
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


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """Two Ray nodes (one CPU each) on 127.0.0.2 and 127.0.0.3, for the whole session."""
    if RAY_MISSING:
        pytest.skip("Ray is not installed: pip install 'flyte-engine[ray]'")
    temp_dir = Path(tempfile.mkdtemp(prefix="fr", dir="/tmp"))  # short: unix socket paths are limited
    port = free_port(HEAD_IP)
    address = f"{HEAD_IP}:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    env.pop("RAY_ADDRESS", None)
    common = ["--num-cpus=1", "--object-store-memory=100000000", f"--temp-dir={temp_dir}"]
    logs = [temp_dir / "head.log", temp_dir / "node2.log"]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(
            _start_node(
                [
                    "--head",
                    f"--node-ip-address={HEAD_IP}",
                    f"--port={port}",
                    "--include-dashboard=false",
                    f"--dashboard-agent-listen-port={free_port()}",
                    *common,
                ],
                logs[0],
                env,
            )
        )
        _wait_for_nodes(address, 1, nodes, logs[:1])
        nodes.append(
            _start_node(
                [
                    f"--address={address}",
                    f"--node-ip-address={NODE2_IP}",
                    f"--dashboard-agent-listen-port={free_port()}",
                    "--num-gpus=1",
                    '--resources={"fake_gpu": 1, "accelerator_type:T4": 1}',
                    *common,
                ],
                logs[1],
                env,
            )
        )
        _wait_for_nodes(address, 2, nodes, logs)
        yield RayCluster(address, temp_dir, nodes)
    finally:
        for proc in reversed(nodes):
            _stop_group(proc)
        _kill_leftovers(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


@dataclass
class Devbox:
    endpoint: str
    api_key: str
    home: Path
    log: Path


LAUNCH = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, executor='ray', "
    "ray_address=sys.argv[2], lease_seconds=float(sys.argv[3])))"
)


@contextlib.contextmanager
def ray_devbox(home: Path, address: str, lease_seconds: float = 30.0) -> Iterator[Devbox]:
    """A devbox with ``--executor ray --ray-address address`` in a subprocess, until the block ends."""
    log_path = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "wb")  # noqa: SIM115 (the server writes it until stopped)
    env = dict(os.environ, FLYTE_HOME=str(home))
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(home), address, str(lease_seconds)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import httpx

    try:
        deadline = time.monotonic() + 60
        info: dict[str, str] = {}
        while not info:
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the devbox did not start in 60s"
            try:
                info = json.loads((home / "devbox.json").read_text())
                httpx.get(f"{info['endpoint']}/healthz", timeout=2).raise_for_status()
            except (OSError, ValueError, KeyError, httpx.HTTPError):
                info = {}
                time.sleep(0.2)
        yield Devbox(info["endpoint"], info["api_key"], home, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
