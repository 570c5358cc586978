"""Every local run is recorded: runs, action trees, phases, io, logs, traces; crashes detected."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._internal.run_config import flyte_home
from flyte._internal.store import open_store
from flyte.models import ActionPhase
from flyte.remote import Run

env = flyte.TaskEnvironment(name="stored")


@env.task
async def square(x: int) -> int:
    print(f"squaring {x}")
    return x * x


@env.task
async def fan(n: int) -> int:
    logging.getLogger("user").warning("fanning out %d", n)
    return sum(await asyncio.gather(*(square(i) for i in range(n))))


@env.task
async def broken(x: int) -> int:
    raise ValueError(f"broken {x}")


@env.task
async def big(n: int) -> bytes:
    return b"z" * n


def test_a_run_is_recorded_with_its_action_tree():
    run = flyte.run(fan, 3)
    stored = Run.get(run.name)
    assert stored.phase == ActionPhase.SUCCEEDED
    assert stored.task_name == "stored.fan"
    assert stored.outputs() == (5,)
    assert stored.inputs() == {"n": 3}
    actions = stored.actions()
    assert [a.name for a in actions][0] == "a0"
    assert sorted(a.task_name for a in actions[1:]) == ["stored.square"] * 3
    child = actions[1]
    assert child.phase == ActionPhase.SUCCEEDED and child.attempts == 1
    record = open_store(flyte_home()).get_action(run.name, child.name)
    assert [e.phase for e in record.history] == [
        ActionPhase.QUEUED,
        ActionPhase.RUNNING,
        ActionPhase.SUCCEEDED,
    ]
    assert record.history[0].at <= record.history[-1].at
    assert record.parent == "a0"


def test_stdout_and_logging_are_captured_per_action(capsys: pytest.CaptureFixture[str]):
    run = flyte.run(fan, 2)
    stored = Run.get(run.name)
    lines_by_action = {a.name: a.logs() for a in stored.actions()}
    assert any("[log] WARNING user: fanning out 2" in line for line in lines_by_action["a0"])
    child_lines = sorted(line for name, lines in lines_by_action.items() if name != "a0" for line in lines)
    assert child_lines == ["[stdout] squaring 0", "[stdout] squaring 1"]
    assert "squaring 1" in capsys.readouterr().out  # still printed to the terminal


def test_a_failed_run_keeps_its_error_and_finished_work():
    with pytest.raises(ValueError):
        flyte.run(broken, 4)
    (failed,) = list(Run.listall(in_phase=(ActionPhase.FAILED,)))
    assert failed.error_message == "ValueError: broken 4"
    assert failed.action.phase == ActionPhase.FAILED


def test_listall_filters_by_phase_and_task():
    flyte.run(square, 2)
    with pytest.raises(ValueError):
        flyte.run(broken, 1)
    flyte.run(fan, 1)
    assert [r.task_name for r in Run.listall()] == ["stored.fan", "stored.broken", "stored.square"]
    assert [r.task_name for r in Run.listall(task_name="square")] == ["stored.square"]
    assert [r.task_name for r in Run.listall(in_phase=("failed",))] == ["stored.broken"]
    assert len(list(Run.listall(limit=2))) == 2


def test_large_values_live_in_blob_files():
    run = flyte.run(big, 200_000)
    stored = Run.get(run.name)
    assert stored.outputs()[0] == b"z" * 200_000
    blobs = list((flyte_home() / "blobs").rglob("*"))
    assert any(p.is_file() and p.stat().st_size > 200_000 for p in blobs)


def test_unknown_run_and_duplicate_names():
    with pytest.raises(flyte.errors.ActionNotFoundError, match="No run named 'nope'"):
        Run.get("nope")
    flyte.with_runcontext(name="fixed").run(square, 1)
    with pytest.raises(ValueError, match="already exists"):
        flyte.with_runcontext(name="fixed").run(square, 1)


def test_persistence_can_be_turned_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_LOCAL_PERSISTENCE", "0")
    run = flyte.run(square, 3)
    assert run.outputs() == (9,)
    assert not (flyte_home() / "runs.db").exists()


def test_a_run_whose_process_died_is_marked_failed(tmp_path: Path):
    store = open_store(flyte_home())
    store.create_run("ghost", "x.y", "localhost-not-this:1:1")
    # an owner on this host with a pid that cannot exist
    import socket

    store.create_run("dead", "x.y", f"{socket.gethostname()}:999999999:1")
    runs = {r.name: r for r in Run.listall()}
    assert runs["dead"].phase == ActionPhase.FAILED
    assert "exited before it finished" in (runs["dead"].error_message or "")
    assert runs["ghost"].phase == ActionPhase.RUNNING  # another host: we cannot tell


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    import flyte
    env = flyte.TaskEnvironment(name="writer")

    @env.task
    async def leaf(i: int) -> int:
        return i

    @env.task
    async def fan(n: int) -> int:
        return sum(await asyncio.gather(*(leaf(i) for i in range(n))))

    for _ in range(5):
        assert flyte.run(fan, 200).outputs()[0] == 19900
    print("ok")
    """
)


