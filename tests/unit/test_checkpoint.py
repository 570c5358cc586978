"""A retried attempt, or the same action in a recovering run, continues from its checkpoint."""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from pathlib import Path

import pytest

import flyte
import flyte.errors
from flyte._checkpoint import CHECKPOINT_CACHE_KEY, BaseCheckpoint
from flyte.models import ActionID, CheckpointPaths, Checkpoints, TaskContext

env = flyte.TaskEnvironment(name="ckpt")
WORK: list[tuple[int, int]] = []


@env.task(retries=3)
async def train(epochs: int) -> int:
    checkpoint = flyte.ctx().checkpoint
    restored = await checkpoint.load()
    state = json.loads(restored.read_bytes() if restored else b'{"epoch": 0}')
    attempt = flyte.ctx().attempt_number
    for epoch in range(state["epoch"], epochs):
        WORK.append((attempt, epoch))
        await checkpoint.save(json.dumps({"epoch": epoch + 1}).encode())
        if epoch == 2 * (attempt + 1):  # crash after two more epochs on every attempt
            raise RuntimeError(f"lost the node at epoch {epoch}")
    return epochs


def test_retries_continue_from_the_previous_attempts_checkpoint():
    WORK.clear()
    assert flyte.run(train, 7).outputs() == (7,)
    # each epoch is done exactly once although three attempts failed along the way
    assert [epoch for _, epoch in WORK] == list(range(7))
    assert [attempt for attempt, _ in WORK] == [0, 0, 0, 1, 1, 2, 2]


SEEN: list[tuple[int, bytes | None]] = []


@env.task(retries=1)
def sync_counter() -> int:
    checkpoint = flyte.ctx().checkpoint
    restored = checkpoint.load_sync()
    SEEN.append((flyte.ctx().attempt_number, None if restored is None else restored.read_bytes()))
    if restored is None:
        checkpoint.save_sync(b"41")
        raise RuntimeError("attempt 0 fails after saving")
    return int(restored.read_bytes()) + 1


def test_sync_task_loads_what_attempt_zero_saved():
    SEEN.clear()
    assert flyte.run(sync_counter).outputs() == (42,)
    assert SEEN == [(0, None), (1, b"41")]


@env.task(retries=1)
async def async_counter() -> int:
    checkpoint = flyte.ctx().checkpoint
    assert checkpoint is flyte.ctx().checkpoint  # one object per attempt
    restored = await checkpoint.load()
    if restored is None:
        assert not checkpoint.prev_exists()
        await checkpoint.save(b"1")
        raise RuntimeError("attempt 0 fails after saving")
    assert checkpoint.prev_exists() and restored == checkpoint.path / "payload"
    return int(restored.read_bytes()) + 1


def test_async_task_loads_what_attempt_zero_saved():
    assert flyte.run(async_counter).outputs() == (2,)


@env.task
async def first_attempt() -> list[object]:
    checkpoint = flyte.ctx().checkpoint
    return [await checkpoint.load(), checkpoint.prev_exists(), Path(checkpoint.remote_destination).name]


def test_first_attempt_has_no_previous_checkpoint():
    assert flyte.run(first_attempt).outputs()[0] == [None, False, "0"]


def test_checkpoints_need_a_task():
    assert flyte.ctx() is None
    with pytest.raises(flyte.errors.NotInTaskContextError):
        flyte.Checkpoint.current()


@env.task
async def directory_state() -> str:
    checkpoint = flyte.ctx().checkpoint
    previous = checkpoint.load_sync()
    if previous is None:
        (checkpoint.path / "weights.txt").write_text("w=1")
        (checkpoint.path / "sub").mkdir()
        (checkpoint.path / "sub" / "opt.txt").write_text("o=2")
        checkpoint.save_sync(checkpoint.path)
        raise RuntimeError("first attempt fails after saving a directory")
    assert previous == checkpoint.path
    return (previous / "weights.txt").read_text() + (previous / "sub" / "opt.txt").read_text()


def test_directory_checkpoints_survive_into_a_recovering_run():
    with pytest.raises(RuntimeError):
        flyte.with_runcontext(name="ckpt-src").run(directory_state)
    run = flyte.rerun("ckpt-src", recover=True)
    assert run.outputs() == ("w=1o=2",)


# -- the Checkpoint object on its own ------------------------------------------------------------


