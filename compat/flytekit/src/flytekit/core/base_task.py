"""What every flytekit entity shares: its implicit environment, how a call is routed, kwtypes.

A call of a task, workflow, map task or launch plan means one of four things, decided here:

1. a workflow (or dynamic task) is being defined -> record a node, return promises;
2. the caller is an ``@eager`` task running in an action -> return an awaitable child call;
3. the caller is any other action of a run -> the engine's own routing (a child action);
4. nothing is running -> the entity's plain behaviour (tasks: the Python function; workflows:
   a new run on the engine).
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from flyte._context import Frame, current_frame
from flytekit.core._compile import current_builder
from flytekit.core.node import add_call

_eager_frame: ContextVar[Frame | None] = ContextVar("flytekit_eager_frame", default=None)
"""The frame of the running @eager task: calls made from exactly that frame return awaitables."""

_MAIN_NAMES = ("__main__", "__flyte_main__")


def env_name_for(module_name: str) -> str:
    """The implicit TaskEnvironment of a module: its last name component (the file's stem for a
    script), made snake_case. Workers import the module again, perhaps under another dotted name
    or as a script, and must find the same task names, so only the stem is used."""
    module = sys.modules.get(module_name)
    leaf = module_name.rsplit(".", 1)[-1]
    file = getattr(module, "__file__", None)
    if (leaf in _MAIN_NAMES or leaf.startswith("__")) and file:
        stem = Path(file).stem
        leaf = Path(file).parent.name if stem == "__init__" else stem
    name = re.sub(r"[^a-z0-9_]+", "_", leaf.lower()).strip("_")
    return name or "flytekit"


_environments: dict[str, Any] = {}


def implicit_environment(module_name: str) -> Any:
    """The TaskEnvironment that holds a module's flytekit tasks (created on first use)."""
    import flyte

    name = env_name_for(module_name)
    env = _environments.get(name)
    if env is None:
        env = _environments[name] = flyte.TaskEnvironment(name=name)
    return env


def register_in_environment(entity: Any) -> None:
    """Add ``entity`` to its module's environment (replacing a same-named one, as a module re-run does)."""
    env = implicit_environment(entity.func.__module__)
    env._tasks[entity.name] = entity


def route_call(
    entity: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    plain: Callable[[], Any],
    in_run: Callable[[], Any],
) -> Any:
    """Decide what calling ``entity`` means now (see the module docstring)."""
    builder = current_builder()
    if builder is not None:
        return add_call(builder, entity, args, kwargs)
    frame = current_frame()
    if frame is not None:
        eager = _eager_frame.get()
        if eager is not None and eager.action is frame.action:  # flyte.group() swaps the frame object
            return entity.fk_run(bind_values(entity, args, kwargs), {})
        return in_run()
    return plain()


def bind_values(entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Real arguments named after the entity's inputs (defaults are left to the engine)."""
    names = list(entity.fk_inputs)
    if len(args) > len(names):
        raise TypeError(f"'{entity.fk_name}' takes {len(names)} input(s), {len(args)} positional given")
    bound = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in entity.fk_inputs:
            raise TypeError(f"'{entity.fk_name}' got an unexpected input '{key}'")
        bound[key] = value
    return bound


def kwtypes(**kwargs: Any) -> OrderedDict[str, Any]:
    """Name -> type pairs, e.g. the columns of a StructuredDataset: ``kwtypes(age=int)``."""
    return OrderedDict(kwargs)


class TaskMetadata:
    """flytekit's task metadata holder; kept for programs that build one explicitly."""

    def __init__(
        self,
        cache: bool = False,
        cache_version: str = "",
        retries: int = 0,
        timeout: Any = None,
        interruptible: bool | None = None,
        deprecated: str = "",
        cache_serialize: bool = False,
        cache_ignore_input_vars: tuple[str, ...] = (),
    ) -> None:
        self.cache = cache
        self.cache_version = cache_version
        self.retries = retries
        self.timeout = timeout
        self.interruptible = interruptible
        self.deprecated = deprecated
        self.cache_serialize = cache_serialize
        self.cache_ignore_input_vars = cache_ignore_input_vars