def test_several_processes_write_at_once_without_lock_errors(tmp_path: Path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    try:
        results = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for (out, err), p in zip(results, procs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
        assert out.strip() == "ok"
    assert len(list(Run.listall(limit=100))) == 15


def test_an_older_store_is_migrated(tmp_path: Path):
    import sqlite3

    from flyte._internal.store.sqlite import RunStore

    db = tmp_path / "old" / "runs.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:  # version 1: no report_path column, no cache_meta table
        conn.executescript(
            "CREATE TABLE actions (run_name TEXT, name TEXT, parent TEXT, task_name TEXT, group_name TEXT,"
            " phase TEXT, attempts INTEGER, created_at REAL, started_at REAL, ended_at REAL, inputs BLOB,"
            " inputs_ref TEXT, outputs BLOB, outputs_ref TEXT, error_type TEXT, error_message TEXT,"
            " cache_status TEXT, history BLOB, PRIMARY KEY (run_name, name)) WITHOUT ROWID;"
            "PRAGMA user_version=1;"
        )
    store = RunStore(db)
    columns = [row[1] for row in store.execute_read("PRAGMA table_info(actions)")]
    assert "report_path" in columns and "error_traceback" in columns and "error_code" in columns
    assert store.execute_read("SELECT generation FROM cache_meta") == [(0,)]
    store.close()


@env.task
async def sleeper() -> int:
    await asyncio.sleep(30)
    return 1


@env.task
async def waits_on_sleepers() -> int:
    return sum(await asyncio.gather(sleeper(), sleeper()))


def test_abort_reason_reaches_every_aborted_action():
    async def main() -> None:
        task = asyncio.ensure_future(flyte.with_runcontext(name="to-abort").run.aio(waits_on_sleepers))
        while True:
            await asyncio.sleep(0.05)
            rows = open_store(flyte_home()).execute_read(
                "SELECT count(*) FROM actions WHERE run_name = 'to-abort' AND phase = 'running'"
            )
            if rows[0][0] == 3:
                break
        await Run.get("to-abort").abort.aio("no longer needed")
        with pytest.raises(flyte.errors.ActionAbortedError, match="no longer needed"):
            await task

    asyncio.run(main())
    actions = Run.get("to-abort").actions()
    assert {a.phase for a in actions} == {ActionPhase.ABORTED}
    assert all("no longer needed" in (a.error_message or "") for a in actions)


def test_a_killed_but_unreaped_run_process_counts_as_dead():
    import signal
    import socket
    import subprocess
    import sys
    import time

    from flyte._internal.store.liveness import _start_ticks, owner_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = f"{socket.gethostname()}:{child.pid}:{_start_ticks(child.pid)}"
        assert owner_alive(owner)
        child.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while owner_alive(owner) and time.monotonic() < deadline:  # a zombie until we reap it below
            time.sleep(0.02)
        assert not owner_alive(owner)
    finally:
        child.kill()
        child.wait()
