"""A whole Ray node dying mid-attempt (its raylet's process group SIGKILLed): the attempt is
retried on the remaining node and its result recorded once; so is each attempt of a shared Ray
task on that node that was not handed back yet. Each test has a cluster of its own, since it
kills one of its nodes."""

from __future__ import annotations

import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install 'flyte-engine[ray]'")

import flyte  # noqa: E402
from _ray_cluster import HEAD_IP, NODE2_IP, RayCluster, assert_all_on_loopback, two_node_cluster
from flyte._internal.loader import load_module
from flyte._internal.run_config import RunConfig, new_run_name
from flyte.models import ActionPhase
from flyte.remote._remote_run import submit_run

from .conftest import ray_devbox

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.timeout(600)]

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import os
    import sys
    from pathlib import Path

    import flyte

    # the parents run on the head node, which the tests do not kill: it alone has a "TPU" here
    orchestrator = flyte.TaskEnvironment(name="orch", resources=flyte.Resources(cpu=0, gpu=flyte.TPU("V5P")))
    env = flyte.TaskEnvironment(name="work", resources=flyte.Resources(cpu=1))


    @env.task(retries=1)
    async def pinned_by_room(marks: str, i: int) -> str:
        # One CPU a node and two of these at once: one runs on each node. The one on node 2
        # waits there (its first attempt) until the test kills that node.
        import ray

        ip = ray.util.get_node_ip_address()
        attempt = flyte.ctx().attempt_number
        (Path(marks) / f"{i}-{attempt}").write_text(f"{ip} {os.getpid()}")
        for _ in range(600):  # both siblings placed before either ends (or node 1 would take both)
            if len(list(Path(marks).iterdir())) >= 2:
                break
            await asyncio.sleep(0.1)
        if ip == "127.0.0.3" and attempt == 0:
            await asyncio.sleep(300)
        return f"{i} on {ip} in attempt {attempt}"


    @orchestrator.task
    async def two_at_once(marks: str) -> list[str]:
        return list(await asyncio.gather(pinned_by_room(marks, 0), pinned_by_room(marks, 1)))


    def ray_task_of(me: str) -> list[str]:
        # the actions of the Ray task this attempt shares with others (see test_ray_executor.py)
        for frame in sys._current_frames().values():
            while frame is not None:
                if frame.f_code.co_name == "run_attempts":
                    actions = [a["action"] for a in frame.f_locals["assignments"]]
                    if me in actions:
                        return actions
                frame = frame.f_back
        return []


    @env.task(retries=3)
    async def quick(i: int, marks: str = "") -> int:
        # Quick; in a fan-out given `marks`, each attempt leaves a mark (its node, the actions of
        # its Ray task), and the first attempt of each shared Ray task waits until one has started
        # on each node: then the one on node 2 blocks there, its Ray task's others behind it.
        if not marks:
            return i * i
        import ray

        ip = ray.util.get_node_ip_address()
        ctx = flyte.ctx()
        me, attempt = ctx.action.name, ctx.attempt_number
        shared = ray_task_of(me)
        Path(marks, f"{me}-{attempt}").write_text(f"{i} {ip} {','.join(shared)}")
        if attempt == 0 and shared and shared[0] == me:
            Path(marks, f"first-{ip}").write_text(",".join(shared))
            for _ in range(600):
                if len(list(Path(marks).glob("first-*"))) >= 2:
                    break
                await asyncio.sleep(0.1)
            if ip == "127.0.0.3":
                await asyncio.sleep(300)
        return i * i


    @orchestrator.task
    async def fan_out(n: int, marks: str = "") -> list[int]:
        return list(await asyncio.gather(*(quick(i, marks) for i in range(n))))
    """
)


@pytest.fixture
def cluster() -> Iterator[RayCluster]:
    with two_node_cluster(cpus_per_node=1, head_resources={"TPU": 1}) as c:
        yield c


@pytest.fixture
def wf(cluster: RayCluster, tmp_path: Path) -> Iterator[ModuleType]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "nodewf.py").write_text(WORKFLOW)
    with ray_devbox(tmp_path / "devbox", cluster.address) as box:
        flyte.init(endpoint=box.endpoint, api_key=box.api_key, root_dir=root)
        yield load_module(str(root / "nodewf.py"), root)
    sys.modules.pop("nodewf", None)


def test_a_dead_node_s_attempt_is_retried_on_the_other_node(
    cluster: RayCluster, wf: ModuleType, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    run = submit_run(wf.two_at_once, (), {"marks": str(marks)}, RunConfig(name=new_run_name()))
    deadline = time.monotonic() + 180
    while len(list(marks.iterdir())) < 2:
        assert time.monotonic() < deadline, "the two attempts were not both started"
        time.sleep(0.2)
    placed = {p.name: p.read_text().split()[0] for p in marks.iterdir()}
    assert sorted(placed.values()) == [HEAD_IP, NODE2_IP], placed
    assert_all_on_loopback(cluster)
    time.sleep(0.5)
    cluster.kill_node(1)  # node 2's `ray start --block` group: its raylet and its Ray workers

    (results,) = run.outputs()
    on_node2 = next(name.split("-")[0] for name, ip in placed.items() if ip == NODE2_IP)
    # Until Ray has noticed the node is gone, a retry may be placed on it and be lost too: the
    # retry that succeeds is attempt 1 or a later one, and always on the head node.
    retried = [r for r in results if r.startswith(f"{on_node2} on {HEAD_IP} in attempt ")]
    assert len(retried) == 1, results
    attempt = int(retried[0].rsplit(" ", 1)[1])
    assert attempt >= 1
    assert run.phase is ActionPhase.SUCCEEDED
    children = [a for a in run.actions() if a.task_name.endswith("pinned_by_room")]
    assert len(children) == 2 and all(a.phase is ActionPhase.SUCCEEDED for a in children)
    assert sorted(a.attempts for a in children) == [1, attempt + 1]  # attempts lost with the node, one retry
    assert (marks / f"{on_node2}-{attempt}").read_text().split()[0] == HEAD_IP


def test_a_dead_node_s_shared_ray_task_retries_each_attempt_not_handed_back(
    cluster: RayCluster, wf: ModuleType, tmp_path: Path
) -> None:
    n = 12  # six to a Ray task, one Ray task on each node, once the task is known to be quick
    assert submit_run(wf.fan_out, (), {"n": n}, RunConfig(name=new_run_name())).outputs() == (
        [i * i for i in range(n)],
    )
    marks = tmp_path / "marks"
    marks.mkdir()
    run = submit_run(wf.fan_out, (), {"n": n, "marks": str(marks)}, RunConfig(name=new_run_name()))
    deadline = time.monotonic() + 180
    while len(list(marks.glob("first-*"))) < 2:
        seen = sorted(p.read_text() for p in marks.iterdir())
        assert not run.done(), f"the attempts did not share a Ray task on each node: {seen}"
        assert time.monotonic() < deadline, f"no shared Ray task started on each node: {seen}"
        time.sleep(0.2)
    on_node2 = (marks / f"first-{NODE2_IP}").read_text().split(",")
    assert len(on_node2) >= 2
    time.sleep(0.5)
    cluster.kill_node(1)

    assert run.outputs() == ([i * i for i in range(n)],)
    assert run.phase is ActionPhase.SUCCEEDED
    children = {a.name: a for a in run.actions() if a.task_name == "work.quick"}
    assert len(children) == n and all(a.phase is ActionPhase.SUCCEEDED for a in children.values())
    # node 2's Ray task had handed nothing back: each of its attempts was lost and retried (more
    # than once when a retry went to the node before Ray knew it was dead), on the head node
    retried = {name for name, a in children.items() if a.attempts > 1}
    assert retried == set(on_node2), ({name: a.attempts for name, a in children.items()}, on_node2)
    for name in on_node2:
        tried = sorted(p.name for p in marks.glob(f"{name}-*"))
        assert (f"{name}-0" in tried) == (name == on_node2[0]), tried  # those behind it never ran
        _, ip, _ = (marks / f"{name}-{children[name].attempts - 1}").read_text().split(" ")
        assert ip == HEAD_IP, (name, ip)
    for name in children.keys() - set(on_node2):
        assert [p.name for p in marks.glob(f"{name}-*")] == [f"{name}-0"]
