"""ProcessExecutor: results, errors, context, env vars, child calls, traces, output, reuse, close."""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import worker_tasks as wt
from worker_harness import CTX, enc, eventually, pid_exists, run_task, with_executor, worker_children

from flyte._internal.workers import ProcessExecutor, logs_of, needs_isolation
from flyte.errors import CustomError

pytestmark = pytest.mark.timeout(60)


def test_result_round_trip_and_context():
    async def body(ex: ProcessExecutor):
        assert await run_task(ex, wt.add, 2, 3) == 5
        summary = await run_task(ex, wt.context_summary)
        pid = await run_task(ex, wt.whoami)
        return summary, pid

    summary, pid = with_executor(body, max_workers=1)
    assert summary == "a1|r1|0|{'team': 'blue'}|/tmp/out/a1/0"
    assert pid != os.getpid()


def test_user_exception_keeps_type_message_and_traceback():
    async def body(ex: ProcessExecutor):
        with pytest.raises(ValueError, match="^boom$") as caught:
            await run_task(ex, wt.fail, "boom")
        assert "raise ValueError(message)" in caught.value.worker_traceback
        with pytest.raises(CustomError) as custom:
            await run_task(ex, wt.fail_unpicklable)
        assert custom.value.code == "Unpicklable" and custom.value.message == "bad pair 1/2"
        return await run_task(ex, wt.add, 1, 1)  # the worker survives user errors

    assert with_executor(body, max_workers=1) == 2


def test_env_vars_are_per_action_and_never_leak():
    async def body(ex: ProcessExecutor):
        first = await run_task(ex, wt.read_env, "FLYTE_WT_VAR", env={"FLYTE_WT_VAR": "blue"})
        pid1 = await run_task(ex, wt.whoami)
        after = await run_task(ex, wt.read_env, "FLYTE_WT_VAR")
        await run_task(ex, wt.set_env_and_chdir, "FLYTE_WT_SET", "x")
        leaked = await run_task(ex, wt.read_env, "FLYTE_WT_SET")
        cwd_after = await run_task(ex, wt.context_summary)  # any task: the worker still works
        pid2 = await run_task(ex, wt.whoami)
        return first, after, leaked, pid1 == pid2, cwd_after

    first, after, leaked, same_worker, _ = with_executor(body, max_workers=1)
    assert (first, after, leaked) == ("blue", "<unset>", "<unset>")
    assert same_worker
    assert "FLYTE_WT_VAR" not in os.environ and "FLYTE_WT_SET" not in os.environ


def test_stdout_and_stderr_are_captured_per_action():
    async def body(ex: ProcessExecutor):
        result = await ex.run(wt.chatty, enc(wt.chatty, 2), CTX, timeout=None, memory_limit=None, env={})
        quiet = await ex.run(wt.add, enc(wt.add, 1, 2), CTX, timeout=None, memory_limit=None, env={})
        return result.logs, quiet.logs

    logs, quiet = with_executor(body, max_workers=1)
    stdout = [line for stream, line in logs if stream == "stdout"]
    assert stdout == ["out 0", "out 1", "raw fd write"]
    assert ("stderr", "to stderr") in logs
    assert quiet == []


def test_logs_of_a_failed_attempt():
    async def body(ex: ProcessExecutor):
        try:
            await run_task(ex, wt.exit_abruptly, 4)
        except Exception as e:
            return e

    error = with_executor(body, max_workers=1)
    assert logs_of(error) == []


async def in_process(child, args, kwargs):
    value = child.forward(*args, **kwargs)
    return await value if inspect.isawaitable(value) else value


def test_child_task_calls_reach_the_parent():
    calls: list[str] = []

    async def on_submit(child, args, kwargs):
        calls.append(child.name)
        return await in_process(child, args, kwargs)

    async def body(ex: ProcessExecutor):
        total = await run_task(ex, wt.sum_of_squares, 4, on_submit=on_submit)
        caught = await run_task(ex, wt.child_fails, on_submit=in_process)
        fanned = await run_task(ex, wt.async_fan_out, 3, on_submit=on_submit)
        mapped = await run_task(ex, wt.mapped_squares, 3, on_submit=on_submit)
        return total, caught, fanned, mapped

    total, caught, fanned, mapped = with_executor(body, max_workers=1)
    assert mapped == [0, 1, 4]
    assert total == 0 + 1 + 4 + 9
    assert caught == "caught ValueError: from the child"
    assert fanned == [0, 2, 4]
    assert calls.count("worker_tests.square") == 4 + 3 and calls.count("worker_tests.async_double") == 3


