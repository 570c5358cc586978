"""Scalars (int, float, str, bool, bytes, None), typing.Any, Literal and Optional/Union.

Scalars are what msgpack packs natively, so their wire form is the value itself; plans mark
them ``exact`` so containers can validate a whole list with one ``set(map(type, v))``.
``bool`` is *not* accepted for ``int`` or ``float`` (it is an int in Python, but passing True
for a count is almost always a mistake); checking costs nothing since the fast path compares
exact types anyway.
"""

from __future__ import annotations

import enum
import operator
import typing
from collections.abc import Callable
from types import NoneType
from typing import Any

from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, plan_for, type_name
from flyte.types._wire import UnionTag, union_tag


def _identity(value: Any) -> Any:
    return value


class AnyConverter(BaseConverter):
    """``typing.Any`` (and a missing annotation): anything goes, untyped values describe themselves."""

    def handles(self, python_type: Any) -> bool:
        return python_type is Any

    def build(self, python_type: Any) -> Plan:
        return Plan(python_type, "Any", _identity, _identity, _identity, dec_identity=True, accepts_any=True)


class NoneConverter(BaseConverter):
    """``None`` as a type: only the value None."""

    def handles(self, python_type: Any) -> bool:
        return python_type is NoneType

    def build(self, python_type: Any) -> Plan:
        def enc(value: Any) -> None:
            if value is not None:
                raise mismatch("None", value)

        return Plan(
            python_type,
            "None",
            enc,
            _identity,
            enc,
            exact=frozenset({NoneType}),
            dec_identity=True,
            hashable_wire=True,
            runtime=NoneType,
        )


# --- scalars -----------------------------------------------------------------------------------


def _coerce_int(value: Any) -> int:
    if isinstance(value, bool):
        raise mismatch("int", value)
    try:
        return operator.index(value)  # int subclasses, numpy integers
    except TypeError:
        raise mismatch("int", value) from None


def _coerce_float(value: Any) -> float:
    if isinstance(value, float):
        return float(value)  # float subclasses such as numpy.float64
    if not isinstance(value, bool):
        try:
            return float(operator.index(value))
        except (TypeError, OverflowError):
            pass
    raise mismatch("float", value)


def _coerce_str(value: Any) -> str:
    if isinstance(value, str):
        return str.__str__(value)  # a plain str even for str subclasses and str-valued enums
    raise mismatch("str", value)


def _coerce_bool(value: Any) -> bool:
    raise mismatch("bool", value)


def _coerce_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise mismatch("bytes", value)


def _json_int(obj: Any) -> int:
    if type(obj) is int:
        return obj
    if type(obj) is float and obj.is_integer():
        return int(obj)
    if type(obj) is str:
        try:
            return int(obj.strip())
        except ValueError:
            pass
    raise mismatch("int", obj)


def _json_float(obj: Any) -> float:
    if type(obj) in (int, float):
        return float(obj)
    if type(obj) is str:
        try:
            return float(obj.strip())
        except ValueError:
            pass
    raise mismatch("float", obj)


def _json_str(obj: Any) -> str:
    if type(obj) is str:
        return obj
    raise mismatch("str", obj)


_TRUE = frozenset({"true", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})


def _json_bool(obj: Any) -> bool:
    if type(obj) is bool:
        return obj
    if type(obj) is int and obj in (0, 1):
        return bool(obj)
    if type(obj) is str and obj.strip().lower() in _TRUE | _FALSE:
        return obj.strip().lower() in _TRUE
    raise mismatch("bool", obj)


def _json_bytes(obj: Any) -> bytes:
    if type(obj) is bytes:
        return obj
    if type(obj) is str:
        if obj.startswith("b64:"):  # the form to_jsonable shows
            import base64
            import binascii

            try:
                return base64.b64decode(obj[4:], validate=True)
            except binascii.Error:
                raise mismatch("bytes", obj, "invalid base64 after 'b64:'") from None
        return obj.encode("utf-8")
    raise mismatch("bytes", obj)


# type -> (exact types passed through unchanged, coercion for other values, from-JSON)
_SCALARS: dict[type, tuple[frozenset[type], Callable[[Any], Any], Callable[[Any], Any]]] = {
    int: (frozenset({int}), _coerce_int, _json_int),
    float: (frozenset({float}), _coerce_float, _json_float),
    str: (frozenset({str}), _coerce_str, _json_str),
    bool: (frozenset({bool}), _coerce_bool, _json_bool),
    bytes: (frozenset({bytes, bytearray, memoryview}), _coerce_bytes, _json_bytes),
}


class ScalarConverter(BaseConverter):
    """int, float, str, bool and bytes; the wire form is the value itself."""

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and python_type in _SCALARS

    def build(self, python_type: Any) -> Plan:
        exact, coerce, from_json = _SCALARS[python_type]

        def enc(value: Any) -> Any:
            return value if type(value) in exact else coerce(value)

        return Plan(
            python_type,
            python_type.__name__,
            enc,
            _identity,
            from_json,
            exact=exact,
            dec_identity=True,
            hashable_wire=True,
            runtime=python_type,
        )


