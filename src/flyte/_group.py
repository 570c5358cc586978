"""``flyte.group``: label the child actions called inside a block."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flyte._context import current_frame, reset_frame, set_frame
from flyte.models import GroupData


@contextmanager
def group(name: str) -> Iterator[None]:
    """Child actions called inside the block belong to the group ``name`` (shown in run views).

    Outside a task this is a no-op, so the same code works when a task is called as a function.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"flyte.group: name must be a non-empty string, got {name!r}")
    frame = current_frame()
    if frame is None:
        yield
        return
    token = set_frame(frame.with_tctx(group_data=GroupData(name)))
    try:
        yield
    finally:
        reset_frame(token)
