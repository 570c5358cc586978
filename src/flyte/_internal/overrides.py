"""A task's settings travel with it when another process finds the task by name.

A worker process (local or devbox) finds a task by importing its module and looking up its name:
it gets the template *as defined*. A task changed at the call site (``task.override(env_vars=...,
resources=..., timeout=...)``) would lose its changes on the way. So whoever names a task to
another process also sends how it differs from the template as defined (``overrides_of``), and
the other side applies them (``apply``) — one rule for every process boundary.

The settings merge in one order, each layer winning over the one before:
environment → ``@env.task(...)`` → ``.override(...)`` → run context (``with_runcontext(env_vars=)``,
``flyte run -e``); the first three are resolved into the template itself, the run context is
applied by the engine running the action.
"""

from __future__ import annotations

import dataclasses
import pickle
import sys
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flyte._task import TaskTemplate

# Fields that identify the task rather than configure it: never sent.
_IDENTITY = frozenset({"func", "name", "env_name", "interface", "is_async"})

_cache: weakref.WeakKeyDictionary[Any, bytes | None] = weakref.WeakKeyDictionary()


def defined_template(task: TaskTemplate[Any, Any]) -> TaskTemplate[Any, Any] | None:
    """The template of the same name as its module defines it, if it can be found there."""
    from flyte._task import TaskTemplate

    module = sys.modules.get(getattr(task.func, "__module__", "") or "")
    found: Any = module
    for part in (getattr(task.func, "__qualname__", "") or "").split("."):
        found = getattr(found, part, None)
    if isinstance(found, TaskTemplate) and found.name == task.name:
        return found
    for value in list(vars(module).values()) if module is not None else ():
        if isinstance(value, TaskTemplate) and value.name == task.name and value.func is task.func:
            return value
    return None


def overrides_of(task: TaskTemplate[Any, Any]) -> bytes | None:
    """How ``task`` differs from the template its module defines (pickled), or None when not."""
    try:
        return _cache[task]
    except KeyError:
        pass
    original = defined_template(task)
    changed: dict[str, Any] = {}
    if original is not None and original is not task:
        for f in dataclasses.fields(task):
            if f.name not in _IDENTITY and getattr(task, f.name) != getattr(original, f.name):
                changed[f.name] = getattr(task, f.name)
    blob = pickle.dumps(changed, protocol=pickle.HIGHEST_PROTOCOL) if changed else None
    _cache[task] = blob
    return blob


def apply(task: TaskTemplate[Any, Any], blob: bytes | None) -> TaskTemplate[Any, Any]:
    """``task`` with the overrides ``overrides_of`` produced on the other side."""
    if not blob:
        return task
    return dataclasses.replace(task, **pickle.loads(blob))
