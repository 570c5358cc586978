"""The traceback an action's error is recorded with: the user's frames, not the engine's.

A task's exception travels through the engine (the controller, ``runtime.execute``, worker
threads), so its raw traceback is mostly engine frames. What is recorded keeps the frames of user
code (every frame outside the ``flyte`` package), in every exception of the chain, and is redacted
like every other recorded text. An error raised inside the engine itself keeps its full stack.
Errors that are outcomes rather than failures of code (timeouts, aborts) get none.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import flyte
from flyte._internal.redaction import redact

MAX_CHARS = 20_000
"""A longer traceback keeps its end: the frames nearest the error."""

_ENGINE = str(Path(flyte.__file__).parent)


def _user_frames(summary: traceback.TracebackException) -> None:
    kept = [f for f in summary.stack if not f.filename.startswith(_ENGINE)]
    if kept:  # else the error is the engine's own: keep it whole
        summary.stack = traceback.StackSummary.from_list(kept)
    for linked in (summary.__cause__, summary.__context__):
        if linked is not None:
            _user_frames(linked)


def user_traceback(error: BaseException | None) -> str | None:
    """The recorded traceback of ``error``: text carried over from another process (the
    ``recorded_traceback`` attribute), else its user frames; None for timeouts and aborts."""
    if error is None:
        return None
    from flyte.errors import ActionAbortedError, TaskTimeoutError

    if isinstance(error, (TaskTimeoutError, ActionAbortedError)):
        return None
    carried = getattr(error, "recorded_traceback", None)
    if isinstance(carried, str):
        return carried
    if error.__traceback__ is None:
        return None
    summary = traceback.TracebackException.from_exception(error)
    _user_frames(summary)
    text = redact("".join(summary.format()))
    return text if len(text) <= MAX_CHARS else "...\n" + text[-MAX_CHARS:]
