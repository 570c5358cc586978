"""The typed signature of a task: named inputs with defaults, and outputs named o0, o1, ..."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flyte.errors import RuntimeDataValidationError

EMPTY = inspect.Parameter.empty


def _is_multi_output(annotation: Any) -> bool:
    """``-> tuple[int, str]`` declares two outputs; ``-> tuple[int, ...]`` is one output."""
    if typing.get_origin(annotation) is not tuple:
        return False
    args = typing.get_args(annotation)
    return bool(args) and args[-1] is not Ellipsis


@dataclass(frozen=True)
class NativeInterface:
    """Input names -> (type, default or EMPTY); output names -> type."""

    inputs: dict[str, tuple[Any, Any]]
    outputs: dict[str, Any]

    @classmethod
    def from_callable(cls, func: Callable[..., Any]) -> NativeInterface:
        sig = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func)
        except Exception as e:  # an unresolvable forward reference: fall back to raw annotations
            raise TypeError(f"Task '{func.__qualname__}': cannot resolve its type annotations: {e}") from e
        inputs: dict[str, tuple[Any, Any]] = {}
        for name, param in sig.parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(
                    f"Task '{func.__qualname__}': *args/**kwargs are not supported (parameter '{name}'); "
                    "declare each input with a name and a type"
                )
            inputs[name] = (hints.get(name, Any), param.default)
        ret = hints.get("return", sig.return_annotation)
        if ret is EMPTY or ret is None or ret is type(None):
            outputs: dict[str, Any] = {}
        elif _is_multi_output(ret):
            outputs = {f"o{i}": t for i, t in enumerate(typing.get_args(ret))}
        else:
            outputs = {"o0": ret}
        return cls(inputs=inputs, outputs=outputs)

    @cached_property
    def input_types(self) -> dict[str, Any]:
        return {k: v[0] for k, v in self.inputs.items()}

    def required_inputs(self) -> list[str]:
        return [k for k, (_, default) in self.inputs.items() if default is EMPTY]

    def bind(self, task_name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Map a call's arguments to input names, applying defaults; errors name the task and parameter."""
        names = list(self.inputs)
        if len(args) > len(names):
            raise TypeError(
                f"Task '{task_name}' takes {len(names)} input(s) ({', '.join(names) or 'none'}) "
                f"but {len(args)} positional argument(s) were given"
            )
        bound = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.inputs:
                raise TypeError(
                    f"Task '{task_name}' got an unexpected input '{key}'; its inputs are: "
                    f"{', '.join(names) or 'none'}"
                )
            if key in bound:
                raise TypeError(f"Task '{task_name}' got multiple values for input '{key}'")
            bound[key] = value
        for name, (_, default) in self.inputs.items():
            if name not in bound:
                if default is EMPTY:
                    raise RuntimeDataValidationError(name, "missing required input", task_name)
                bound[name] = default
        return bound

    def outputs_as_dict(self, value: Any, task_name: str) -> dict[str, Any]:
        """Split a function's return value into named outputs."""
        n = len(self.outputs)
        if n == 0:
            return {}
        if n == 1:
            return {"o0": value}
        if not isinstance(value, tuple) or len(value) != n:
            raise RuntimeDataValidationError(
                "return", f"expected a tuple of {n} values, got {type(value).__name__}", task_name
            )
        return dict(zip(self.outputs, value, strict=True))

    def outputs_as_value(self, outputs: dict[str, Any]) -> Any:
        """The inverse of :meth:`outputs_as_dict`: what the caller of the task receives."""
        n = len(self.outputs)
        if n == 0:
            return None
        if n == 1:
            return outputs["o0"]
        return tuple(outputs[k] for k in self.outputs)

    def __repr__(self) -> str:
        ins = ", ".join(
            f"{k}: {getattr(t, '__name__', t)}" + ("" if d is EMPTY else f" = {d!r}")
            for k, (t, d) in self.inputs.items()
        )
        outs = ", ".join(f"{k}: {getattr(t, '__name__', t)}" for k, t in self.outputs.items())
        return f"({ins}) -> ({outs})"
