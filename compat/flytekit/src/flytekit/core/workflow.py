"""``@workflow`` and the imperative ``Workflow``: a static graph, run as one parent action.

The graph is built when the workflow is defined: the function body runs once with a promise per
input, under a graph builder, so every call records a node and type errors surface at
definition time, as in flytekit. The workflow itself is a flyte TaskTemplate (async): running it
is one action whose body executes the graph (see ``_runner``), each node a child action.
Called outside any run, a workflow starts a run on the engine (``flyte.run``) and returns its
outputs as flytekit returns them: ``None``, one value, or a tuple (a NamedTuple when declared).
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flyte._interface import NativeInterface
from flyte._task import TaskTemplate
from flytekit.core._compile import GraphBuilder, compiling
from flytekit.core._runner import Scope, WorkflowFailurePolicy, pack_outputs
from flytekit.core.base_task import bind_values, implicit_environment, register_in_environment, route_call
from flytekit.core.node import Node, outputs_of_return
from flytekit.core.promise import Promise, VoidPromise
from flytekit.core.types_check import _label, compatible


def output_bindings(entity: Any, returned: Any) -> dict[str, Any]:
    """Match what a workflow (or dynamic) body returned to its declared outputs, checking types."""
    names = list(entity.fk_outputs)
    if not names:
        return {}
    if len(names) == 1:
        values = [returned[0] if isinstance(returned, tuple) and len(returned) == 1 else returned]
    else:
        if not isinstance(returned, tuple) or len(returned) != len(names):
            raise TypeError(
                f"'{entity.fk_name}' declares {len(names)} outputs ({', '.join(names)}) but its body "
                f"returned {returned!r}"
            )
        values = list(returned)
    bindings: dict[str, Any] = {}
    for name, value in zip(names, values, strict=True):
        if isinstance(value, VoidPromise) or value is None and entity.fk_outputs[name] is not type(None):
            raise TypeError(f"'{entity.fk_name}': output '{name}' is bound to a call with no outputs")
        if isinstance(value, Promise) and not compatible(value.type, entity.fk_outputs[name]):
            raise TypeError(
                f"Failed to bind output '{name}' of '{entity.fk_name}': it is declared "
                f"{_label(entity.fk_outputs[name])} but {value!r} is {_label(value.type)}"
            )
        bindings[name] = value
    return bindings


async def execute_graph(
    nodes: list[Node],
    inputs: dict[str, Any],
    bindings: dict[str, Any],
    policy: WorkflowFailurePolicy = WorkflowFailurePolicy.FAIL_IMMEDIATELY,
) -> dict[str, Any]:
    """Run the graph in the current action and return its outputs by name."""
    scope = Scope(inputs, policy=policy)
    await scope.run(nodes)
    return {name: await scope.resolve(value) for name, value in bindings.items()}


def run_on_engine(entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Start a run of ``entity`` (local or remote, as ``flyte.init`` chose) and return its outputs."""
    import flyte

    run = flyte.run(entity, **bind_values(entity, args, kwargs))
    return _result(entity, run.outputs())


