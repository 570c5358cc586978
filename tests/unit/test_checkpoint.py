"""A retried attempt, or the same action in a recovering run, continues from its checkpoint."""

from __future__ import annotations

import json

import pytest

import flyte
import flyte.errors

env = flyte.TaskEnvironment(name="ckpt")
WORK: list[tuple[int, int]] = []


@env.task(retries=3)
async def train(epochs: int) -> int:
    checkpoint = flyte.Checkpoint.current()
    state = json.loads(checkpoint.read_bytes() or b'{"epoch": 0}')
    attempt = flyte.ctx().attempt_number
    for epoch in range(state["epoch"], epochs):
        WORK.append((attempt, epoch))
        checkpoint.save(json.dumps({"epoch": epoch + 1}).encode())
        if epoch == 2 * (attempt + 1):  # crash after two more epochs on every attempt
            raise RuntimeError(f"lost the node at epoch {epoch}")
    return epochs


def test_retries_continue_from_the_previous_attempts_checkpoint():
    WORK.clear()
    assert flyte.run(train, 7).outputs() == (7,)
    # each epoch is done exactly once although three attempts failed along the way
    assert [epoch for _, epoch in WORK] == list(range(7))
    assert [attempt for attempt, _ in WORK] == [0, 0, 0, 1, 1, 2, 2]


@env.task
async def checkpoint_paths() -> list[str | None]:
    first = flyte.latest_checkpoint()
    flyte.Checkpoint.current().save(b"v1")
    return [None if first is None else str(first), flyte.Checkpoint.current().path.name]


def test_first_attempt_has_no_previous_checkpoint():
    assert flyte.run(checkpoint_paths).outputs()[0] == [None, "0"]


def test_checkpoints_need_a_task():
    with pytest.raises(flyte.errors.NotInTaskContextError):
        flyte.latest_checkpoint()


@env.task
async def directory_state() -> str:
    checkpoint = flyte.Checkpoint.current()
    previous = checkpoint.load()
    if previous is None:
        staged = checkpoint.path.parent / "staged"
        staged.mkdir(parents=True)
        (staged / "weights.txt").write_text("w=1")
        checkpoint.save(staged)
        raise RuntimeError("first attempt fails after saving a directory")
    return (previous / "weights.txt").read_text()


def test_directory_checkpoints_survive_into_a_recovering_run():
    with pytest.raises(RuntimeError):
        flyte.with_runcontext(name="ckpt-src").run(directory_state)
    run = flyte.rerun("ckpt-src", recover=True)
    assert run.outputs() == ("w=1",)
