"""Rules 1 and 2: how a child action is named, and when a recorded result stands in for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flyte._internal.digest import LARGE, blob_digest, identity_digest

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode
    from flyte.models import ActionID
    from flyte.types._wire import Spliced


def child_id(
    parent: ActionNode, task_name: str, inputs: bytes | Spliced, group: str | None
) -> tuple[ActionID, str | None]:
    """The deterministic id of ``parent``'s next call of ``task_name`` with ``inputs`` in ``group``,
    and the blob digest of large inputs (computed once, reused as their blob name; None if small).

    The sequence number counts identical calls (same task, inputs and group) of this parent, so
    the n-th identical call of a re-run meets the n-th call's record.
    """
    blob = blob_digest(inputs) if len(inputs) >= LARGE else None
    input_hash = identity_digest(inputs, blob)
    seq = parent.next_seq(task_name, input_hash, group)
    return parent.id.new_sub_action_from(seq, task_name, input_hash, group), blob


def replays(recorded_name: str, recorded_inputs: bytes | None, name: str, inputs: bytes) -> bool:
    """Whether a recorded call (an action's task, or a trace's function) with ``recorded_inputs``
    stands for a new call of ``name`` with ``inputs`` at the same place: same name, same inputs."""
    return recorded_name == name and recorded_inputs == inputs
