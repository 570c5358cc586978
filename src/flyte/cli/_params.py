"""Click options derived from a task's typed inputs."""

from __future__ import annotations

import enum
import json
import typing
from typing import Any

import click

from flyte._interface import EMPTY, NativeInterface
from flyte.types import TypeEngine, TypeTransformerFailedError


def _check_utf8(value: str, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """Reject an argument that was not valid UTF-8 (Python keeps its bytes as surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        name = param.name if param is not None else "value"
        raise click.BadParameter(
            f"is not valid UTF-8 (byte {e.start}); pass text in UTF-8",
            ctx=ctx,
            param=param,
            param_hint=f"--{name}",
        ) from None


class Utf8String(click.ParamType):
    """A ``str`` input: any text, but valid UTF-8 (it is stored and sent as such)."""

    name = "text"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            _check_utf8(value, param, ctx)
        return value


_SCALARS: dict[Any, click.ParamType] = {int: click.INT, float: click.FLOAT, str: Utf8String()}


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) is typing.Union or type(tp).__name__ == "UnionType":
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


class JsonValue(click.ParamType):
    """A complex input given as JSON on the command line (or a plain string where that fits)."""

    def __init__(self, python_type: Any):
        self.python_type = python_type
        self.name = TypeEngine.describe(python_type)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        _check_utf8(value, param, ctx)
        try:
            obj = json.loads(value)
        except json.JSONDecodeError:
            obj = value  # a date, an enum name, a plain string inside a Union...
        except RecursionError:
            self.fail(f"expected {self.name} (as JSON): the value is nested too deeply to read", param, ctx)
        try:
            return TypeEngine.from_jsonable(obj, self.python_type)
        except (TypeTransformerFailedError, TypeError, ValueError) as e:
            self.fail(f"expected {self.name} (as JSON): {e}", param, ctx)


def option_for(name: str, python_type: Any, default: Any) -> click.Option:
    """One ``--name`` option; required when the input has no default."""
    inner, optional = _unwrap_optional(python_type)
    decls = [f"--{name}"] + ([f"--{name.replace('_', '-')}"] if "_" in name else [])
    required = default is EMPTY
    kwargs: dict[str, Any] = {
        "required": required,
        "show_default": not required,
        "help": TypeEngine.describe(python_type),  # click itself marks required options, once
    }
    if not required:
        kwargs["default"] = default.value if isinstance(default, enum.Enum) else default
    if inner is bool:
        return click.Option([f"{decls[0]}/--no-{name.replace('_', '-')}"], **kwargs)
    if inner in _SCALARS:
        kwargs["type"] = _SCALARS[inner]
    elif isinstance(inner, type) and issubclass(inner, enum.Enum):
        kwargs["type"] = click.Choice([str(m.value) for m in inner])
    else:
        kwargs["type"] = JsonValue(python_type)
        if not required and default is not None:
            kwargs["default"] = None  # keep the task's own default object; shown in help only
            kwargs["show_default"] = repr(default)
    if optional and required:
        kwargs["required"] = False
        kwargs["default"] = None
    return click.Option(decls, **kwargs)


def options_for(interface: NativeInterface) -> list[click.Option]:
    return [option_for(name, tp, default) for name, (tp, default) in interface.inputs.items()]


def values_from_cli(interface: NativeInterface, params: dict[str, Any]) -> dict[str, Any]:
    """Turn parsed CLI values into task inputs (enums and JSON-typed defaults restored)."""
    values: dict[str, Any] = {}
    for name, (tp, default) in interface.inputs.items():
        value = params.get(name)
        inner, _ = _unwrap_optional(tp)
        if value is None and default is not EMPTY:
            values[name] = default
            continue
        if isinstance(inner, type) and issubclass(inner, enum.Enum) and isinstance(value, str):
            value = next(m for m in inner if str(m.value) == value)
        values[name] = value
    return values


def parse_pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    """``KEY=VALUE`` option values as a dict (``-e``, ``--label``); a usage error names the option."""
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        pairs[key] = value
    return pairs