def test_children_can_run_in_workers_too_without_deadlock():
    """A parent waiting on its child gives its slot back, so one slot runs a chain of depth 3."""

    async def body(ex: ProcessExecutor):
        async def on_submit(child, args, kwargs):
            result = await ex.run(child, enc(child, *args, **kwargs), CTX, on_submit=on_submit,
                                  timeout=None, memory_limit=None, env={})  # fmt: skip
            from flyte._internal.runtime.convert import decode_outputs

            return decode_outputs(child, result.outputs)

        return await run_task(ex, wt.nested, 3, on_submit=on_submit)

    assert with_executor(body, max_workers=1) == 3


def test_child_call_without_on_submit_fails_the_action():
    async def body(ex: ProcessExecutor):
        with pytest.raises(RuntimeError, match="takes no child calls"):
            await run_task(ex, wt.sum_of_squares, 2)

    with_executor(body, max_workers=1)


def test_traces_are_reported():
    entries = []

    async def body(ex: ProcessExecutor):
        return await run_task(ex, wt.uses_trace, 1, on_trace=entries.append)

    assert with_executor(body, max_workers=1) == 101
    (entry,) = entries
    assert entry.name == "traced_helper" and entry.error is None and entry.outputs


def test_reusable_environment_keeps_its_own_warm_workers():
    async def body(ex: ProcessExecutor):
        first = await run_task(ex, wt.warm_pid)
        again = await run_task(ex, wt.warm_pid)
        generic = await run_task(ex, wt.whoami)
        both = await asyncio.gather(run_task(ex, wt.warm_pid), run_task(ex, wt.warm_pid))
        return first, again, generic, both

    first, again, generic, both = with_executor(body)
    assert first == again != generic
    assert first in both


def test_idle_workers_are_reaped_down_to_the_minimum():
    async def body(ex: ProcessExecutor):
        await asyncio.gather(*(run_task(ex, wt.sleep_for, 0.2) for _ in range(2)))
        pids = ex.worker_pids()
        assert len(pids) == 2
        await eventually(lambda: ex.worker_pids() == [], within=5)
        await eventually(lambda: not any(pid_exists(p) for p in pids), within=5)
        return await run_task(ex, wt.add, 1, 2)  # a new worker starts on demand

    assert with_executor(body, max_workers=2, idle_ttl=0.3) == 3


def test_aclose_kills_busy_and_idle_workers():
    async def body(ex: ProcessExecutor):
        await asyncio.gather(run_task(ex, wt.sleep_for, 0.2), run_task(ex, wt.sleep_for, 0.2))
        busy = asyncio.ensure_future(run_task(ex, wt.sleep_for, 30.0))
        await asyncio.sleep(0.3)
        pids = ex.worker_pids()
        assert sorted(worker_children()) == sorted(pids)
        await ex.aclose()
        with pytest.raises(Exception, match="closed"):
            await busy
        return pids

    pids = with_executor(body, max_workers=2)
    assert not any(pid_exists(p) for p in pids)
    assert worker_children() == []
    assert multiprocessing.active_children() == []


def test_needs_isolation():
    import flyte

    env = flyte.TaskEnvironment(name="iso")

    def plain() -> int:
        return 1

    sync = env.task(plain)
    assert not needs_isolation(sync)
    assert needs_isolation(sync, isolate_all=True)
    assert needs_isolation(sync.override(timeout=2))
    assert needs_isolation(sync.override(resources=flyte.Resources(memory="200Mi")))
    assert not needs_isolation(wt.async_double)
    assert needs_isolation(wt.warm_pid)
    assert ProcessExecutor().supports(sync)  # defined in a function: it travels to workers by value
    assert ProcessExecutor().supports(wt.add)


SCRIPT = """
import asyncio, os
import flyte

env = flyte.TaskEnvironment(name="script_env")


class ScriptError(Exception):
    pass


@env.task
def hello(name: str) -> str:
    return f"hello {name} from {os.getpid()} as {__name__}"


@env.task
def explode() -> int:
    raise ScriptError("from the script")


if __name__ == "__main__":
    with open(os.environ["MARK_FILE"], "a") as f:
        f.write(f"{os.getpid()}\\n")
    from flyte._internal.runtime.convert import decode_outputs, encode_inputs
    from flyte._internal.workers import ProcessExecutor
    from flyte.models import ActionID, TaskContext

    async def main():
        ex = ProcessExecutor(max_workers=1)
        tctx = TaskContext(action=ActionID(name="a0"))
        try:
            data = encode_inputs(hello, {"name": "x"})
            result = await ex.run(hello, data, tctx, timeout=None, memory_limit=None, env={})
            print(decode_outputs(hello, result.outputs))
            try:
                await ex.run(explode, encode_inputs(explode, {}), tctx, timeout=None, memory_limit=None, env={})
            except ScriptError as e:
                print("caught", type(e).__name__, e)
        finally:
            await ex.aclose()

    asyncio.run(main())
"""


