"""The same RunStore code on PostgreSQL: the store behaviour the server relies on."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flyte._internal.controllers._action import ActionNode, TraceEntry
from flyte._internal.store import TaskCache, store_for_url
from flyte.errors import RuntimeSystemError
from flyte.models import ActionID, ActionPhase

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_store(postgres_db: str, tmp_path: Path):
    store = store_for_url(postgres_db, blob_dir=tmp_path / "blobs")
    yield store
    store.close()


def _node(run: str, name: str, parent: ActionNode | None = None, inputs: bytes = b"\x80") -> ActionNode:
    node = ActionNode(ActionID(name=name, run_name=run), "env.task", parent, None, inputs)
    if parent is not None:
        parent.children.append(node)
    return node


def test_runs_actions_traces_and_logs_round_trip(pg_store):
    pg_store.create_run("r1", "env.main", "server:test:1")
    with pytest.raises(ValueError, match="already exists"):
        pg_store.create_run("r1", "env.main", "server:test:1")
    root = _node("r1", "a0")
    child = _node("r1", "c1", root, inputs=b"x" * 100_000)  # large: goes to a blob file
    child.outputs = b"y" * 70_000
    child.attempts = 1
    child.transition(ActionPhase.RUNNING)
    child.transition(ActionPhase.SUCCEEDED)
    for node in (root, child):
        pg_store.mark_dirty(node)
    pg_store.add_trace("r1", "c1", 0, TraceEntry("fetch", b"in", b"out", None, time.time(), time.time()))
    pg_store.add_logs([("r1", "c1", 0, "stdout", time.time(), f"line {i}") for i in range(3)])
    pg_store.flush()
    pg_store.finish_run("r1", ActionPhase.SUCCEEDED, None)

    run = pg_store.get_run("r1")
    assert run is not None and run.phase == ActionPhase.SUCCEEDED and run.ended_at is not None
    actions = pg_store.list_actions("r1")
    assert [a.name for a in actions] == ["a0", "c1"]
    assert [e.phase for e in actions[1].history] == [
        ActionPhase.QUEUED,
        ActionPhase.RUNNING,
        ActionPhase.SUCCEEDED,
    ]
    inputs, outputs = pg_store.action_io("r1", "c1")
    assert inputs == b"x" * 100_000 and outputs == b"y" * 70_000
    assert [t.name for t in pg_store.get_traces("r1")] == ["fetch"]
    assert [entry.line for entry in pg_store.get_logs("r1", "c1")] == ["line 0", "line 1", "line 2"]
    assert [r.name for r in pg_store.list_runs(phases=(ActionPhase.SUCCEEDED,))] == ["r1"]


def test_abort_requests_and_cache_on_postgres(pg_store):
    pg_store.create_run("r2", "env.main", "server:test:1")
    assert pg_store.request_abort("r2", "stop")
    assert pg_store.get_run("r2").abort_reason == "stop"
    cache = TaskCache(pg_store)
    assert cache.get("k") is None
    cache.store.execute_write(
        lambda c: c.execute(
            "INSERT INTO cache (key, task_name, version, outputs, outputs_ref, created_at, run_name, action)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ("k", "env.t", "v", b"out", None, time.time(), "r2", "a0"),
        )
    )
    assert TaskCache(pg_store).get("k") == b"out"
    assert cache.clear() == 1
    assert TaskCache(pg_store).get("k") is None


def test_a_second_store_on_the_same_database_sees_the_schema(pg_store, postgres_db: str, tmp_path: Path):
    pg_store.create_run("r3", "env.main", "server:test:1")
    other = store_for_url(postgres_db, blob_dir=tmp_path / "blobs")
    try:
        assert other.get_run("r3") is not None
    finally:
        other.close()


def test_unreachable_database_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RuntimeSystemError, match="run store"):
        store_for_url("postgresql://nobody@127.0.0.1:1/none", blob_dir=tmp_path)
