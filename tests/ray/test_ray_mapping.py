"""Without a cluster: how Resources become Ray options, which requests no node can hold, and the
one-line error when the Ray executor is chosen without Ray installed."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import flyte
from flyte._internal.controllers._wire import _resources
from flyte.server.executors.ray_resources import demand, ray_options, slots, unfit
from flyte.server.settings import ServerSettings

NODES = [
    {"CPU": 1.0, "memory": 8 * 2**30},
    {"CPU": 1.0, "GPU": 1.0, "memory": 8 * 2**30, "accelerator_type:T4": 1.0, "fake_gpu": 1.0},
]


class _Task:
    def __init__(self, resources: flyte.Resources | None):
        self.resources = resources


def options_of(resources: flyte.Resources | None, default_cpus: float = 1.0) -> dict[str, Any]:
    return ray_options(_resources(_Task(resources)), default_cpus)  # type: ignore[arg-type]


def test_resources_map_to_ray_options() -> None:
    assert options_of(None) == {"num_cpus": 1.0}
    assert options_of(None, default_cpus=0.5) == {"num_cpus": 0.5}
    assert options_of(flyte.Resources(cpu="500m", memory="2Gi")) == {"num_cpus": 0.5, "memory": 2 * 2**30}
    assert options_of(flyte.Resources(cpu=0, gpu="T4:1")) == {
        "num_cpus": 0.0,
        "num_gpus": 1.0,
        "accelerator_type": "T4",
    }
    assert options_of(flyte.Resources(gpu=2))["num_gpus"] == 2.0
    assert "accelerator_type" not in options_of(flyte.Resources(gpu=2))
    assert options_of(flyte.Resources(gpu=flyte.TPU("V5P")))["resources"] == {"TPU": 1.0}
    assert options_of(flyte.Resources(gpu=flyte.Neuron("Inf2")))["resources"] == {"neuron_cores": 1.0}
    assert options_of(flyte.Resources(gpu=flyte.HABANA_GAUDI("Gaudi1")))["resources"] == {"HPU": 1.0}
    amd = options_of(flyte.Resources(gpu=flyte.AMD_GPU("MI300X")))
    assert (amd["num_gpus"], amd["accelerator_type"]) == (1.0, "MI300X")


def test_demand_names_ray_resources() -> None:
    assert demand(options_of(flyte.Resources(cpu=0, gpu="T4:1"))) == {
        "GPU": 1.0,
        "accelerator_type:T4": 0.001,
    }
    assert demand({"num_cpus": 2.0, "memory": 10, "resources": {"fake_gpu": 1}}) == {
        "CPU": 2.0,
        "memory": 10.0,
        "fake_gpu": 1.0,
    }


def test_what_no_node_can_hold_is_named() -> None:
    assert unfit(demand(options_of(flyte.Resources(cpu=0, gpu="T4:1"))), NODES) is None
    assert unfit({"CPU": 1.0, "GPU": 1.0}, NODES) is None
    assert unfit({"CPU": 8.0}, NODES) == "no node of the Ray cluster has CPU 8 (the most a node has: CPU 1)"
    assert "accelerator 'A100' (no node has one)" in (unfit({"accelerator_type:A100": 0.001}, NODES) or "")
    assert "memory 64 GiB (the most a node has: memory 8 GiB)" in (
        unfit({"memory": 64.0 * 2**30}, NODES) or ""
    )
    apart = unfit({"CPU": 1.0, "GPU": 1.0, "fake_gpu": 1.0, "memory": 1.0}, [NODES[0], {"GPU": 1.0}])
    assert apart is not None and "no node of the Ray cluster has" in apart  # fake_gpu is on no node
    split = unfit({"CPU": 1.0, "GPU": 1.0}, [{"CPU": 1.0}, {"GPU": 1.0}])
    assert split is not None and "no single node" in split
    assert unfit({"CPU": 1.0}, []) == "the Ray cluster has no live node"


def test_slots_count_the_tasks_the_nodes_run_at_once() -> None:
    nodes = [{"CPU": 4.0, "memory": 8.0 * 2**30}, {"CPU": 1.0, "GPU": 1.0}]
    assert slots(demand(options_of(flyte.Resources(cpu=1))), nodes) == 5
    assert slots(demand(options_of(flyte.Resources(cpu=2, memory="3Gi"))), nodes) == 2
    assert slots(demand(options_of(flyte.Resources(cpu=0, gpu=1))), nodes) == 1
    assert slots(demand(options_of(flyte.Resources(cpu=0))), nodes) is None  # asks for nothing


def test_an_unknown_executor_is_refused() -> None:
    with pytest.raises(ValueError, match="executor: 'kubernetes' is not known; use one of processes, ray"):
        ServerSettings(executor="kubernetes")


def test_choosing_ray_without_ray_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    blocked = (
        "import sys; sys.modules['ray'] = None; from flyte.cli.main import main; "
        "sys.argv = ['flyte', 'start', 'devbox', '--port', '0', '--executor', 'ray']; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FLYTE_HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: the Ray executor needs Ray: pip install 'flyte-engine[ray]'"
    assert not (tmp_path / "devbox.json").exists()  # nothing was started


def test_import_flyte_does_not_import_ray() -> None:
    code = "import sys, flyte, flyte.server.settings; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_reuse_policy_travels_with_the_task_reference() -> None:
    from flyte._internal.controllers._wire import _reusable

    env = flyte.TaskEnvironment(
        name="warm", reusable=flyte.ReusePolicy(replicas=(1, 3), concurrency=4, idle_ttl=60, scope="run")
    )

    @env.task
    async def t() -> int:
        return 1

    assert _reusable(t) == {
        "env": "warm",
        "replicas": [1, 3],
        "concurrency": 4,
        "idle_ttl": 60.0,
        "scaledown_ttl": 30.0,
        "scope": "run",
    }


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed")
def test_a_ray_address_where_nothing_answers_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        closed = s.getsockname()[1]  # nothing listens once the socket is closed
    done = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", "0", "--executor", "ray",
         "--ray-address", f"127.0.0.2:{closed}"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "FLYTE_HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"Error: no Ray cluster answers at 127.0.0.2:{closed}"), done.stderr
    assert not (tmp_path / "devbox.json").exists()
