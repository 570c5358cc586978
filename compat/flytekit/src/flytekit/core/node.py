"""Nodes of a workflow graph, and how a call made while defining a workflow becomes one.

A node is one call of an entity (task, workflow, map task, launch plan, or a conditional's
branch) with its input bindings: constants, promises of earlier nodes, or lists/dicts of those.
Bindings are checked against the entity's input types when the node is created, which is when
flytekit reports a wrong workflow too.
"""

from __future__ import annotations

import typing
from typing import Any

from flytekit.core._compile import GraphBuilder
from flytekit.core.promise import Promise, VoidPromise
from flytekit.core.types_check import check_binding


class Node:
    """One call in a graph: ``entity(**bindings)``, run after ``upstream`` and its inputs' nodes."""

    def __init__(self, node_id: str, entity: Any, bindings: dict[str, Any]) -> None:
        self.id = node_id
        self.entity = entity
        self.bindings = bindings
        self.upstream: list[Node] = []
        self.overrides: dict[str, Any] = {}
        self.outputs: dict[str, Promise] = {
            name: Promise(self, name, tp) for name, tp in entity.fk_outputs.items()
        }

    def __repr__(self) -> str:
        return f"Node({self.id}: {getattr(self.entity, 'fk_name', self.entity)!r})"

    def __getattr__(self, name: str) -> Promise:
        outputs = self.__dict__.get("outputs", {})
        if name in outputs:
            return outputs[name]
        raise AttributeError(f"node {self.__dict__.get('id', '?')} has no output or attribute {name!r}")

    def runs_after(self, other: Node) -> None:
        if other is not self and other not in self.upstream:
            self.upstream.append(other)

    def __rshift__(self, other: Any) -> Any:
        node_of(other).runs_after(self)
        return other

    def runs_before(self, other: Any) -> None:
        self >> other

    def with_overrides(self, **overrides: Any) -> Node:
        """Settings for this call only (``requests``, ``limits``, ``retries``, ``timeout``, ...)."""
        self.overrides.update(overrides)
        return self

    def dependencies(self) -> list[Node]:
        """Every node this one waits for: explicit ``>>`` edges and the nodes its inputs come from."""
        found: list[Node] = list(self.upstream)
        for promise in promises_in(self.bindings):
            if promise.node is not None and promise.node not in found:
                found.append(promise.node)
        extra = getattr(self.entity, "fk_dependencies", None)
        if extra is not None:
            for node in extra():
                if node not in found:
                    found.append(node)
        return found


def node_of(value: Any) -> Node:
    """The node behind a promise, a void promise, a tuple of promises or a node."""
    if isinstance(value, Node):
        return value
    if isinstance(value, (Promise, VoidPromise)) and value.node is not None:
        return value.node
    if isinstance(value, tuple) and value:
        return node_of(value[0])
    raise TypeError(f">> orders calls made in a workflow; {value!r} is not the result of a call")


def promises_in(value: Any) -> list[Promise]:
    """All promises inside a binding (constants, lists, tuples and dicts are searched)."""
    if isinstance(value, Promise):
        return [value]
    if isinstance(value, dict):
        return [p for v in value.values() for p in promises_in(v)]
    if isinstance(value, (list, tuple)):
        return [p for v in value for p in promises_in(v)]
    return []


def bind(entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Name the call's arguments after the entity's inputs and check their types."""
    names = list(entity.fk_inputs)
    if len(args) > len(names):
        raise TypeError(
            f"'{entity.fk_name}' takes {len(names)} input(s) ({', '.join(names) or 'none'}) "
            f"but {len(args)} positional argument(s) were given"
        )
    bound = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in entity.fk_inputs:
            raise TypeError(
                f"'{entity.fk_name}' got an unexpected input '{key}'; "
                f"its inputs are: {', '.join(names) or 'none'}"
            )
        if key in bound:
            raise TypeError(f"'{entity.fk_name}' got multiple values for input '{key}'")
        bound[key] = value
    missing = [n for n, (_, default) in entity.fk_inputs.items() if n not in bound and default is _EMPTY]
    if missing:
        raise TypeError(f"'{entity.fk_name}' is missing required input(s): {', '.join(missing)}")
    for key, value in bound.items():
        if isinstance(value, VoidPromise):
            raise TypeError(
                f"'{entity.fk_name}', input '{key}': {value!r} comes from a call with no outputs; "
                "order such calls with >> instead"
            )
        check_binding(entity.fk_name, key, entity.fk_inputs[key][0], value)
    return bound


def _empty() -> Any:
    import inspect

    return inspect.Parameter.empty


_EMPTY = _empty()


def add_call(builder: GraphBuilder, entity: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Record ``entity(*args, **kwargs)`` as a node and return what flytekit returns for it."""
    node = Node(builder.next_id(), entity, bind(entity, args, kwargs))
    builder.add(node)
    return call_result(node)


def call_result(node: Node) -> Any:
    """No outputs: a VoidPromise; one: its Promise; several: a tuple (a NamedTuple when declared)."""
    promises = list(node.outputs.values())
    tuple_type = getattr(node.entity, "fk_output_tuple", None)
    if tuple_type is not None:
        return tuple_type(*promises)
    if not promises:
        return VoidPromise(node)
    if len(promises) == 1:
        return promises[0]
    return tuple(promises)


def create_node(entity: Any, *args: Any, **kwargs: Any) -> Node:
    """flytekit's ``create_node``: call ``entity`` in the workflow being defined and return the node."""
    from flytekit.core._compile import current_builder

    builder = current_builder()
    if builder is None:
        raise RuntimeError("create_node() can only be used while a workflow is being defined")
    node = Node(builder.next_id(), entity, bind(entity, args, kwargs))
    builder.add(node)
    return node


def is_named_tuple(tp: Any) -> bool:
    return (
        isinstance(tp, type)
        and issubclass(tp, tuple)
        and hasattr(tp, "_fields")
        and bool(getattr(tp, "__annotations__", None))
    )


def outputs_of_return(annotation: Any) -> tuple[dict[str, Any], Any]:
    """Output names and types for a return annotation, as flytekit names them, and the
    NamedTuple class when the outputs are named by one."""
    if annotation is None or annotation is type(None) or annotation is _EMPTY:
        return {}, None
    if is_named_tuple(annotation):
        return dict(typing.get_type_hints(annotation)), annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is tuple and args and args[-1] is not Ellipsis:
        return {f"o{i}": t for i, t in enumerate(args)}, None
    return {"o0": annotation}, None
