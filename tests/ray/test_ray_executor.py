"""The Ray executor on a real two-node Ray cluster (see conftest.py): a devbox started with
``executor="ray"`` runs fan-outs and child calls, places a GPU task on the node that has the
GPU, fails at once what no node can hold, retries an attempt whose Ray worker was killed,
stops aborted Ray tasks, enforces timeouts and hands secrets and env vars to its tasks as
the process executor does, and keeps each attempt of a quick task that shares a Ray task recorded
once when one of them is aborted or their Ray worker dies."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("ray", reason="Ray is not installed: pip install 'flyte-engine[ray]'")

import flyte  # noqa: E402
import flyte.errors
from flyte._internal.loader import load_module
from flyte._internal.run_config import RunConfig, new_run_name
from flyte._internal.secrets import SecretStore
from flyte.models import ActionPhase
from flyte.remote._remote_run import RemoteAction, RemoteRun, submit_run

from .conftest import HEAD_IP, NODE2_IP, Devbox, RayCluster, assert_all_on_loopback, ray_devbox

pytestmark = [pytest.mark.integration, pytest.mark.ray, pytest.mark.timeout(600)]

WORKFLOW = textwrap.dedent(
    """
    import asyncio
    import os
    import sys
    import time
    from pathlib import Path

    import flyte
    import flyte.errors

    # a parent that only waits for its children asks for no CPU, so that on this one-CPU-a-node
    # cluster its children find room (docs/ray.md)
    orchestrator = flyte.TaskEnvironment(name="orch", resources=flyte.Resources(cpu=0))
    env = flyte.TaskEnvironment(name="work")
    gpu = flyte.TaskEnvironment(name="gpu", resources=flyte.Resources(cpu=0, gpu="T4:1"))
    plain_gpu = flyte.TaskEnvironment(name="plain_gpu", resources=flyte.Resources(cpu=0, gpu=1))
    huge = flyte.TaskEnvironment(name="huge", resources=flyte.Resources(cpu=8))
    a100 = flyte.TaskEnvironment(name="a100", resources=flyte.Resources(gpu="A100:1"))
    secret_env = flyte.TaskEnvironment(name="secretive", secrets="api-token")
    with_vars = flyte.TaskEnvironment(name="withvars", env_vars={"FROM_TASK": "task value"})
    reused = flyte.TaskEnvironment(
        name="reused",
        resources=flyte.Resources(cpu=0),  # an actor holds its resources while it is kept warm
        reusable=flyte.ReusePolicy(replicas=2, concurrency=2, idle_ttl=60),
    )


    def node_ip() -> str:
        import ray

        return ray.util.get_node_ip_address()


    @env.task
    async def square(x: int) -> int:
        print(f"squaring {x}")
        return x * x


    @env.task
    def sync_double(x: int) -> int:
        return 2 * x


    @orchestrator.task
    async def inner(n: int) -> int:
        return sum(await asyncio.gather(*(square(i) for i in range(n))))


    @orchestrator.task
    async def main(n: int = 5) -> str:
        squares = await asyncio.gather(*(square(i) for i in range(n)))
        nested = await inner(n)
        doubled = await sync_double.aio(n)
        return f"{sum(squares)}|{nested}|{doubled}|{flyte.ctx().mode}"


    @gpu.task
    async def on_t4() -> str:
        return f"{node_ip()}|{os.environ.get('CUDA_VISIBLE_DEVICES')}"


    @plain_gpu.task
    async def on_any_gpu() -> str:
        return node_ip()


    @orchestrator.task
    async def where() -> str:
        return f"{await on_t4()}|{await on_any_gpu()}"


    @huge.task
    async def too_many_cpus() -> int:
        return 1


    @a100.task
    async def needs_a100() -> int:
        return 1


    @env.task(retries=1)
    async def killed_once(marker: str) -> str:
        attempt = flyte.ctx().attempt_number
        if attempt == 0:
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            await asyncio.sleep(120)  # the test kills this Ray worker meanwhile
        return f"attempt {attempt} on {node_ip()}"


    @env.task(retries=1)
    async def killed_then_slow(marker: str) -> str:
        attempt = flyte.ctx().attempt_number
        with open(f"{marker}-{attempt}", "w") as f:
            f.write(str(os.getpid()))
        # the first attempt waits to be killed; the retry outlives the heartbeat (a long-poll of
        # up to 5 s) that the dispatcher had out for the first attempt when it was lost
        await asyncio.sleep(120 if attempt == 0 else 7)
        return f"attempt {attempt}"


    @env.task(retries=0)
    async def killed_without_retries(marker: str) -> str:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        await asyncio.sleep(120)
        return "never"


    @plain_gpu.task
    def sync_spin(ticks: str) -> str:
        with open(ticks, "a") as f:
            f.write(f"pid {os.getpid()}\\n")
        while True:
            with open(ticks, "a") as f:
                f.write("tick\\n")
            time.sleep(0.2)


    @env.task
    async def async_spin(ticks: str) -> str:
        while True:
            with open(ticks, "a") as f:
                f.write("tick\\n")
            await asyncio.sleep(0.2)


    @orchestrator.task
    async def spinners(sync_ticks: str, async_ticks: str) -> str:
        await asyncio.gather(sync_spin.aio(sync_ticks), async_spin(async_ticks))
        return "never"


    @with_vars.task
    async def reads_env() -> str:
        return f"{os.environ.get('GREETING', 'unset')}|{os.environ.get('FROM_TASK', 'unset')}"


    @secret_env.task
    async def reads_secret() -> str:
        return os.environ["API_TOKEN"]


    @reused.task
    async def in_replica(i: int) -> str:
        await asyncio.sleep(0.2)
        return f"{os.getpid()}/{os.getppid()}:{i * i}"


    @orchestrator.task
    async def many_in_replicas(n: int) -> list[str]:
        return list(await asyncio.gather(*(in_replica(i) for i in range(n))))


    def ray_task_of(me: str) -> list[str]:
        # The actions of the Ray task this attempt runs in, when it shares one: the assignments of
        # the dispatcher's `run_attempts` on the Ray worker's main thread (an attempt runs on a
        # thread of its own, where Ray's runtime context names no task).
        for frame in sys._current_frames().values():
            while frame is not None:
                if frame.f_code.co_name == "run_attempts":
                    actions = [a["action"] for a in frame.f_locals["assignments"]]
                    if me in actions:
                        return actions
                frame = frame.f_back
        return []


    def shared_start(i: int, marks: str, block: bool) -> bool:
        # Every attempt leaves a mark in `marks` (its value, its Ray worker's pid, the actions of
        # its Ray task when it shares one). With `block`, it also logs a line, and the first
        # attempt of those writing there to start in a Ray task it shares with others is told to
        # block (and says where it runs, in `marks`/blocker): it is the first of its Ray task, so
        # the attempts after it in that Ray task wait behind it, not handed back.
        ctx = flyte.ctx()
        me, attempt = ctx.action.name, ctx.attempt_number
        shared = ",".join(ray_task_of(me))
        Path(marks, f"{me}-{attempt}").write_text(f"{i}|{os.getpid()}|{shared}")
        if not block:  # quick: no log lines to send before its report
            return False
        print(f"shared {i} in attempt {attempt}")
        if not (attempt == 0 and shared):
            return False
        try:
            fd = os.open(Path(marks, "blocker"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, f"{me}|{os.getpid()}|{shared}".encode())
        os.close(fd)
        return True


    def tick(marks: str) -> None:
        with open(Path(marks, "ticks"), "a") as f:
            f.write("tick\\n")


    @env.task(retries=1)
    async def shared_killed(i: int, marks: str = "", block: bool = False) -> int:
        if marks and shared_start(i, marks, block):
            while True:
                tick(marks)
                await asyncio.sleep(0.1)
        return i * i


    @env.task
    async def shared_aborted(i: int, marks: str = "", block: bool = False) -> int:
        if marks and shared_start(i, marks, block):
            while True:
                tick(marks)
                await asyncio.sleep(0.1)
        return i * i


    @env.task
    def sync_shared_aborted(i: int, marks: str = "", block: bool = False) -> int:
        if marks and shared_start(i, marks, block):
            while True:
                tick(marks)
                time.sleep(0.1)
        return i * i


    @orchestrator.task
    async def fan_out_killed(n: int, marks: str = "", block: bool = False) -> list[int]:
        return list(await asyncio.gather(*(shared_killed(i, marks, block) for i in range(n))))


    @orchestrator.task
    async def fan_out_aborted(n: int, marks: str = "", block: bool = False, sync: bool = False) -> list[str]:
        async def one(i: int) -> str:
            try:
                if sync:
                    return str(await sync_shared_aborted.aio(i, marks, block))
                return str(await shared_aborted(i, marks, block))
            except flyte.errors.ActionAbortedError as e:
                return f"caught {type(e).__name__}: {e}"

        return list(await asyncio.gather(*(one(i) for i in range(n))))


    @env.task(timeout=0.5)
    async def too_slow() -> int:
        await asyncio.sleep(30)
        return 1


    @env.task(timeout=1.0)
    def sync_too_slow() -> int:
        time.sleep(30)
        return 1
    """
)


@pytest.fixture(scope="module")
def devbox(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devbox]:
    home = tmp_path_factory.mktemp("ray-devbox")
    SecretStore(home / "secrets").put("api-token", "t0ken-on-ray")
    with ray_devbox(home, ray_cluster.address) as box:
        yield box


@pytest.fixture
def wf(devbox: Devbox, tmp_path: Path) -> Iterator[ModuleType]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "raywf.py").write_text(WORKFLOW)
    flyte.init(endpoint=devbox.endpoint, api_key=devbox.api_key, root_dir=root)
    yield load_module(str(root / "raywf.py"), root)
    sys.modules.pop("raywf", None)


def start(task: object, **inputs: object) -> RemoteRun:
    return submit_run(task, (), inputs, RunConfig(name=new_run_name()))  # type: ignore[arg-type]


def wait_for(path: Path, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} was not written in {timeout:g}s"
        time.sleep(0.2)
    return path.read_text()


def test_every_ray_address_is_on_loopback(ray_cluster: RayCluster, devbox: Devbox, wf: ModuleType) -> None:
    assert start(wf.square, x=3).outputs() == (9,)  # the devbox's dispatcher has joined as a driver
    seen = assert_all_on_loopback(ray_cluster)
    assert sorted(set(seen["nodes"])) == [HEAD_IP, NODE2_IP]


def test_fan_out_and_child_calls_give_the_right_values(wf: ModuleType) -> None:
    run = start(wf.main, n=6)
    assert run.outputs() == ("55|55|12|remote",)
    actions = run.actions()
    assert len(actions) == 1 + 6 + 1 + 6 + 1
    assert all(a.phase is ActionPhase.SUCCEEDED for a in actions)
    assert any("squaring 5" in line for a in actions for line in a.logs())


def test_the_many_attempts_of_a_quick_task_each_get_their_own_outcome_and_logs(wf: ModuleType) -> None:
    # the first fan-out shows the dispatcher that `square` is quick: the attempts of the next ones
    # share Ray tasks, and still each is recorded once, with its own value and its own logs
    for n in (8, 40, 40):
        run = start(wf.inner, n=n)
        assert run.outputs() == (sum(i * i for i in range(n)),)
        children = [a for a in run.actions() if a.task_name.endswith("square")]
        assert len(children) == n
        assert all(a.phase is ActionPhase.SUCCEEDED and a.attempts == 1 for a in children)
        seen = []
        for child in children:
            lines = [m.group(1) for line in child.logs() if (m := re.search(r"squaring (\d+)", line))]
            assert len(lines) == 1, lines
            seen.append(int(lines[0]))
        assert sorted(seen) == list(range(n))


def test_a_gpu_task_runs_on_the_node_with_the_gpu(wf: ModuleType) -> None:
    t4, _visible, any_gpu = start(wf.where).outputs()[0].split("|")
    assert t4 == NODE2_IP
    assert any_gpu == NODE2_IP


def test_a_request_no_node_can_hold_fails_at_once_with_a_clear_error(wf: ModuleType) -> None:
    run = start(wf.too_many_cpus)
    with pytest.raises(flyte.errors.ResourceExhaustedError, match=r"CPU 8 \(the most a node has: CPU 1\)"):
        run.outputs()
    assert run.action.attempts == 1  # not retried: it can never fit
    assert "huge.too_many_cpus" in (run.action.error_message or "")
    with pytest.raises(flyte.errors.ResourceExhaustedError, match="accelerator 'A100'"):
        start(wf.needs_a100).outputs()


def _kill(pid_file: Path) -> int:
    pid = int(wait_for(pid_file))
    time.sleep(0.5)  # well inside the attempt's sleep
    os.kill(pid, signal.SIGKILL)
    return pid


def test_a_killed_ray_worker_is_retried_and_recorded_once(
    devbox: Devbox, wf: ModuleType, tmp_path: Path
) -> None:
    marker = tmp_path / "pid"
    run = start(wf.killed_once, marker=str(marker))
    _kill(marker)
    (out,) = run.outputs()
    assert out.startswith("attempt 1 on 127.0.0.")
    assert run.action.attempts == 2
    assert run.phase is ActionPhase.SUCCEEDED
    assert [a.phase for a in run.actions()] == [ActionPhase.SUCCEEDED]
    # what `flyte get action` shows: two attempts, the result recorded once (one succeeded entry)
    from click.testing import CliRunner

    from flyte.cli.main import main

    shown = CliRunner(env={"FLYTE_API_KEY": devbox.api_key}).invoke(
        main, ["--endpoint", devbox.endpoint, "get", "action", run.name, "-of", "json"]
    )
    assert shown.exit_code == 0, shown.output
    [action] = json.loads(shown.output)
    assert (action["attempts"], action["phase"], action["error_type"]) == (2, "succeeded", None)

    no_retries = tmp_path / "pid2"
    lost = start(wf.killed_without_retries, marker=str(no_retries))
    _kill(no_retries)
    with pytest.raises(flyte.errors.WorkerDiedError, match="Ray worker running this attempt died"):
        lost.outputs()
    assert lost.action.attempts == 1


def test_a_retry_outlives_the_heartbeat_that_named_the_lost_attempt(wf: ModuleType, tmp_path: Path) -> None:
    # The server answers a heartbeat naming an attempt that has ended with "stop" for its action;
    # the retry the dispatcher runs meanwhile must not be cancelled for it (it was: unreported,
    # it was queued again when its lease ran out, 30 s later, and a third attempt ran)
    marker = tmp_path / "pid"
    run = start(wf.killed_then_slow, marker=str(marker))
    os.kill(int(wait_for(Path(f"{marker}-0"))), signal.SIGKILL)
    assert run.outputs() == ("attempt 1",)
    assert run.action.attempts == 2


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[:1] != ["Z"]


def test_abort_stops_the_running_ray_tasks(wf: ModuleType, tmp_path: Path) -> None:
    sync_ticks, async_ticks = tmp_path / "sync", tmp_path / "async"
    run = start(wf.spinners, sync_ticks=str(sync_ticks), async_ticks=str(async_ticks))
    first = wait_for(sync_ticks).splitlines()[0]
    sync_pid = int(first.split()[1])
    wait_for(async_ticks)
    run.abort("enough")
    assert run.phase is ActionPhase.ABORTED
    deadline = time.monotonic() + 60  # the dispatcher learns it at its next heartbeat (5 s)
    while _alive(sync_pid):
        assert time.monotonic() < deadline, "the sync task's Ray worker was not stopped"
        time.sleep(0.2)
    time.sleep(1.0)
    before = _lines(async_ticks)
    time.sleep(12.0)  # past the next heartbeat: an async spinner still running would keep ticking
    assert _lines(async_ticks) == before
    assert {a.phase for a in run.actions()} == {ActionPhase.ABORTED}


def test_timeouts_secrets_and_env_vars_behave_as_on_the_process_executor(wf: ModuleType) -> None:
    slow = start(wf.too_slow)
    with pytest.raises(flyte.errors.MaxRuntimeExceededError, match="max_runtime of 0.5s"):
        slow.outputs()
    assert slow.phase is ActionPhase.TIMED_OUT
    with pytest.raises(flyte.errors.MaxRuntimeExceededError, match="max_runtime of 1s"):
        start(wf.sync_too_slow).outputs()
    assert start(wf.reads_secret).outputs() == ("t0ken-on-ray",)
    assert start(wf.reads_env).outputs() == ("unset|task value",)
    run = flyte.with_runcontext(env_vars={"GREETING": "from the run"}).run(wf.reads_env)
    assert run.outputs() == ("from the run|task value",)


ACTORS_PROBE = textwrap.dedent(
    """
    import json, sys, ray
    import ray._private.state as state
    ray.init(address=sys.argv[1], _node_ip_address=sys.argv[2], log_to_driver=False, configure_logging=False)
    print(json.dumps([[a.get("Name"), a.get("State"), a.get("Pid")] for a in state.actors().values()]))
    """
)


def test_a_reusable_environment_runs_in_warm_ray_actors(ray_cluster: RayCluster, wf: ModuleType) -> None:
    first = start(wf.many_in_replicas, n=6).outputs()[0]
    assert [int(x.split(":")[1]) for x in first] == [i * i for i in range(6)]
    second = start(wf.many_in_replicas, n=4).outputs()[0]
    probe = subprocess.run(
        [sys.executable, "-c", ACTORS_PROBE, ray_cluster.address, HEAD_IP],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    alive = {
        pid for name, state, pid in json.loads(probe.stdout.strip().splitlines()[-1])
        if (name or "").startswith("flyte:reused:") and state == "ALIVE"
    }  # fmt: skip
    assert 1 <= len(alive) <= 2  # ReusePolicy(replicas=2)
    for out in first + second:  # in a replica, or in a child process of one (a sync task)
        pid, parent = (int(p) for p in out.split(":")[0].split("/"))
        assert pid in alive or parent in alive, (out, alive)


# -- attempts that share a Ray task ------------------------------------------------------------------
#
# A fan-out of a quick task on this two-slot cluster: the dispatcher runs its attempts several to a
# Ray task (docs/ray.md, "Quick tasks share Ray tasks"). In each fan-out below, the first attempt to
# start in a shared Ray task blocks: it is the first of its Ray task, so every other attempt there
# waits behind it, not handed back. The test then aborts it, or kills its Ray worker.

FAN_OUT = 12
"""Children of each fan-out: many more than the cluster's two slots, so that they share Ray tasks
even when they come in more than one claim."""


def _warm_up(fan_out: object, tmp_path: Path, **inputs: object) -> None:
    """Run fan-outs (nothing blocks) until the dispatcher runs their attempts several to a Ray task:
    the first one runs each attempt alone (nothing is measured yet) and shows it is quick."""
    for k in range(3):
        marks = tmp_path / f"warm-up-{k}"
        marks.mkdir()
        (values,) = start(fan_out, n=FAN_OUT, marks=str(marks), **inputs).outputs()
        assert [int(v) for v in values] == [i * i for i in range(FAN_OUT)]
        if any(shared for _, _, shared in _marks(marks).values()):
            return
    raise AssertionError("the dispatcher never ran the attempts of a quick task in a shared Ray task")


def _blocker(run: RemoteRun, marks: Path, timeout: float = 120.0) -> tuple[str, int, list[str]]:
    """The action and Ray worker pid of the attempt blocking in a shared Ray task, and the actions
    of that Ray task (in their order: the blocker first, since it started first)."""
    path = marks / "blocker"
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        seen = sorted(p.read_text() for p in marks.iterdir())
        assert not run.done(), f"no attempt shared a Ray task with others: {seen}"
        assert time.monotonic() < deadline, f"no attempt blocked in a shared Ray task in {timeout:g}s: {seen}"
        time.sleep(0.2)
    action, pid, shared = path.read_text().split("|")
    ray_task = shared.split(",")
    assert len(ray_task) >= 2 and ray_task[0] == action, (action, ray_task)
    wait_for(marks / "ticks")
    return action, int(pid), ray_task


def _marks(marks: Path) -> dict[str, tuple[int, int, list[str]]]:
    """``ACTION-ATTEMPT`` -> (value, Ray worker pid, the actions of its Ray task when it shared one)
    of every attempt that started."""
    out = {}
    for p in marks.iterdir():
        if p.name not in ("blocker", "ticks"):
            i, pid, shared = p.read_text().split("|")
            out[p.name] = (int(i), int(pid), shared.split(",") if shared else [])
    return out


def _logged(action: RemoteAction) -> list[tuple[int, int]]:
    """The (value, attempt) of each ``shared I in attempt K`` line in the action's logs."""
    found = (re.search(r"shared (\d+) in attempt (\d+)", line) for line in action.logs())
    return [(int(m[1]), int(m[2])) for m in found if m]


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
def test_an_aborted_attempt_sharing_a_ray_task_ends_aborted_and_the_others_run_once(
    devbox: Devbox, wf: ModuleType, tmp_path: Path, sync: bool
) -> None:
    from click.testing import CliRunner

    from flyte.cli.main import main

    _warm_up(wf.fan_out_aborted, tmp_path, sync=sync)
    marks = tmp_path / "marks"
    marks.mkdir()
    run = start(wf.fan_out_aborted, n=FAN_OUT, marks=str(marks), block=True, sync=sync)
    blocker, pid, ray_task = _blocker(run, marks)
    # it does not come up within a second: its Ray task is cancelled (a sync task's Ray worker
    # killed), and the attempts behind it run again
    aborted = CliRunner(env={"FLYTE_API_KEY": devbox.api_key}).invoke(
        main, ["--endpoint", devbox.endpoint, "abort", "action", run.name, blocker, "--reason", "stuck"]
    )
    assert aborted.exit_code == 0, aborted.output
    assert f"Action '{blocker}' of run '{run.name}' aborted: stuck" in aborted.output
    (values,) = run.outputs()
    assert run.phase is ActionPhase.SUCCEEDED

    task = "sync_shared_aborted" if sync else "shared_aborted"
    children = {a.name: a for a in run.actions() if a.task_name == f"work.{task}"}
    assert len(children) == FAN_OUT
    started = _marks(marks)
    assert sorted(started) == sorted(f"{name}-0" for name in children)  # each started once, no retry
    index = {name: started[f"{name}-0"][0] for name in children}
    # the parent caught the aborted child's ActionAbortedError; every other child has its own value
    caught = values[index[blocker]]
    assert caught.startswith("caught ActionAbortedError: ") and caught.endswith("stuck"), caught
    others = [i for i in range(FAN_OUT) if i != index[blocker]]
    assert [values[i] for i in others] == [str(i * i) for i in others]
    assert children[blocker].phase is ActionPhase.ABORTED
    for name, child in children.items():
        assert child.attempts == 1, (name, child.attempts)
        assert _logged(child) == [(index[name], 0)], (name, child.logs())
        if name != blocker:
            assert child.phase is ActionPhase.SUCCEEDED, (name, child.phase)
    # the attempts behind the blocker had not started: each ran later, in a Ray task of its own
    for name in ray_task[1:]:
        assert started[f"{name}-0"][2] == [], (name, started[f"{name}-0"])
    log = "".join(p.read_text() for p in devbox.home.glob("server/logs/*.log"))
    assert f"cancelling a Ray task of {len(ray_task)} attempts for {run.name}/{blocker}, aborted" in log
    ticks = _lines(marks / "ticks")
    time.sleep(1.0)
    assert _lines(marks / "ticks") == ticks  # the blocker was stopped
    if sync:  # its Ray worker was killed with it
        assert not _alive(pid)


def test_a_ray_worker_dying_under_a_shared_ray_task_retries_each_attempt_not_handed_back(
    wf: ModuleType, tmp_path: Path
) -> None:
    _warm_up(wf.fan_out_killed, tmp_path)
    marks = tmp_path / "marks"
    marks.mkdir()
    run = start(wf.fan_out_killed, n=FAN_OUT, marks=str(marks), block=True)
    blocker, pid, ray_task = _blocker(run, marks)
    os.kill(pid, signal.SIGKILL)

    assert run.outputs() == ([i * i for i in range(FAN_OUT)],)
    assert run.phase is ActionPhase.SUCCEEDED
    children = {a.name: a for a in run.actions() if a.task_name == "work.shared_killed"}
    assert len(children) == FAN_OUT
    assert all(a.phase is ActionPhase.SUCCEEDED for a in children.values())
    # the attempts of the killed Ray task (the blocker and those behind it, not handed back) were
    # lost with its Ray worker and retried once; every other attempt was recorded once
    attempts = {name: a.attempts for name, a in children.items()}
    assert {name for name, n in attempts.items() if n == 2} == set(ray_task), (ray_task, attempts)
    assert {n for name, n in attempts.items() if name not in ray_task} == {1}, attempts
    started = _marks(marks)
    for name in children:
        tried = sorted(k for k in started if k.startswith(f"{name}-"))
        if name == blocker:
            assert tried == [f"{name}-0", f"{name}-1"]
        elif name in ray_task:
            assert tried == [f"{name}-1"]  # behind the blocker: it never started before the kill
        else:
            assert tried == [f"{name}-0"]
    for name, child in children.items():
        last = child.attempts - 1
        i = started[f"{name}-{last}"][0]
        assert (i, last) in _logged(child), (name, child.logs())
        assert {v for v, _ in _logged(child)} == {i}, (name, child.logs())
