"""Handles on runs and actions (the object ``flyte.run`` returns, and lookups by name), and on
deployed tasks and their triggers (``Task.get``, ``Trigger.listall``; loaded on first use)."""

from typing import Any

from flyte.remote._data import ActionInputs, ActionOutputs
from flyte.remote._run import Action, Run

__all__ = [
    "Action",
    "ActionInputs",
    "ActionOutputs",
    "Artifact",
    "Condition",
    "LazyEntity",
    "Run",
    "Task",
    "TaskDetails",
    "Trigger",
]

_LAZY = {
    "Artifact": "flyte.remote._artifact",
    "Condition": "flyte.remote._condition",
    "LazyEntity": "flyte.remote._task",
    "Task": "flyte.remote._task",
    "TaskDetails": "flyte.remote._task",
    "Trigger": "flyte.remote._trigger",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flyte.remote' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
