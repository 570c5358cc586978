"""Local execution with real limits, as a user sees it through flyte.run: worker processes,
enforced timeouts, memory limits, resource slots, GPUs, secrets and per-action env vars."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pytest

import flyte
import flyte.errors
from flyte._internal.secrets import SecretStore
from flyte.models import ActionPhase
from flyte.remote import Run

pytestmark = pytest.mark.integration

env = flyte.TaskEnvironment(name="limits")
# Workers import this module too; they inherit the variable and so know the test process's pid.
PARENT_PID = int(os.environ.setdefault("LIMITS_PARENT_PID", str(os.getpid())))


# -- timeouts for sync code ------------------------------------------------------------------------


@env.task(timeout=2)
def spin() -> int:
    while True:
        pass


@env.task
def quick(x: int) -> int:
    return x * 2


@env.task
async def spin_and_sibling() -> list[str]:
    results = await asyncio.gather(spin.aio(), quick.aio(21), return_exceptions=True)
    return [type(r).__name__ if isinstance(r, BaseException) else str(r) for r in results]


def test_a_busy_loop_is_stopped_by_its_timeout_and_siblings_are_unaffected():
    run = flyte.run(spin_and_sibling)
    assert run.outputs()[0] == ["MaxRuntimeExceededError", "42"]
    spin_action = next(a for a in run.actions() if a.task_name == "limits.spin")
    assert spin_action.phase == ActionPhase.TIMED_OUT
    assert 1.5 < spin_action.duration < 10


SPIN_ATTEMPTS = "limits-spin-attempts"


@env.task(timeout=1, retries=1)
def spin_once() -> str:
    marker = os.path.join(os.environ["LIMITS_TMP"], SPIN_ATTEMPTS)
    with open(marker, "a") as f:
        f.write("x")
    if flyte.ctx().attempt_number == 0:
        while True:
            pass
    return f"attempt {flyte.ctx().attempt_number} in pid {os.getpid()}"


def test_a_timed_out_worker_is_replaced_and_retries_apply(tmp_path, monkeypatch):
    monkeypatch.setenv("LIMITS_TMP", str(tmp_path))
    result = flyte.with_runcontext(env_vars={"LIMITS_TMP": str(tmp_path)}).run(spin_once).outputs()[0]
    assert result.startswith("attempt 1 in pid ")
    assert int(result.rsplit(" ", 1)[1]) != PARENT_PID
    assert (tmp_path / SPIN_ATTEMPTS).read_text() == "xx"


# -- memory ----------------------------------------------------------------------------------------------


small_memory = flyte.TaskEnvironment(name="small_memory", resources=flyte.Resources(memory="200Mi"))
big_memory = flyte.TaskEnvironment(name="big_memory", resources=flyte.Resources(memory="1Gi"))
one_cpu = flyte.TaskEnvironment(name="one_cpu", resources=flyte.Resources(cpu=1))
one_gpu = flyte.TaskEnvironment(name="one_gpu", resources=flyte.Resources(gpu=1))
huge = flyte.TaskEnvironment(name="huge", resources=flyte.Resources(cpu=64))


@small_memory.task
def hog() -> int:
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(32)]  # 2 GiB
    return len(blocks)


def test_a_memory_hog_fails_with_oom_error_and_the_parent_survives():
    with pytest.raises(flyte.errors.OOMError):
        flyte.run(hog)
    assert flyte.run(quick, 1).outputs() == (2,)


# -- dying workers -------------------------------------------------------------------------------------------


@big_memory.task(retries=1)
def dies_first(how: str) -> str:
    if flyte.ctx().attempt_number == 0:
        if how == "exit":
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return f"survived {how}"


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_a_dead_worker_fails_the_attempt_with_a_system_error_and_retries_apply(how: str):
    run = flyte.run(dies_first, how)
    assert run.outputs() == (f"survived {how}",)
    assert run.action.attempts == 2


@big_memory.task
def dies_always() -> str:
    os._exit(9)


def test_without_retries_a_dead_worker_is_a_worker_died_error():
    with pytest.raises(flyte.errors.WorkerDiedError):
        flyte.run(dies_always)


# -- CPU and GPU slots ------------------------------------------------------------------------------------------

RUNNING = {"now": 0, "peak": 0}
LOCK = threading.Lock()


@one_cpu.task
async def one_core(i: int) -> int:
    RUNNING["now"] += 1
    RUNNING["peak"] = max(RUNNING["peak"], RUNNING["now"])
    await asyncio.sleep(0.05)
    RUNNING["now"] -= 1
    return i


@env.task
async def many_one_core(n: int) -> int:
    RUNNING.update(now=0, peak=0)
    await asyncio.gather(*(one_core(i) for i in range(n)))
    return RUNNING["peak"]


def test_actions_wait_for_resources_while_the_node_is_full(monkeypatch):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "2")
    run = flyte.run(many_one_core, 8)
    assert run.outputs() == (2,)
    histories = [
        [e.phase for e in record.history]
        for record in (Run.get(run.name).actions()[i].record for i in range(1, 9))
        if record is not None
    ]
    assert sum(ActionPhase.WAITING_FOR_RESOURCES in h for h in histories) >= 6


@huge.task
async def greedy() -> int:
    return 1


@env.task
async def greedy_twice() -> int:
    return await greedy() + await greedy()


def test_a_request_larger_than_the_node_runs_clamped_with_one_warning(monkeypatch, capfd):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "2")
    assert flyte.run(greedy_twice).outputs() == (2,)
    warnings = [line for line in capfd.readouterr().err.splitlines() if "warning:" in line]
    assert len(warnings) == 1, warnings
    assert "task 'huge.greedy'" in warnings[0] and "64 CPUs -> 2" in warnings[0]


@pytest.mark.parametrize(
    "how",
    ["with_runcontext", "env var"],
    ids=["with_runcontext(strict_resources=True)", "FLYTE_STRICT_RESOURCES"],
)
def test_strict_resources_refuse_a_request_larger_than_the_node(monkeypatch, how):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "2")
    if how == "env var":
        monkeypatch.setenv("FLYTE_STRICT_RESOURCES", "1")
        runner = flyte.with_runcontext()
    else:
        runner = flyte.with_runcontext(strict_resources=True)
    with pytest.raises(
        flyte.errors.ResourceExhaustedError, match="requests 64 CPUs, more than this local node"
    ):
        runner.run(greedy)


tpu = flyte.TaskEnvironment(name="tpu", resources=flyte.Resources(cpu=1, gpu=flyte.TPU("V5P", "2x2x1")))
two_gpus = flyte.TaskEnvironment(name="two_gpus", resources=flyte.Resources(gpu="A100:2"))


@tpu.task
async def on_a_tpu() -> str:
    return "ran without a TPU"


@two_gpus.task
def on_two_gpus() -> str:
    return os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")


def test_accelerators_the_laptop_lacks_are_named_as_what_they_are(monkeypatch, capfd):
    monkeypatch.setenv("FLYTE_LOCAL_GPUS", "1")
    assert flyte.run(on_a_tpu).outputs() == ("ran without a TPU",)
    assert flyte.run(on_two_gpus).outputs() == ("0",)  # clamped to the one GPU there is
    tpu_line, gpu_line = [line for line in capfd.readouterr().err.splitlines() if "warning:" in line]
    assert "task 'tpu.on_a_tpu'" in tpu_line and "1 TPU V5P -> none" in tpu_line and "GPU" not in tpu_line
    assert "task 'two_gpus.on_two_gpus'" in gpu_line and "2 GPU A100s -> 1" in gpu_line
    with pytest.raises(flyte.errors.ResourceExhaustedError, match="requests 1 TPU V5P, more than"):
        flyte.with_runcontext(strict_resources=True).run(on_a_tpu)


@one_cpu.task
async def nested_cpu(depth: int) -> int:
    if depth == 0:
        return 0
    return 1 + await nested_cpu(depth - 1)


def test_nested_parents_lend_their_cpu_to_children(monkeypatch):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "1")
    assert flyte.run(nested_cpu, 4).outputs() == (4,)


@one_gpu.task
def which_gpu() -> str:
    return os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")


@env.task
async def two_gpu_tasks() -> list[str]:
    return sorted(await asyncio.gather(which_gpu.aio(), which_gpu.aio()))


def test_gpu_actions_get_their_devices(monkeypatch):
    monkeypatch.setenv("FLYTE_LOCAL_GPUS", "2")
    assert flyte.run(two_gpu_tasks).outputs()[0] == ["0", "1"]
    assert "CUDA_VISIBLE_DEVICES" not in os.environ or os.environ["CUDA_VISIBLE_DEVICES"] != "0"


# -- secrets ------------------------------------------------------------------------------------------------------

SECRET_VALUE = "s3cr3t-value-9f8e7d"
secret_env = flyte.TaskEnvironment(
    name="secretive", secrets=[flyte.Secret(key="api_token", as_env_var="API_TOKEN")]
)


@secret_env.task
async def uses_secret() -> int:
    token = os.environ["API_TOKEN"]
    print(f"token is {token}")
    if token != SECRET_VALUE:
        raise AssertionError("wrong secret")
    return len(token)


@secret_env.task
async def leaks_secret() -> int:
    raise ValueError(f"could not authenticate with {os.environ['API_TOKEN']}")


@env.task
async def sibling_of_secret() -> str:
    return os.environ.get("API_TOKEN", "<absent>")


def test_a_secret_is_injected_for_its_action_only_and_never_recorded():
    SecretStore().put("api_token", SECRET_VALUE)
    run = flyte.run(uses_secret)
    assert run.outputs() == (len(SECRET_VALUE),)
    assert flyte.run(sibling_of_secret).outputs() == ("<absent>",)
    assert "API_TOKEN" not in os.environ
    logs = Run.get(run.name).action.logs()
    assert logs == ["[stdout] token is ***"]
    with pytest.raises(ValueError):
        flyte.run(leaks_secret)
    failed = next(Run.listall(in_phase=("failed",)))
    assert SECRET_VALUE not in (failed.error_message or "")
    assert "could not authenticate with ***" in (failed.error_message or "")
    db = (flyte._internal.run_config.flyte_home() / "runs.db").read_bytes()
    assert SECRET_VALUE.encode() not in db


def test_a_missing_secret_fails_before_the_task_starts():
    with pytest.raises(flyte.errors.SecretNotFoundError, match="api_token") as info:
        flyte.run(uses_secret)
    assert "secretive.uses_secret" in str(info.value)
    failed = next(Run.listall())
    assert failed.action.attempts == 0


# -- env vars ----------------------------------------------------------------------------------------------------------

env_with_vars = flyte.TaskEnvironment(name="with_vars", env_vars={"STAGE": "env-level"})


@env_with_vars.task
async def read_stage() -> str:
    return f"{os.environ.get('STAGE')}:{os.getpid() != PARENT_PID}"


@env.task
async def read_stage_plain() -> str:
    return os.environ.get("STAGE", "<absent>")


@env.task
async def stages() -> list[str]:
    overridden = read_stage.override(env_vars={"STAGE": "override"})
    return list(await asyncio.gather(read_stage(), overridden(), read_stage_plain()))


def test_env_vars_apply_to_their_action_only():
    assert flyte.run(stages).outputs()[0] == ["env-level:True", "override:True", "<absent>"]
    assert "STAGE" not in os.environ


# -- isolate everything ---------------------------------------------------------------------------------------------


@env.task
async def my_pid() -> int:
    return os.getpid()


def test_isolate_runs_every_action_in_a_worker(monkeypatch):
    assert flyte.run(my_pid).outputs() == (PARENT_PID,)
    monkeypatch.setenv("FLYTE_LOCAL_ISOLATE", "1")
    assert flyte.run(my_pid).outputs()[0] != PARENT_PID


four_cpus = flyte.TaskEnvironment(name="four_cpus", resources=flyte.Resources(cpu=4))


@one_cpu.task
async def holds_the_cpu() -> int:
    await asyncio.sleep(1)
    return 0


@four_cpus.task(timeout=flyte.Timeout(max_queued_time=0.2))
async def impatient_for_cpus() -> int:
    return 1


@env.task
async def queue_behind_the_holder() -> str:
    holder = asyncio.ensure_future(holds_the_cpu())
    await asyncio.sleep(0.1)  # the holder now has the node's only CPU
    try:
        await impatient_for_cpus()  # asks for 4, clamped to 1: still has to wait for it
        return "ran"
    except flyte.errors.MaxQueuedTimeExceededError as e:
        return f"gave up: {e}"
    finally:
        await holder


def test_max_queued_time_fires_for_a_clamped_request_waiting_for_slots(monkeypatch):
    monkeypatch.setenv("FLYTE_LOCAL_CPUS", "1")
    message = flyte.run(queue_behind_the_holder).outputs()[0]
    assert message.startswith("gave up:") and "max_queued_time of 0.2s" in message and "resources" in message


def _make_inner_spinner():
    inner = flyte.TaskEnvironment(name="inner_limits")

    @inner.task(timeout=1)
    def spins_in_a_closure() -> int:
        with open(os.environ["INNER_PID_FILE"], "w") as f:
            f.write(str(os.getpid()))
        while True:
            pass

    @inner.task
    async def calls_it() -> str:
        try:
            await spins_in_a_closure.aio()
        except flyte.errors.MaxRuntimeExceededError as e:
            return type(e).__name__
        return "not stopped"

    return calls_it


def test_a_sync_task_defined_in_a_function_is_stopped_by_its_timeout(tmp_path, monkeypatch):
    # it cannot be imported by a worker, so it travels there by value and is killed like any other
    # (in a thread of this process, its loop would spin on after the timeout)
    pid_file = tmp_path / "pid"
    monkeypatch.setenv("INNER_PID_FILE", str(pid_file))
    assert flyte.run(_make_inner_spinner()).outputs() == ("MaxRuntimeExceededError",)
    assert int(pid_file.read_text()) != os.getpid()
