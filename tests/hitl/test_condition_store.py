"""The conditions table on both stores (SQLite for local runs, PostgreSQL for a server): a condition
ends exactly once, its action row agrees, a due timeout and an ended run are applied on read."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flyte._internal import conditions as cstore
from flyte._internal.store import RunStore, store_for_url
from flyte.models import ActionPhase

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        store = RunStore(tmp_path / "runs.db")
    else:
        store = store_for_url(request.getfixturevalue("postgres_db"), blob_dir=tmp_path / "blobs")
    store.create_run("r1", "env.main", "server:test:1")
    yield store
    store.close()


def _record(action: str, timeout: float | None = None) -> cstore.ConditionRecord:
    return cstore.ConditionRecord(
        run_name="r1", action=action, parent="a0", name="approve", prompt="ok?", prompt_type="text",
        description="", data_type="bool", timeout=timeout, created_at=time.time(), phase=ActionPhase.PAUSED,
    )  # fmt: skip


def test_a_condition_ends_once_and_its_action_row_agrees(db) -> None:
    rec, created = cstore.insert_condition(db, _record("c1"), group="g")
    assert created and db.get_action("r1", "c1").phase is ActionPhase.PAUSED
    again, created = cstore.insert_condition(db, _record("c1"))
    assert not created and again.action == "c1"
    assert cstore.resolve(db, rec, ActionPhase.SUCCEEDED, value=True, by="me")
    assert not cstore.resolve(db, rec, ActionPhase.TIMED_OUT, by="timeout")  # the first end wins
    stored = cstore.get_condition(db, "r1", "c1")
    assert (stored.phase, stored.value, stored.resolved_by) == (ActionPhase.SUCCEEDED, True, "me")
    action = db.get_action("r1", "c1")
    assert (action.phase, action.task_name, action.group) == (ActionPhase.SUCCEEDED, "condition:approve", "g")
    assert [e.phase for e in action.history] == [ActionPhase.PAUSED, ActionPhase.SUCCEEDED]
    assert cstore.find_condition(db, "r1", "approve").action == "c1"


def test_a_due_timeout_and_an_ended_run_are_applied_when_read(db) -> None:
    rec, _ = cstore.insert_condition(db, _record("c2", timeout=0.01))
    time.sleep(0.05)
    timed_out = cstore.refresh(db, rec)
    assert timed_out.phase is ActionPhase.TIMED_OUT
    assert db.get_action("r1", "c2").error_type == "ConditionTimedoutError"

    waiting, _ = cstore.insert_condition(db, _record("c3"))
    db.finish_run("r1", ActionPhase.FAILED, None)
    ended = cstore.refresh(db, waiting)
    assert (ended.phase, ended.resolved_by) == (ActionPhase.ABORTED, "its run ended")
