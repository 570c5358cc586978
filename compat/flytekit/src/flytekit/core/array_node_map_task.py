"""``map_task(fn, concurrency=, min_success_ratio=)``: one child action per list element.

The mapped task may be a ``functools.partial`` that fixes some inputs; the others take lists of
equal length. Inside a workflow the map is one node whose outputs are lists; when it runs, the
node's action (the workflow's) submits one child action of the task per element, at most
``concurrency`` at a time (0 or None: no bound). With ``min_success_ratio`` below 1, failed
elements give ``None`` as long as enough succeed; otherwise the first failure is raised.
"""

from __future__ import annotations

import asyncio
import functools
import math
import typing
from typing import Any

from flyte._context import current_frame
from flytekit.core.base_task import route_call


class ArrayNodeMapTask:
    """The entity ``map_task`` returns: call it with lists, get lists."""

    fk_output_tuple = None

    def __init__(
        self,
        target: Any,
        concurrency: int | None = None,
        min_success_ratio: float | None = None,
        **_ignored: Any,
    ) -> None:
        fixed: dict[str, Any] = {}
        task = target
        if isinstance(target, functools.partial):
            if target.args:
                raise TypeError("map_task: fix inputs of a partial by keyword (functools.partial(t, y=1))")
            fixed = dict(target.keywords)
            task = target.func
        if not hasattr(task, "fk_inputs"):
            raise TypeError(f"map_task needs a flytekit @task, got {task!r}")
        if len(task.fk_outputs) > 1:
            raise TypeError(
                f"map_task: '{task.name}' has {len(task.fk_outputs)} outputs; a mapped task has at most one"
            )
        if min_success_ratio is not None and not 0 <= min_success_ratio <= 1:
            raise ValueError(f"map_task: min_success_ratio must be between 0 and 1, got {min_success_ratio}")
        self.task = task
        self.fixed = fixed
        self.concurrency = concurrency or 0
        self.min_success_ratio = 1.0 if min_success_ratio is None else float(min_success_ratio)
        self.fk_name = f"{task.name}_map"
        self.name = self.fk_name
        optional = self.min_success_ratio < 1
        self.fk_inputs: dict[str, tuple[Any, Any]] = {
            name: (list[tp], default)  # type: ignore[valid-type]
            for name, (tp, default) in task.fk_inputs.items()
            if name not in fixed
        }
        self.fk_outputs: dict[str, Any] = {
            name: list[typing.Optional[tp] if optional else tp]  # type: ignore[misc,valid-type]
            for name, tp in task.fk_outputs.items()
        }

    def __repr__(self) -> str:
        return f"map_task({self.task.name})"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return route_call(
            self, args, kwargs, plain=lambda: self._plain(kwargs), in_run=lambda: self._in_run(kwargs)
        )

    def _items(self, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        lists = {k: v for k, v in kwargs.items() if k not in self.fixed}
        sizes = {len(v) for v in lists.values()}
        if len(sizes) > 1:
            raise ValueError(
                f"map_task '{self.task.name}': the mapped inputs have different lengths {sorted(sizes)}"
            )
        n = sizes.pop() if sizes else 0
        return [{**self.fixed, **{k: v[i] for k, v in lists.items()}} for i in range(n)]

    def _plain(self, kwargs: dict[str, Any]) -> list[Any]:
        return [self.task.func(**item) for item in self._items(kwargs)]

    def _in_run(self, kwargs: dict[str, Any]) -> Any:
        frame = current_frame()
        assert frame is not None
        if asyncio._get_running_loop() is not None:
            return self.fk_run(kwargs, {})
        return frame.controller.run_coroutine_sync(self.fk_run(kwargs, {}))  # type: ignore[attr-defined]

    async def fk_run(self, kwargs: dict[str, Any], overrides: dict[str, Any]) -> Any:
        """Submit one child action per element and gather the results in input order."""
        from flytekit.core.python_function_task import apply_overrides

        task = apply_overrides(self.task, overrides)
        items = self._items(kwargs)
        limit = asyncio.Semaphore(self.concurrency) if self.concurrency > 0 else None

        async def one(item: dict[str, Any]) -> Any:
            if limit is None:
                return await task.fk_run(item, {})
            async with limit:
                return await task.fk_run(item, {})

        import flyte

        with flyte.group(f"{self.task.short_name}-map"):  # the elements show as one group of the run
            results = await asyncio.gather(*(one(item) for item in items), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            needed = math.ceil(self.min_success_ratio * len(items))
            if len(items) - len(failures) < needed or self.min_success_ratio >= 1:
                raise failures[0]
            results = [None if isinstance(r, BaseException) else r for r in results]
        if not self.task.fk_outputs:
            return None
        return list(results)


def map_task(
    target: Any, concurrency: int | None = None, min_success_ratio: float | None = None, **kwargs: Any
) -> ArrayNodeMapTask:
    """Map a task over lists of inputs (see the module docstring)."""
    return ArrayNodeMapTask(target, concurrency=concurrency, min_success_ratio=min_success_ratio, **kwargs)


array_node_map_task = map_task
