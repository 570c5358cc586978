"""The typed signature of a task: named inputs with defaults, and outputs named o0, o1, ..."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from flyte.errors import RuntimeDataValidationError

EMPTY = inspect.Parameter.empty


class _has_default:  # noqa: N801 - the reference's name for this marker
    """Marker default: the input has a default whose value is not known here (e.g. a remote task)."""


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
    docstring: Any = None
    _remote_defaults: dict[str, Any] | None = field(default=None, repr=False)

    has_default: ClassVar[type[_has_default]] = _has_default
    """Use as an input's default to say "has a default, value unknown" (see :meth:`from_types`)."""

    @classmethod
    def from_types(
        cls,
        inputs: dict[str, tuple[Any, Any]],
        outputs: dict[str, Any],
        default_inputs: dict[str, Any] | None = None,
    ) -> NativeInterface:
        """An interface from explicit types: ``inputs`` maps names to ``(type, default)``, where the
        default is ``inspect.Parameter.empty`` (required), a value, or :attr:`has_default` (its value
        is in ``default_inputs``)."""
        for name, (_, default) in inputs.items():
            if default is cls.has_default and (default_inputs is None or name not in default_inputs):
                raise ValueError(
                    f"NativeInterface.from_types: input '{name}' is marked has_default but default_inputs "
                    "holds no value for it"
                )
        return cls(inputs=dict(inputs), outputs=dict(outputs), _remote_defaults=default_inputs)

    @classmethod
    def from_callable(cls, func: Callable[..., Any]) -> NativeInterface:
        sig = inspect.signature(func)
        try:
            hints = typing.get_type_hints(func, include_extras=True)  # Annotated[T, transformer] kept
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

    def get_input_types(self) -> dict[str, Any]:
        """Input names -> types."""
        return dict(self.input_types)

    def has_outputs(self) -> bool:
        """Whether the task returns anything."""
        return bool(self.outputs)

    def required_inputs(self) -> list[str]:
        return [k for k, (_, default) in self.inputs.items() if default is EMPTY]

    def num_required_inputs(self) -> int:
        """How many inputs have no default."""
        return len(self.required_inputs())

    def convert_to_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Name positional arguments after the inputs, in order, and merge them with ``kwargs``
        (no defaults are applied; see :meth:`bind` for a full, checked binding)."""
        names = list(self.inputs)
        if len(args) > len(names):
            raise ValueError(
                f"Too many positional arguments: {len(args)} given, "
                f"the inputs are {', '.join(names) or 'none'}"
            )
        merged = dict(kwargs)
        merged.update(zip(names, args, strict=False))
        if len(merged) > len(names):
            unknown = sorted(set(merged) - set(names))
            raise ValueError(
                f"Unknown input(s) {', '.join(unknown)}; the inputs are {', '.join(names) or 'none'}"
            )
        return merged

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
            return {next(iter(self.outputs)): value}  # "o0" unless the task named its output
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
            return outputs[next(iter(self.outputs))]
        return tuple(outputs[k] for k in self.outputs)

    def __repr__(self) -> str:
        ins = ", ".join(
            f"{k}: {getattr(t, '__name__', t)}" + ("" if d is EMPTY else f" = {d!r}")
            for k, (t, d) in self.inputs.items()
        )
        outs = ", ".join(f"{k}: {getattr(t, '__name__', t)}" for k, t in self.outputs.items())
        return f"({ins}) -> ({outs})"
