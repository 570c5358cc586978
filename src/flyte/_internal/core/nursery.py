"""Rule 7: a parent is a nursery; its unfinished children end when it does."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyte._internal.controllers._action import ActionNode


def cancel_children(node: ActionNode, reason: str) -> None:
    """Cancel the calls still awaiting children of ``node`` (it ended), each with ``reason``.

    A child's ``handle`` is the asyncio task awaiting it: locally the child's own execution, in a
    worker the wait for its end on the server (which ends the child with its parent). The current
    task is skipped: a child run inline by its parent's task must not cancel the parent.
    """
    current = asyncio.current_task()
    for child in node.children:
        handle = child.handle
        if handle is None or handle is current or handle.done() or child.phase.is_terminal:
            continue
        child.abort_reason = reason
        handle.cancel(reason)
