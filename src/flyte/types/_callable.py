"""Functions and tasks passed as ``Callable`` inputs.

A function (or task) that can be imported back by name travels as ``{"ref": "module:qualname"}``,
so the receiver runs its own copy of the code; anything else (a lambda, a closure, a function
defined in ``__main__`` or inside another function) is cloudpickled by value.
"""

from __future__ import annotations

import collections.abc
import typing
from typing import Any

from flyte.types import _wire
from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, type_name


def _is_callable_type(tp: Any) -> bool:
    return tp is collections.abc.Callable or typing.get_origin(tp) is collections.abc.Callable


def _named_target(value: Any) -> Any:
    """What names the value: a task's function for a task, the value itself otherwise."""
    func = getattr(value, "func", None)
    return func if callable(func) and hasattr(value, "interface") else value


def _importable_ref(value: Any) -> str | None:
    target = _named_target(value)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    if module == "__main__" or "<" in qualname:  # <lambda>, <locals>: not reachable by name
        return None
    ref = f"{module}:{qualname}"
    try:
        found = _wire.resolve_class(ref)
    except TypeTransformerFailedError:
        return None
    return ref if found is value else None


class CallableConverter(BaseConverter):
    """``Callable`` and ``Callable[[...], R]`` annotations."""

    def handles(self, python_type: Any) -> bool:
        return _is_callable_type(python_type)

    def build(self, python_type: Any) -> Plan:
        name = type_name(python_type)

        def enc(value: Any) -> dict[str, Any]:
            if not callable(value):
                raise mismatch(name, value)
            ref = _importable_ref(value)
            if ref is not None:
                return {"ref": ref}
            import cloudpickle

            try:
                return {"pickle": cloudpickle.dumps(value)}
            except Exception as exc:
                detail = f"it is not importable by name and cannot be cloudpickled ({exc})"
                raise TypeTransformerFailedError(name, type_label(value), "", value, detail=detail) from exc

        def dec(wire: Any) -> Any:
            if type(wire) is dict and type(wire.get("ref")) is str:
                return _wire.resolve_class(wire["ref"])
            if type(wire) is dict and type(wire.get("pickle")) is bytes:
                import cloudpickle

                return cloudpickle.loads(wire["pickle"])
            raise mismatch(name, wire, "the stored value is not a function reference")

        def from_json(obj: Any) -> Any:
            if callable(obj):
                return obj
            if isinstance(obj, str) and ":" in obj:  # "package.module:function" on the CLI
                found = _wire.resolve_class(obj)
                if callable(found):
                    return found
            raise mismatch(name, obj, "give a function as 'module:qualname'")

        return Plan(python_type, name, enc, dec, from_json)
