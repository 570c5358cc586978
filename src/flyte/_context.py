"""Ambient execution state, held in a contextvar so that several runs can share a process.

A ``Frame`` describes the action whose code is running right now: its TaskContext, the
controller that executes its children, and the controller's handle for the action itself.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte._internal.controllers import Controller
    from flyte.models import TaskContext


class Frame:
    """The action whose code runs now: its context, its controller, and the controller's handle."""

    __slots__ = ("tctx", "controller", "action", "in_trace")

    def __init__(self, tctx: TaskContext, controller: Controller, action: Any, in_trace: bool = False):
        self.tctx = tctx
        self.controller = controller
        self.action = action
        """The controller's own handle for the running action (a tree node); opaque here."""
        self.in_trace = in_trace

    def with_tctx(self, **changes: Any) -> Frame:
        return Frame(self.tctx.replace(**changes), self.controller, self.action, self.in_trace)


_frame: ContextVar[Frame | None] = ContextVar("flyte_frame", default=None)


def current_frame() -> Frame | None:
    return _frame.get()


def set_frame(frame: Frame | None):  # -> Token
    return _frame.set(frame)


def reset_frame(token) -> None:
    _frame.reset(token)


def ctx() -> TaskContext | None:
    """The context of the task that is running now, or ``None`` outside a task."""
    frame = _frame.get()
    return frame.tctx if frame is not None else None
