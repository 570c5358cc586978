"""Definition-time type checks of workflow bindings, as flytekit does them when a workflow compiles.

The check is deliberately structural and forgiving where flytekit's own rules need its literal
type system: a promise of type ``S`` may feed an input of type ``T`` when ``S`` is ``T`` (after
unwrapping ``Annotated``), a subclass of it, one member of a ``T`` union, or either is ``Any`` or
unknown; containers are checked element-wise. Builtin scalars are strict (an ``int`` promise does
not feed a ``str`` input), which is the mistake a user actually makes. Constants are checked with
``isinstance`` for the same builtin types; everything else is left to the type engine at run time.
"""

from __future__ import annotations

import typing
from types import NoneType, UnionType
from typing import Any

_SCALARS = (int, float, str, bool, bytes)


def _strip(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, UnionType)


def _label(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def compatible(src: Any, dst: Any) -> bool:
    """Whether a value of type ``src`` may be bound to an input of type ``dst``."""
    src, dst = _strip(src), _strip(dst)
    if src is None or dst is None or src is Any or dst is Any or dst is object or src == dst:
        return True
    if _is_union(dst):
        return any(compatible(src, arg) for arg in typing.get_args(dst))
    if _is_union(src):
        return all(compatible(arg, dst) for arg in typing.get_args(src))
    s_origin, d_origin = typing.get_origin(src), typing.get_origin(dst)
    if s_origin is not None or d_origin is not None:
        if (s_origin or src) is not (d_origin or dst):
            s_cls, d_cls = s_origin or src, d_origin or dst
            if isinstance(s_cls, type) and isinstance(d_cls, type) and issubclass(s_cls, d_cls):
                return True
            return not (s_cls in _SCALARS_AND_CONTAINERS and d_cls in _SCALARS_AND_CONTAINERS)
        s_args, d_args = typing.get_args(src), typing.get_args(dst)
        if not s_args or not d_args or len(s_args) != len(d_args):
            return True
        return all(compatible(a, b) for a, b in zip(s_args, d_args, strict=True))
    if isinstance(src, type) and isinstance(dst, type):
        if issubclass(src, dst):
            return not (src is bool and dst is int)
        if src in _SCALARS_AND_CONTAINERS and dst in _SCALARS_AND_CONTAINERS:
            return False
        if issubclass(dst, src):  # FlyteFile vs FlyteFile["csv"], a base class and its subclass
            return True
        return not (src in _SCALARS or dst in _SCALARS)
    return True


_SCALARS_AND_CONTAINERS = (*_SCALARS, list, dict, tuple, set, NoneType)


def _constant_ok(value: Any, tp: Any) -> bool:
    tp = _strip(tp)
    if tp is Any or tp is object or tp is None:
        return True
    if _is_union(tp):
        return any(_constant_ok(value, arg) for arg in typing.get_args(tp))
    origin = typing.get_origin(tp) or tp
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (str, bool, bytes):
        return isinstance(value, origin)
    if origin is NoneType:
        return value is None
    if origin in (list, dict):
        return isinstance(value, origin)
    return True


def check_binding(entity: str, name: str, expected: Any, value: Any) -> None:
    """Raise TypeError when ``value`` (a promise, a constant or a container of them) cannot feed
    input ``name`` of ``entity``, naming both types as flytekit's compile error does."""
    from flytekit.core.promise import Promise

    if isinstance(value, Promise):
        if not compatible(value.type, expected):
            raise TypeError(
                f"Failed to bind input '{name}' of '{entity}': it expects {_label(expected)} but "
                f"{value!r} is {_label(value.type)}"
            )
        return
    stripped = _strip(expected)
    args = typing.get_args(stripped)
    origin = typing.get_origin(stripped)
    if isinstance(value, list) and origin is list and args:
        for i, item in enumerate(value):
            check_binding(entity, f"{name}[{i}]", args[0], item)
        return
    if isinstance(value, dict) and origin is dict and len(args) == 2:
        for key, item in value.items():
            check_binding(entity, f"{name}[{key!r}]", args[1], item)
        return
    if not _constant_ok(value, expected):
        raise TypeError(
            f"Failed to bind input '{name}' of '{entity}': it expects {_label(expected)}, got "
            f"{type(value).__name__} {value!r}"
        )