def test_tasks_of_a_main_script_run_without_its_main_block(tmp_path: Path):
    script = tmp_path / "flow.py"
    script.write_text(textwrap.dedent(SCRIPT))
    mark = tmp_path / "mark"
    env = {**os.environ, "MARK_FILE": str(mark)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("hello x from ") and lines[0].endswith(" as __flyte_main__")
    assert lines[1] == "caught ScriptError from the script"
    assert len(mark.read_text().splitlines()) == 1  # only the parent ran the __main__ block


def test_child_calls_are_cancelled_with_their_waiters():
    cancelled: list[str] = []

    async def on_submit(child, args, kwargs):
        try:
            return await in_process(child, args, kwargs)
        except asyncio.CancelledError:
            cancelled.append(child.name)
            raise

    async def body(ex: ProcessExecutor):
        gave_up = await run_task(ex, wt.gives_up_on_child, on_submit=on_submit)
        await eventually(lambda: len(cancelled) == 1)
        from flyte.errors import MaxRuntimeExceededError

        with pytest.raises(MaxRuntimeExceededError):
            await run_task(ex, wt.waits_on_slow_child, on_submit=on_submit, timeout=1)
        await eventually(lambda: len(cancelled) == 2)
        return gave_up

    assert with_executor(body, max_workers=1) == "gave up"
    assert cancelled == ["worker_tests.async_slow", "worker_tests.async_slow"]


def test_run_after_aclose_is_refused():
    async def body(ex: ProcessExecutor):
        await ex.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await run_task(ex, wt.add, 1, 2)

    with_executor(body)


HIDDEN = """
import flyte

env = flyte.TaskEnvironment(name="hidden_env")


@env.task
def triple(x: int) -> int:
    return 3 * x
"""


def test_module_loaded_from_a_file_off_sys_path_is_found_by_its_file(tmp_path: Path):
    import importlib.util

    path = tmp_path / "hidden_tasks.py"
    path.write_text(HIDDEN)
    spec = importlib.util.spec_from_file_location("hidden_tasks_for_workers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)

        async def body(ex: ProcessExecutor):
            return await run_task(ex, module.triple, 5)

        assert with_executor(body, max_workers=1) == 15
    finally:
        sys.modules.pop(spec.name, None)


def test_workers_see_the_parents_sys_path_even_after_it_changes(tmp_path: Path):
    async def body(ex: ProcessExecutor):
        first = await run_task(ex, wt.worker_sys_path)
        sys.path.append(str(tmp_path))
        try:
            second = await run_task(ex, wt.worker_sys_path)
            expected = list(sys.path)
        finally:
            sys.path.remove(str(tmp_path))
        return first, second, expected

    first, second, expected = with_executor(body, max_workers=1)
    assert second == expected and first == expected[:-1]


def test_reusable_pool_scales_down_to_min_replicas_then_to_zero_when_idle():
    async def body(ex: ProcessExecutor):
        pool = ex._pool(ex._placement(wt.warm_pid))
        assert (pool.min_workers, pool.max_workers) == (2, 2)
        pool.min_workers, pool.scaledown_ttl, pool.idle_ttl = 1, 0.2, 1.5
        await asyncio.gather(run_task(ex, wt.warm_pid), run_task(ex, wt.warm_pid))
        assert len(pool.workers) == 2
        await eventually(lambda: len(pool.workers) == 1, within=1.2)  # above the minimum: scaled down
        await asyncio.sleep(0.3)
        assert len(pool.workers) == 1
        await eventually(lambda: len(pool.workers) == 0, within=3)  # the whole pool idle for idle_ttl

    with_executor(body)


def test_on_submit_sees_the_group_and_custom_context_of_the_call_site():
    from flyte._internal.workers import CallSite, call_site

    sites = []

    async def on_submit(child, args, kwargs):
        sites.append(call_site())
        return await in_process(child, args, kwargs)

    async def body(ex: ProcessExecutor):
        value = await run_task(ex, wt.grouped_child_call, on_submit=on_submit)
        plain = await run_task(ex, wt.sum_of_squares, 1, on_submit=on_submit)
        return value, plain

    assert with_executor(body, max_workers=1) == (9, 0)
    assert sites == [CallSite("g1", {"team": "blue", "stage": "two"}), CallSite(None, {"team": "blue"})]
    assert call_site() is None
