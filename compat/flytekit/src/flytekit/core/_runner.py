"""Running a graph inside one action: each node a child action, independent nodes concurrently.

Every node gets an asyncio task as soon as the graph starts; a task first awaits the nodes it
depends on (its inputs' nodes and ``>>`` edges), then resolves its bindings to real values and
runs its entity, which submits the child action(s). So nodes run in graph order and every set of
ready nodes runs at once, without a separate scheduling loop.

Failure policy (flytekit's ``WorkflowFailurePolicy``): by default the first failing node fails the
graph and the nodes still running are cancelled (their actions end aborted, as a parent's
children do); with ``FAIL_AFTER_EXECUTABLE_NODES_COMPLETE`` the nodes that do not depend on the
failure run to the end first. Either way the first failure is raised.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any

from flytekit.core.node import Node
from flytekit.core.promise import Promise, VoidPromise, resolve_path


class WorkflowFailurePolicy(enum.Enum):
    """What a workflow does when one of its nodes fails."""

    FAIL_IMMEDIATELY = "FAIL_IMMEDIATELY"
    FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = "FAIL_AFTER_EXECUTABLE_NODES_COMPLETE"


class Scope:
    """The running nodes of one graph level (a workflow, or a conditional's chosen case)."""

    def __init__(
        self,
        inputs: dict[str, Any],
        parent: Scope | None = None,
        policy: WorkflowFailurePolicy = WorkflowFailurePolicy.FAIL_IMMEDIATELY,
    ) -> None:
        self.inputs = inputs
        self.parent = parent
        self.policy = policy
        self.tasks: dict[Node, asyncio.Future[dict[str, Any]]] = {}

    def child(self) -> Scope:
        return Scope(self.inputs, self, self.policy)

    def _task_of(self, node: Node) -> asyncio.Future[dict[str, Any]]:
        scope: Scope | None = self
        while scope is not None:
            task = scope.tasks.get(node)
            if task is not None:
                return task
            scope = scope.parent
        raise RuntimeError(f"node {node.id} is not part of this workflow (a promise from another workflow?)")

    async def value(self, promise: Promise) -> Any:
        """The real value behind a promise, once its node has finished."""
        if promise.node is None:
            value = self.inputs[promise.var]
        else:
            outputs = await self._task_of(promise.node)
            if promise.var not in outputs:
                raise RuntimeError(f"node {promise.node.id} produced no output '{promise.var}'")
            value = outputs[promise.var]
        return resolve_path(value, promise.path)

    async def resolve(self, binding: Any) -> Any:
        """A binding with every promise inside replaced by its value."""
        if isinstance(binding, Promise):
            return await self.value(binding)
        if isinstance(binding, VoidPromise):
            return None
        if isinstance(binding, dict):
            return {k: await self.resolve(v) for k, v in binding.items()}
        if isinstance(binding, list):
            return [await self.resolve(v) for v in binding]
        if isinstance(binding, tuple) and not hasattr(binding, "_fields"):
            return tuple([await self.resolve(v) for v in binding])
        if isinstance(binding, tuple):  # a NamedTuple of promises
            return type(binding)(*[await self.resolve(v) for v in binding])
        return binding

    async def _run_node(self, node: Node) -> dict[str, Any]:
        for dep in node.dependencies():
            await self._task_of(dep)
        entity = node.entity
        if hasattr(entity, "fk_run_branch"):
            return dict(await entity.fk_run_branch(self))
        kwargs = {name: await self.resolve(value) for name, value in node.bindings.items()}
        result = await entity.fk_run(kwargs, node.overrides)
        return split_outputs(entity, result)

    async def run(self, nodes: list[Node]) -> None:
        """Run ``nodes`` (and wait for all of them), following the failure policy."""
        for node in nodes:
            self.tasks[node] = asyncio.ensure_future(self._run_node(node))
        if not nodes:
            return
        pending = [self.tasks[n] for n in nodes]
        if self.policy is WorkflowFailurePolicy.FAIL_IMMEDIATELY:
            done, rest = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            failed = [t for t in done if not t.cancelled() and t.exception() is not None]
            if failed:
                for task in rest:
                    task.cancel()
                await asyncio.gather(*rest, return_exceptions=True)
                raise _first_error(pending)
            return
        await asyncio.gather(*pending, return_exceptions=True)
        for task in pending:
            if not task.cancelled() and task.exception() is not None:
                raise _first_error(pending)


def _first_error(tasks: list[asyncio.Future[Any]]) -> BaseException:
    """The error of the failed node that comes first in the graph (a node that failed only because
    a node it waited for failed carries the same error)."""
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            return task.exception()  # type: ignore[return-value]
    return RuntimeError("a node of the workflow failed")


def split_outputs(entity: Any, value: Any) -> dict[str, Any]:
    """An entity's Python return value as ``{output name: value}``."""
    names = list(entity.fk_outputs)
    if not names:
        return {}
    if len(names) == 1 and getattr(entity, "fk_output_tuple", None) is None:
        return {names[0]: value}
    if not isinstance(value, tuple) or len(value) != len(names):
        raise TypeError(
            f"'{entity.fk_name}' must return {len(names)} values ({', '.join(names)}), got {value!r}"
        )
    return dict(zip(names, value, strict=True))


def pack_outputs(entity: Any, outputs: dict[str, Any]) -> Any:
    """The inverse of :func:`split_outputs`: what a caller of the entity receives."""
    names = list(entity.fk_outputs)
    tuple_type = getattr(entity, "fk_output_tuple", None)
    if tuple_type is not None:
        return tuple_type(*[outputs[n] for n in names])
    if not names:
        return None
    if len(names) == 1:
        return outputs[names[0]]
    return tuple(outputs[n] for n in names)
