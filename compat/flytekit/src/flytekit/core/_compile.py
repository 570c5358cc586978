"""The graph being defined right now: ``@workflow`` bodies and ``@dynamic`` bodies run under a builder.

While a builder is active, calling a task (or workflow, map task, launch plan) records a node and
returns promises instead of running anything. The builder lives in a contextvar, so two threads
(or a dynamic task running inside a test that also defines workflows) never see each other's graph.
Conditional sections nest: while a section has an open case, new nodes belong to that case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flytekit.core.condition import ConditionalSection
    from flytekit.core.node import Node


class GraphBuilder:
    """Collects the nodes of one workflow (or one dynamic task's run-time graph)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[Node] = []
        self.sections: list[ConditionalSection] = []
        self._count = 0

    def next_id(self) -> str:
        """Node ids as flytekit gives them: n0, n1, ... in the order the calls were made."""
        node_id = f"n{self._count}"
        self._count += 1
        return node_id

    def add(self, node: Node) -> None:
        """Attach ``node`` to the innermost open conditional case, or to the graph itself."""
        for section in reversed(self.sections):
            case = section.open_case
            if case is not None:
                case.nodes.append(node)
                return
        self.nodes.append(node)


_builder: ContextVar[GraphBuilder | None] = ContextVar("flytekit_graph_builder", default=None)


def current_builder() -> GraphBuilder | None:
    """The builder of the graph being defined, or None when code runs for real."""
    return _builder.get()


@contextmanager
def compiling(builder: GraphBuilder) -> Iterator[GraphBuilder]:
    """Make ``builder`` receive the nodes created inside the block."""
    token = _builder.set(builder)
    try:
        yield builder
    finally:
        _builder.reset(token)


def outside_graph() -> Any:
    """A token-like context that suspends graph building (used while a nested definition runs)."""
    return compiling_none()


@contextmanager
def compiling_none() -> Iterator[None]:
    token = _builder.set(None)
    try:
        yield None
    finally:
        _builder.reset(token)