def test_bytes_file_and_directory_round_trips(tmp_path):
    first = tmp_path / "a" / "0"
    cp = flyte.Checkpoint(str(first))
    assert isinstance(cp, BaseCheckpoint)
    assert cp.load_sync() is None and not cp.prev_exists() and cp.remote_source is None
    cp.save_sync(b"one")
    cp.save_sync(b"two")  # a later save replaces an earlier one
    nxt = flyte.Checkpoint(str(tmp_path / "a" / "1"), first.as_uri())
    assert nxt.load_sync().read_bytes() == b"two"
    assert nxt.load_sync() == nxt.path / "payload"  # restored once; same answer later

    src = tmp_path / "model.bin"
    src.write_bytes(b"weights")
    nxt.save_sync(str(src))
    third = flyte.Checkpoint(str(tmp_path / "a" / "2"), str(tmp_path / "a" / "1"))
    assert third.read_bytes() == b"weights"

    (third.path / "state.json").write_text('{"step": 3}')
    third.save_sync(third.path)
    fourth = flyte.Checkpoint(str(tmp_path / "a" / "3"), str(tmp_path / "a" / "2"))
    restored = fourth.load_sync()
    assert restored == fourth.path
    assert json.loads((restored / "state.json").read_text()) == {"step": 3}
    assert fourth.read_bytes() is None


def test_a_tar_archive_checkpoint_is_unpacked(tmp_path):
    blob = tmp_path / "prev"
    with tarfile.open(blob, "w:gz") as tar:
        data = b'{"step": 7}'
        info = tarfile.TarInfo("state.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    cp = flyte.Checkpoint(str(tmp_path / "out"), blob.as_uri())
    restored = cp.load_sync()
    assert restored == cp.path and (restored / "state.json").read_text() == '{"step": 7}'


def test_missing_or_empty_previous_checkpoint_loads_as_none(tmp_path):
    assert flyte.Checkpoint(str(tmp_path / "o"), str(tmp_path / "nothing")).load_sync() is None
    (tmp_path / "empty").write_bytes(b"")
    assert flyte.Checkpoint(str(tmp_path / "o"), str(tmp_path / "empty")).load_sync() is None
    assert flyte.Checkpoint(str(tmp_path / "o"), '  ""  ').prev_exists() is False


def test_save_errors_name_what_was_expected(tmp_path):
    cp = flyte.Checkpoint(str(tmp_path / "o"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cp.save_sync(str(tmp_path / "missing"))
    with pytest.raises(TypeError, match="expected bytes, or the path"):
        cp.save_sync(42)  # type: ignore[arg-type]


def test_latest_checkpoint_finds_the_newest_match(tmp_path):
    old, new = tmp_path / "a" / "last.ckpt", tmp_path / "b" / "last.ckpt"
    for p in (old, new):
        p.parent.mkdir()
        p.write_text("x")
    os.utime(old, (time.time() - 100, time.time() - 100))
    assert flyte.latest_checkpoint(tmp_path) == new
    (tmp_path / "step3.ckpt").write_text("3")
    (tmp_path / "step9.ckpt").write_text("9")
    by_step = flyte.latest_checkpoint(tmp_path, "step*.ckpt", key=lambda p: int(p.stem[4:]))
    assert by_step == tmp_path / "step9.ckpt"
    assert flyte.latest_checkpoint(tmp_path, "*.nothing") is None


# -- TaskContext.checkpoint ----------------------------------------------------------------------


def test_task_context_checkpoint_from_paths(tmp_path):
    paths = CheckpointPaths(checkpoint_path=str(tmp_path / "out"), prev_checkpoint_path=None)
    tctx = TaskContext(action=ActionID(name="a0"), checkpoint_paths=paths)
    assert tctx.checkpoint is tctx.checkpoint
    assert isinstance(tctx.data[CHECKPOINT_CACHE_KEY], flyte.Checkpoint)
    assert tctx.checkpoints == paths  # the older field name sees the same paths
    assert Checkpoints is CheckpointPaths
    legacy = TaskContext(action=ActionID(name="a0"), checkpoints=Checkpoints(None, str(tmp_path / "x")))
    assert legacy.checkpoint_paths is legacy.checkpoints and legacy.checkpoint is not None


def test_task_context_without_a_checkpoint_location():
    assert TaskContext(action=ActionID(name="a0")).checkpoint is None
    blank = CheckpointPaths(checkpoint_path="  ", prev_checkpoint_path=None)
    assert TaskContext(action=ActionID(name="a0"), checkpoint_paths=blank).checkpoint is None