async def run_on_engine_async(entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    import flyte

    run = await flyte.run.aio(entity, **bind_values(entity, args, kwargs))
    return _result(entity, run.outputs())


def _result(entity: Any, outputs: tuple[Any, ...]) -> Any:
    n = len(entity.fk_outputs)
    value = None if n == 0 else outputs[0] if n == 1 else tuple(outputs)
    return entity.fk_from_engine(value)


@dataclass(kw_only=True, eq=False)
class WorkflowBase(TaskTemplate[Any, Any]):
    """What both workflow styles share: a graph, its outputs, and how the parent action runs it."""

    runs_execute: ClassVar[bool] = True
    fk_nodes: list[Node] = field(default_factory=list)
    fk_outputs: dict[str, Any] = field(default_factory=dict)
    fk_output_tuple: Any = None
    fk_bindings: dict[str, Any] = field(default_factory=dict)
    failure_policy: WorkflowFailurePolicy = WorkflowFailurePolicy.FAIL_IMMEDIATELY
    on_failure: Any = None
    docs: Any = None

    @property
    def fk_name(self) -> str:
        return self.name

    @property
    def fk_inputs(self) -> dict[str, tuple[Any, Any]]:
        return self.interface.inputs

    @property
    def nodes(self) -> list[Node]:
        return list(self.fk_nodes)

    @property
    def python_interface(self) -> NativeInterface:
        return self.interface

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return route_call(
            self,
            args,
            kwargs,
            plain=lambda: run_on_engine(self, args, kwargs),
            in_run=lambda: TaskTemplate.__call__(self, *args, **kwargs),
        )

    async def fk_run(self, kwargs: dict[str, Any], overrides: dict[str, Any]) -> Any:
        """A subworkflow node: one child action that runs this workflow's graph."""
        from flytekit.core.python_function_task import apply_overrides

        return self.fk_from_engine(await TaskTemplate.aio(apply_overrides(self, overrides), **kwargs))

    def fk_to_engine(self, value: Any) -> Any:
        if self.fk_output_tuple is not None:
            return value[0] if len(self.fk_outputs) == 1 else tuple(value)
        return value

    def fk_from_engine(self, value: Any) -> Any:
        if self.fk_output_tuple is not None:
            return self.fk_output_tuple(value) if len(self.fk_outputs) == 1 else self.fk_output_tuple(*value)
        return value

    def execute(self, **kwargs: Any) -> Any:
        return self._run_graph(kwargs)

    async def _run_graph(self, kwargs: dict[str, Any]) -> Any:
        try:
            outputs = await execute_graph(self.fk_nodes, kwargs, self.fk_bindings, self.failure_policy)
        except Exception as error:
            if self.on_failure is not None:
                await self._handle_failure(kwargs, error)
            raise
        return self.fk_to_engine(pack_outputs(self, outputs))

    async def _handle_failure(self, kwargs: dict[str, Any], error: Exception) -> None:
        """flytekit's failure handler: called with the workflow's inputs (and ``err``, when it
        takes one), as a child action; the workflow still fails with the original error."""
        from flytekit.types.error import FlyteError

        handler = self.on_failure
        accepted = handler.fk_inputs
        call = {k: v for k, v in kwargs.items() if k in accepted}
        if "err" in accepted:
            call["err"] = FlyteError(message=f"{type(error).__name__}: {error}", failed_node_id="")
        await handler.fk_run(call, {})


@dataclass(kw_only=True, eq=False)
class PythonFunctionWorkflow(WorkflowBase):
    """A ``@workflow`` function."""


def _compile(func: Callable[..., Any], wf: WorkflowBase) -> None:
    from flytekit.core.condition import open_sections_to_nodes

    builder = GraphBuilder(wf.name)
    promises = {name: Promise(None, name, tp) for name, (tp, _) in wf.interface.inputs.items()}
    with compiling(builder):
        returned = func(**promises)
        open_sections_to_nodes(builder)
    wf.fk_nodes = builder.nodes
    wf.fk_bindings = output_bindings(wf, returned)


def _disabled_cache() -> Any:
    from flyte._cache import cache_from_request

    return cache_from_request("disable")


def _no_retries() -> Any:
    from flyte._retry import retry_from

    return retry_from(0)


def build_workflow(
    func: Callable[..., Any],
    failure_policy: WorkflowFailurePolicy | None = None,
    interruptible: bool = False,
    on_failure: Any = None,
    docs: Any = None,
    pickle_untyped: bool = False,
    default_options: Any = None,
) -> PythonFunctionWorkflow:
    env = implicit_environment(func.__module__)
    hints = typing.get_type_hints(func, include_extras=True)
    outputs, tuple_type = outputs_of_return(hints.get("return", inspect.signature(func).return_annotation))
    base = NativeInterface.from_callable(func)
    wf = PythonFunctionWorkflow(
        func=func,
        name=f"{env.name}.{func.__name__}",
        short_name=func.__name__,
        env_name=env.name,
        interface=NativeInterface(inputs=base.inputs, outputs=outputs, docstring=base.docstring),
        is_async=True,
        cache=_disabled_cache(),
        retries=_no_retries(),
        timeout=None,
        interruptible=interruptible,
        fk_outputs=outputs,
        fk_output_tuple=tuple_type,
        failure_policy=failure_policy or WorkflowFailurePolicy.FAIL_IMMEDIATELY,
        on_failure=on_failure,
        docs=docs,
    )
    _compile(func, wf)
    register_in_environment(wf)
    return wf


def workflow(
    _workflow_function: Callable[..., Any] | None = None,
    failure_policy: WorkflowFailurePolicy | None = None,
    interruptible: bool = False,
    on_failure: Any = None,
    docs: Any = None,
    pickle_untyped: bool = False,
    default_options: Any = None,
) -> Any:
    """flytekit's ``@workflow``, bare or with options."""

    def wrap(func: Callable[..., Any]) -> PythonFunctionWorkflow:
        return build_workflow(func, failure_policy, interruptible, on_failure, docs, pickle_untyped)

    return wrap(_workflow_function) if _workflow_function is not None else wrap


# -- the imperative style --------------------------------------------------------------------------


@dataclass(kw_only=True, eq=False)
class ImperativeWorkflow(WorkflowBase):
    """flytekit's ``Workflow(name=...)``: inputs, nodes and outputs added one call at a time."""

    fk_builder: GraphBuilder = field(default_factory=lambda: GraphBuilder("imperative"))
    fk_input_promises: dict[str, Promise] = field(default_factory=dict)

    @property
    def inputs(self) -> dict[str, Promise]:
        return dict(self.fk_input_promises)

    def add_workflow_input(self, input_name: str, python_type: Any) -> Promise:
        if input_name in self.fk_input_promises:
            raise ValueError(f"workflow '{self.name}' already has an input named '{input_name}'")
        promise = Promise(None, input_name, python_type)
        self.fk_input_promises[input_name] = promise
        inputs = {**self.interface.inputs, input_name: (python_type, inspect.Parameter.empty)}
        self.interface = NativeInterface(inputs=inputs, outputs=dict(self.interface.outputs))
        return promise

    def add_entity(self, entity: Any, **kwargs: Any) -> Node:
        from flytekit.core.node import bind

        node = Node(self.fk_builder.next_id(), entity, bind(entity, (), kwargs))
        self.fk_builder.add(node)
        self.fk_nodes = self.fk_builder.nodes
        return node

    add_task = add_entity
    add_subwf = add_entity
    add_launch_plan = add_entity

    def add_workflow_output(self, output_name: str, p: Any, python_type: Any = None) -> None:
        if output_name in self.fk_outputs:
            raise ValueError(f"workflow '{self.name}' already has an output named '{output_name}'")
        if python_type is None:
            if isinstance(p, Promise):
                python_type = p.type if p.type is not None else Any
            elif isinstance(p, list) and p and all(isinstance(x, Promise) for x in p):
                python_type = list[p[0].type or Any]  # type: ignore[misc]
            else:
                raise TypeError(f"add_workflow_output('{output_name}'): give python_type= for {p!r}")
        self.fk_outputs[output_name] = python_type
        self.fk_bindings[output_name] = p
        self.interface = NativeInterface(inputs=dict(self.interface.inputs), outputs=dict(self.fk_outputs))

    def ready(self) -> bool:
        return bool(self.fk_nodes)


def _imperative_func(module: str, name: str) -> Callable[..., Any]:
    async def imperative_workflow(**kwargs: Any) -> Any:  # stands in for a function: never called
        raise RuntimeError("an imperative workflow runs its graph")

    imperative_workflow.__module__ = module
    imperative_workflow.__qualname__ = name
    imperative_workflow.__name__ = name
    return imperative_workflow


def Workflow(  # noqa: N802 - flytekit's class name, a factory here
    name: str,
    failure_policy: WorkflowFailurePolicy | None = None,
    interruptible: bool = False,
) -> ImperativeWorkflow:
    """An imperative workflow; its task name is the last dotted part of ``name`` in the caller's module."""
    module = sys._getframe(1).f_globals.get("__name__", "__main__")
    short = re.sub(r"[^A-Za-z0-9_]+", "_", name.rsplit(".", 1)[-1]) or "workflow"
    env = implicit_environment(module)
    wf = ImperativeWorkflow(
        func=_imperative_func(module, short),
        name=f"{env.name}.{short}",
        short_name=short,
        env_name=env.name,
        interface=NativeInterface(inputs={}, outputs={}),
        is_async=True,
        cache=_disabled_cache(),
        retries=_no_retries(),
        timeout=None,
        interruptible=interruptible,
        failure_policy=failure_policy or WorkflowFailurePolicy.FAIL_IMMEDIATELY,
    )
    wf.fk_builder = GraphBuilder(wf.name)
    register_in_environment(wf)
    return wf
