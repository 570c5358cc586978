"""Enum members: sent as their value, rebuilt as the member of the declared class."""

from __future__ import annotations

import enum
from typing import Any

from flyte.types._errors import mismatch
from flyte.types._registry import BaseConverter, Plan


def _choices(cls: type[enum.Enum]) -> str:
    shown = ", ".join(repr(m.value) for m in list(cls)[:10])
    return f"one of {shown}{', ...' if len(cls) > 10 else ''}"


class EnumConverter(BaseConverter):
    """Any ``enum.Enum`` subclass (IntEnum, StrEnum and Flag included).

    Members and members' values are accepted when encoding (``"red"`` for ``Color.RED``; the
    task receives the member). From JSON (the CLI) a member's value, its name, or the text of
    its value (``"2"`` for a member whose value is 2) are accepted.
    """

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, enum.Enum)

    def build(self, python_type: Any) -> Plan:
        cls: type[enum.Enum] = python_type
        name = cls.__name__

        def enc(value: Any) -> Any:
            if isinstance(value, cls):
                return value.value
            if not isinstance(value, enum.Enum):  # a member's value stands for it, as in the reference
                try:
                    return cls(value).value
                except (ValueError, TypeError):
                    pass
            raise mismatch(name, value, _choices(cls))

        def dec(wire: Any) -> enum.Enum:
            try:
                return cls(wire)
            except ValueError:
                raise mismatch(name, wire, f"not a value of {name}") from None

        def from_json(obj: Any) -> enum.Enum:
            if isinstance(obj, cls):
                return obj
            try:
                return cls(obj)
            except (ValueError, TypeError):
                pass
            if isinstance(obj, str):
                if obj in cls.__members__:
                    return cls.__members__[obj]
                for member in cls:
                    if str(member.value) == obj:
                        return member
            raise mismatch(name, obj, _choices(cls))

        return Plan(cls, name, enc, dec, from_json, hashable_wire=True, by_ref=True, runtime=cls)
