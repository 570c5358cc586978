"""Python types described as JSON, for a client that does not have a deployed task's code.

``describe(tp)`` writes a type as ``{"kind": ..., "args": [...], "values": [...], "repr": ...}``;
``rebuild(spec)`` gives back a Python type that encodes and decodes the same wire values: builtin
scalars, datetimes, ``list``/``dict``/``Optional``/``Union`` of them, ``File``/``Dir``/``DataFrame``
and enums (rebuilt from their values). Records (dataclasses, pydantic models) and anything else
come back as ``Any``: their values travel as the plain mappings they encode to.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import types
import typing
from typing import Any

_SCALARS: dict[str, Any] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "bytes": bytes,
    "datetime": dt.datetime,
    "date": dt.date,
    "timedelta": dt.timedelta,
}
_BY_TYPE = {v: k for k, v in _SCALARS.items()}


def _repr(tp: Any) -> str:
    from flyte.types import TypeEngine

    try:
        return TypeEngine.describe(tp)
    except Exception:  # a type the engine cannot name: its Python spelling
        return getattr(tp, "__name__", None) or repr(tp)


def _io_kind(tp: Any) -> str | None:
    name = getattr(tp, "__name__", "")
    module = getattr(tp, "__module__", "") or ""
    if module.startswith("flyte.io") and name in ("File", "Dir", "DataFrame"):
        return name.lower()
    return None


def describe(tp: Any) -> dict[str, Any]:
    """The JSON description of ``tp`` (see the module docstring)."""
    spec: dict[str, Any] = {"kind": "other", "args": [], "values": [], "repr": _repr(tp)}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None) or tp is None:
        spec["kind"] = "none"
    elif tp in _BY_TYPE:
        spec["kind"] = _BY_TYPE[tp]
    elif origin in (list, typing.List):  # noqa: UP006 - both spellings
        spec.update(kind="list", args=[describe(args[0] if args else Any)])
    elif origin in (dict, typing.Dict):  # noqa: UP006
        spec.update(kind="dict", args=[describe(a) for a in (args or (str, Any))])
    elif origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1 and len(args) == 2:
            spec.update(kind="optional", args=[describe(members[0])])
        else:
            spec.update(kind="union", args=[describe(a) for a in args])
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        spec.update(kind="enum", values=[str(m.value) for m in tp])
    elif _io_kind(tp) is not None:
        spec["kind"] = _io_kind(tp)
    elif tp is dict:
        spec["kind"] = "dict"
    elif tp is list:
        spec["kind"] = "list"
    elif dataclasses.is_dataclass(tp):
        spec["kind"] = "record"
    return spec


def rebuild(spec: dict[str, Any]) -> Any:
    """A Python type for a description made by :func:`describe` (``Any`` for what cannot be rebuilt)."""
    kind = spec.get("kind", "other")
    args = [rebuild(a) for a in spec.get("args") or []]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "none":
        return type(None)
    if kind == "list":
        return list[args[0]] if args else list  # type: ignore[valid-type]
    if kind == "dict":
        return dict[args[0], args[1]] if len(args) == 2 else dict  # type: ignore[valid-type]
    if kind == "optional" and args:
        return typing.Optional[args[0]]  # noqa: UP045
    if kind == "union" and args:
        return typing.Union[tuple(args)]  # noqa: UP007
    if kind == "enum":
        values = spec.get("values") or []
        name = (spec.get("repr") or "DeployedEnum").split(".")[-1] or "DeployedEnum"
        return enum.Enum(name, {f"m{i}": v for i, v in enumerate(values)})  # type: ignore[misc]
    if kind in ("file", "dir", "dataframe"):
        import flyte.io

        return {"file": flyte.io.File, "dir": flyte.io.Dir, "dataframe": flyte.io.DataFrame}[kind]
    return Any