class LiteralConverter(BaseConverter):
    """``Literal["a", "b", 3]``: one of the listed values, of the same type. With members of several
    types (``Literal[Color.RED, "medium", 3]``), a value of one of those types is accepted even when
    not listed, as the reference accepts it."""

    def handles(self, python_type: Any) -> bool:
        return typing.get_origin(python_type) is typing.Literal

    def build(self, python_type: Any) -> Plan:
        allowed = typing.get_args(python_type)
        name = type_name(python_type)
        member_types = {type(option) for option in allowed}
        mixed = len(member_types) > 1

        def enc(value: Any) -> Any:
            for option in allowed:
                if type(option) is type(value) and option == value:
                    return value
            # a str-valued enum member (or another str subclass) equal to a listed string
            plain = getattr(value, "value", value) if isinstance(value, enum.Enum) else value
            for option in allowed:
                if type(option) is str and isinstance(plain, str) and option == plain:
                    return option
            if mixed and type(value) in member_types:
                # the reference runs programs passing, for Literal[Color.RED, "medium", 3], another
                # Color member: with members of several types only the type is checked
                return value
            raise mismatch(name, value, f"one of {', '.join(map(repr, allowed))}")

        def from_json(obj: Any) -> Any:
            for option in allowed:
                if (type(option) is type(obj) and option == obj) or (
                    type(obj) is str and str(getattr(option, "value", option)) == obj
                ):
                    return option
            raise mismatch(name, obj)

        return Plan(python_type, name, enc, _identity, from_json, dec_identity=True, hashable_wire=True)


# --- Optional / Union --------------------------------------------------------------------------


class UnionConverter(BaseConverter):
    """``Optional[T]`` is T's wire or None. A Union of several types prefixes the member's wire
    with a one-byte tag naming the member, so decoding returns exactly the member encoded."""

    def handles(self, python_type: Any) -> bool:
        return typing.get_origin(python_type) is typing.Union

    def build(self, python_type: Any) -> Plan:
        args = typing.get_args(python_type)
        members = [plan_for(a) for a in args if a is not NoneType]
        nullable = len(members) < len(args)
        name = type_name(python_type)
        if len(members) == 1:
            return _optional_plan(python_type, name, members[0])
        return _union_plan(python_type, name, members, nullable)


def _optional_plan(tp: Any, name: str, inner: Plan) -> Plan:
    inner_enc, inner_dec, inner_json = inner.enc, inner.dec, inner.from_json

    def enc(value: Any) -> Any:
        return None if value is None else inner_enc(value)

    def dec(wire: Any) -> Any:
        return None if wire is None else inner_dec(wire)

    def from_json(obj: Any) -> Any:
        return None if obj is None else inner_json(obj)

    return Plan(
        tp,
        name,
        enc,
        dec,
        from_json,
        exact=inner.exact | {NoneType},
        dec_identity=inner.dec_identity,
        accepts_any=inner.accepts_any,
        hashable_wire=inner.hashable_wire,
    )


def _ordered(members: list[Plan], value: Any) -> list[tuple[int, Plan]]:
    """Members whose runtime class is the value's own class first, then the rest in order."""
    t = type(value)
    indexed = list(enumerate(members))
    return [m for m in indexed if m[1].runtime is t] + [m for m in indexed if m[1].runtime is not t]


def _union_plan(tp: Any, name: str, members: list[Plan], nullable: bool) -> Plan:
    tags = [union_tag(i) for i in range(len(members))]
    exact_member = {t: i for i in reversed(range(len(members))) for t in members[i].exact}

    def enc(value: Any) -> Any:
        if value is None and nullable:
            return None
        index = exact_member.get(type(value))
        if index is not None:
            return [tags[index], value]
        closest: TypeTransformerFailedError | None = None
        for index, member in _ordered(members, value):
            try:
                return [tags[index], member.enc(value)]
            except TypeTransformerFailedError as exc:
                if closest is None and member.runtime is type(value):
                    closest = exc  # the member of the value's own class: its error says most
        if closest is not None and closest.path:
            raise closest
        raise mismatch(name, value)

    def dec(wire: Any) -> Any:
        if wire is None and nullable:
            return None
        if type(wire) is list and len(wire) == 2 and type(wire[0]) is UnionTag:
            return members[wire[0].index].dec(wire[1])
        raise TypeTransformerFailedError(name, type_label(wire), "", wire, detail="the union tag is missing")

    def from_json(obj: Any) -> Any:
        if obj is None and nullable:
            return None
        for _, member in _ordered(members, obj):
            try:
                return member.from_json(obj)
            except TypeTransformerFailedError:
                continue
        raise mismatch(name, obj)

    return Plan(tp, name, enc, dec, from_json)
