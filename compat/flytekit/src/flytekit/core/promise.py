"""Promises: placeholders for values that exist only once a workflow runs.

A task called while a workflow is being defined returns promises: one per output (``o0``,
``o1``, ... or the fields of a ``NamedTuple``). They can be passed to other calls, indexed or
read by attribute (``p.field``, ``p["key"]``, ``p[0]``), ordered with ``>>``, compared inside
``conditional(...).if_(...)`` and returned from the workflow. They have no value at definition
time, so using one as a Python value (``if p:``, ``for x in p``) raises flytekit's error.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flytekit.core.node import Node

NOT_A_VALUE = (
    "Flytekit does not support Unary expressions or performing truth value testing on a Promise: "
    "its value exists only when the workflow runs. Use conditional(...) to branch on it, "
    "& and | (bitwise) instead of 'and'/'or', or a @dynamic workflow to use it as a Python value"
)


class ComparisonOps(enum.Enum):
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class ConjunctionOps(enum.Enum):
    AND = "and"
    OR = "or"


_COMPARE: dict[ComparisonOps, Callable[[Any, Any], bool]] = {
    ComparisonOps.EQ: lambda a, b: a == b,
    ComparisonOps.NE: lambda a, b: a != b,
    ComparisonOps.GT: lambda a, b: a > b,
    ComparisonOps.GE: lambda a, b: a >= b,
    ComparisonOps.LT: lambda a, b: a < b,
    ComparisonOps.LE: lambda a, b: a <= b,
}

Resolver = Callable[["Promise"], Any]


class _Expression:
    """Shared by comparisons and conjunctions: combine with & and |, never used as a bool."""

    def __and__(self, other: Any) -> ConjunctionExpression:
        return ConjunctionExpression(self, ConjunctionOps.AND, _as_expression(other))

    def __or__(self, other: Any) -> ConjunctionExpression:
        return ConjunctionExpression(self, ConjunctionOps.OR, _as_expression(other))

    def __bool__(self) -> bool:
        raise ValueError(NOT_A_VALUE)

    def promises(self) -> list[Promise]:
        raise NotImplementedError

    def eval(self, resolve: Resolver) -> bool:
        raise NotImplementedError


class ComparisonExpression(_Expression):
    """``lhs <op> rhs`` where either side is a promise or a constant."""

    def __init__(self, lhs: Any, op: ComparisonOps, rhs: Any) -> None:
        self.lhs = lhs
        self.op = op
        self.rhs = rhs

    def promises(self) -> list[Promise]:
        return [x for x in (self.lhs, self.rhs) if isinstance(x, Promise)]

    def eval(self, resolve: Resolver) -> bool:
        lhs = resolve(self.lhs) if isinstance(self.lhs, Promise) else self.lhs
        rhs = resolve(self.rhs) if isinstance(self.rhs, Promise) else self.rhs
        return bool(_COMPARE[self.op](lhs, rhs))

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.op.value} {self.rhs!r})"


class ConjunctionExpression(_Expression):
    """``lhs & rhs`` or ``lhs | rhs`` over expressions."""

    def __init__(self, lhs: _Expression, op: ConjunctionOps, rhs: _Expression) -> None:
        self.lhs = lhs
        self.op = op
        self.rhs = rhs

    def promises(self) -> list[Promise]:
        return [*self.lhs.promises(), *self.rhs.promises()]

    def eval(self, resolve: Resolver) -> bool:
        if self.op is ConjunctionOps.AND:
            return self.lhs.eval(resolve) and self.rhs.eval(resolve)
        return self.lhs.eval(resolve) or self.rhs.eval(resolve)

    def __repr__(self) -> str:
        return f"({self.lhs!r} {self.op.value} {self.rhs!r})"


def _as_expression(value: Any) -> _Expression:
    if isinstance(value, _Expression):
        return value
    if isinstance(value, Promise):
        return value.is_true()
    raise TypeError(
        f"conditions combine comparisons of promises (e.g. (x > 1) & (x < 10)), got {type(value).__name__}"
    )


def as_condition(value: Any) -> _Expression:
    """What ``if_`` accepts: a comparison, a conjunction, or a boolean promise."""
    return _as_expression(value)


class Promise:
    """The future value of one output of a node (or of a workflow input when ``node`` is None)."""

    __slots__ = ("node", "var", "path", "type")

    def __init__(self, node: Node | None, var: str, python_type: Any = None, path: tuple[Any, ...] = ()):
        self.node = node
        self.var = var
        self.path = path
        """Attribute/key accesses applied to the output, as (kind, key) pairs: kind is 'attr' or 'item'."""
        self.type = python_type
        """The Python type of the value when known (None: unknown, not checked)."""

    # -- identity: comparisons build expressions, so hashing stays by identity -----------------
    __hash__ = object.__hash__

    @property
    def ref(self) -> str:
        """``node_id.var`` as flytekit prints node outputs (workflow inputs are on ``start-node``)."""
        return f"{self.node.id if self.node else 'start-node'}.{self.var}"

    def __repr__(self) -> str:
        suffix = "".join(f".{k}" if kind == "attr" else f"[{k!r}]" for kind, k in self.path)
        return f"Promise({self.ref}{suffix})"

    # -- conditions ---------------------------------------------------------------------------
    def __eq__(self, other: Any) -> ComparisonExpression:  # type: ignore[override]
        return ComparisonExpression(self, ComparisonOps.EQ, other)

    def __ne__(self, other: Any) -> ComparisonExpression:  # type: ignore[override]
        return ComparisonExpression(self, ComparisonOps.NE, other)

    def __gt__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.GT, other)

    def __ge__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.GE, other)

    def __lt__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.LT, other)

    def __le__(self, other: Any) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.LE, other)

    def is_true(self) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.EQ, True)

    def is_false(self) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.EQ, False)

    def is_none(self) -> ComparisonExpression:
        return ComparisonExpression(self, ComparisonOps.EQ, None)

    def __and__(self, other: Any) -> ConjunctionExpression:
        return self.is_true() & other

    def __or__(self, other: Any) -> ConjunctionExpression:
        return self.is_true() | other

    # -- not values ---------------------------------------------------------------------------
    def __bool__(self) -> bool:
        raise ValueError(NOT_A_VALUE)

    def __iter__(self) -> Any:
        raise ValueError(f"Promise {self!r} cannot be iterated while the workflow is defined. {NOT_A_VALUE}")

    def __len__(self) -> int:
        raise ValueError(f"Promise {self!r} has no length while the workflow is defined. {NOT_A_VALUE}")

    # -- access to parts of the value ---------------------------------------------------------
    def __getattr__(self, name: str) -> Promise:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return Promise(self.node, self.var, _attr_type(self.type, name), (*self.path, ("attr", name)))

    def __getitem__(self, key: Any) -> Promise:
        return Promise(self.node, self.var, _item_type(self.type, key), (*self.path, ("item", key)))

    # -- ordering and node settings -----------------------------------------------------------
    def __rshift__(self, other: Any) -> Any:
        from flytekit.core.node import node_of

        node_of(other).runs_after(node_of(self))
        return other

    def runs_before(self, other: Any) -> None:
        self >> other

    def with_overrides(self, **overrides: Any) -> Promise:
        """Change how this node runs (requests, limits, retries, timeout, cache, name, ...)."""
        if self.node is None:
            raise ValueError("with_overrides() applies to a task's output, not to a workflow input")
        self.node.with_overrides(**overrides)
        return self

    def with_var(self, var: str) -> Promise:
        return Promise(self.node, var, None, ())


class VoidPromise:
    """What calling an entity with no outputs returns inside a workflow: only good for ``>>``."""

    __slots__ = ("node",)

    def __init__(self, node: Node) -> None:
        self.node = node

    def __rshift__(self, other: Any) -> Any:
        from flytekit.core.node import node_of

        node_of(other).runs_after(self.node)
        return other

    def runs_before(self, other: Any) -> None:
        self >> other

    def with_overrides(self, **overrides: Any) -> VoidPromise:
        self.node.with_overrides(**overrides)
        return self

    def __bool__(self) -> bool:
        raise ValueError(f"{self!r} is the result of a call with no outputs; it has no value")

    def __repr__(self) -> str:
        return f"VoidPromise({self.node.id})"


# -- types of parts of a value --------------------------------------------------------------------


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _attr_type(tp: Any, name: str) -> Any:
    tp = _strip(tp)
    if tp is None or not isinstance(tp, type):
        return None
    try:
        hints = typing.get_type_hints(tp)
    except Exception:
        return None
    if dataclasses.is_dataclass(tp) or hasattr(tp, "model_fields") or hasattr(tp, "_fields"):
        return hints.get(name)
    return None


def _item_type(tp: Any, key: Any) -> Any:
    tp = _strip(tp)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, typing.List) and args:  # noqa: UP006
        return args[0]
    if origin in (dict, typing.Dict) and len(args) == 2:  # noqa: UP006
        return args[1]
    if origin is tuple and args and isinstance(key, int) and args[-1] is not Ellipsis and key < len(args):
        return args[key]
    return None


def resolve_path(value: Any, path: tuple[Any, ...]) -> Any:
    """Apply a promise's attribute/key accesses to the real value."""
    for kind, key in path:
        if kind == "attr":
            value = value[key] if isinstance(value, dict) else getattr(value, key)
        else:
            value = value[key]
    return value
