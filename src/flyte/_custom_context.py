"""Custom context: string key/values that flow from an action to every action it calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flyte._context import current_frame, reset_frame, set_frame

# Custom context set outside any task (e.g. around flyte.run); it seeds the run's root action.
_outside: ContextVar[dict[str, str] | None] = ContextVar("flyte_custom_context", default=None)


def get_custom_context() -> dict[str, str]:
    """The custom context in effect here: inside a task, the action's; outside, what is set."""
    frame = current_frame()
    if frame is not None:
        return dict(frame.tctx.custom_context)
    return dict(_outside.get() or {})


@contextmanager
def custom_context(**context: str) -> Iterator[None]:
    """Add key/values to the custom context for the block; child actions called inside inherit them."""
    for key, value in context.items():
        if not isinstance(value, str):
            raise TypeError(f"custom_context: value of '{key}' must be a str, got {type(value).__name__}")
    frame = current_frame()
    if frame is None:
        token = _outside.set({**(_outside.get() or {}), **context})
        try:
            yield
        finally:
            _outside.reset(token)
        return
    ftoken = set_frame(frame.with_tctx(custom_context={**frame.tctx.custom_context, **context}))
    try:
        yield
    finally:
        reset_frame(ftoken)
