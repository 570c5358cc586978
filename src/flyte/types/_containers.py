"""list, set, frozenset, tuple and dict, typed or bare.

Elements of scalar types are validated in bulk (``set(map(type, v))``) and the container goes
to msgpack untouched; only when that check fails, or elements need converting, does the plan
walk the elements in Python (to coerce or to report the first bad element with its path).
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import Any

from flyte.types._errors import TypeTransformerFailedError, mismatch
from flyte.types._registry import BaseConverter, Plan, plan_for, type_name
from flyte.types._wire import ordered

Fn = Callable[[Any], Any]


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp) or tp


def _wire_list(name: str, wire: Any) -> list[Any]:
    if type(wire) is not list:
        raise mismatch(name, wire, "the stored value is not a sequence")
    return wire


def _enc_each(items: list[Any], elem: Plan) -> list[Any]:
    """Encode element by element (the slow path), reporting the first failure with its index."""
    exact, enc = elem.exact, elem.enc
    out = []
    for i, item in enumerate(items):
        if type(item) in exact:
            out.append(item)
            continue
        try:
            out.append(enc(item))
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f"[{i}]") from None
    return out


def _map_each(items: Any, fn: Fn) -> list[Any]:
    out = []
    for i, item in enumerate(items):
        try:
            out.append(fn(item))
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f"[{i}]") from None
    return out


def _bulk_encoder(elem: Plan) -> Fn:
    """Encode a list of elements, skipping the per-element work when their types allow."""
    if elem.accepts_any:
        return lambda items: items
    exact = elem.exact

    def encode(items: list[Any]) -> list[Any]:
        if exact and set(map(type, items)) <= exact:
            return items
        return _enc_each(items, elem)

    return encode


# --- list, set, frozenset, tuple[T, ...] -----------------------------------------------------------

_SEQUENCE_INPUTS: dict[type, tuple[type, ...]] = {
    list: (list, tuple),
    tuple: (tuple, list),
    set: (set, frozenset),
    frozenset: (frozenset, set),
}


class SequenceConverter(BaseConverter):
    """``list[T]``, ``set[T]``, ``frozenset[T]``, ``tuple[T, ...]`` and the bare forms.

    The wire is a msgpack array; decoding rebuilds the declared container.
    """

    def handles(self, python_type: Any) -> bool:
        origin = _origin(python_type)
        if origin is tuple:
            args = _args(python_type)
            return not args or (len(args) == 2 and args[1] is Ellipsis)
        return origin in (list, set, frozenset)

    def build(self, python_type: Any) -> Plan:
        kind = _origin(python_type)
        args = _args(python_type)
        elem = plan_for(args[0] if args else Any)
        name = type_name(python_type)
        accepted = _SEQUENCE_INPUTS[kind]
        encode_items = _bulk_encoder(elem)

        def enc(value: Any) -> list[Any]:
            if type(value) is not list or kind is not list:
                if not isinstance(value, accepted):
                    raise mismatch(name, value)
                if type(value) is not list:
                    value = ordered(value) if kind in (set, frozenset) else list(value)  # type: ignore[call-overload]
            return encode_items(value)

        elem_dec, elem_json = elem.dec, elem.from_json

        def dec(wire: Any) -> Any:
            items = _wire_list(name, wire)
            if not elem.dec_identity:
                items = [elem_dec(w) for w in items]
            return items if kind is list else kind(items)

        def from_json(obj: Any) -> Any:
            if not isinstance(obj, (list, tuple, set, frozenset)):
                raise mismatch(name, obj)
            items = _map_each(obj, elem_json)
            return items if kind is list else kind(items)

        return Plan(
            python_type,
            name,
            enc,
            dec,
            from_json,
            dec_identity=kind is list and elem.dec_identity,
            runtime=kind,
        )


class TupleConverter(BaseConverter):
    """Fixed-shape tuples ``tuple[int, str]``; the wire is an array of the members' wires."""

    def handles(self, python_type: Any) -> bool:
        if _origin(python_type) is not tuple:
            return False
        args = _args(python_type)
        return bool(args) and not (len(args) == 2 and args[1] is Ellipsis)

    def build(self, python_type: Any) -> Plan:
        args = _args(python_type)
        if args == ((),):  # typing.Tuple[()] spelling of the empty tuple
            args = ()
        parts = [plan_for(a) for a in args]
        name = type_name(python_type)

        def check(value: Any) -> None:
            if not isinstance(value, (tuple, list)):
                raise mismatch(name, value)
            if len(value) != len(parts):
                raise mismatch(name, value, f"it has {len(value)} items, not {len(parts)}")

        def enc(value: Any) -> list[Any]:
            check(value)
            out = []
            for i, (part, item) in enumerate(zip(parts, value, strict=True)):
                try:
                    out.append(item if type(item) in part.exact else part.enc(item))
                except TypeTransformerFailedError as exc:
                    raise exc.prefixed(f"[{i}]") from None
            return out

        def dec(wire: Any) -> tuple[Any, ...]:
            items = _wire_list(name, wire)
            if len(items) != len(parts):
                raise mismatch(name, wire, f"the stored value has {len(items)} items, not {len(parts)}")
            return tuple(part.dec(w) for part, w in zip(parts, items, strict=True))

        def from_json(obj: Any) -> tuple[Any, ...]:
            check(obj)
            out = []
            for i, (part, item) in enumerate(zip(parts, obj, strict=True)):
                try:
                    out.append(part.from_json(item))
                except TypeTransformerFailedError as exc:
                    raise exc.prefixed(f"[{i}]") from None
            return tuple(out)

        return Plan(python_type, name, enc, dec, from_json, runtime=tuple)


# --- dict ----------------------------------------------------------------------------------------


class DictConverter(BaseConverter):
    """``dict[K, V]`` and bare ``dict``; the wire is a msgpack map.

    Keys whose wire form could not be a map key (tuples, frozen dataclasses, unions) are sent
    in their self-describing untyped form, which decodes straight back to a hashable value.
    """

    def handles(self, python_type: Any) -> bool:
        return _origin(python_type) is dict

    def build(self, python_type: Any) -> Plan:
        args = _args(python_type) or (Any, Any)
        key, val = plan_for(args[0]), plan_for(args[1])
        name = type_name(python_type)
        bulk = (key.accepts_any or bool(key.exact)) and (val.accepts_any or bool(val.exact))

        def enc(value: Any) -> dict[Any, Any]:
            if type(value) is not dict:
                if not isinstance(value, Mapping):
                    raise mismatch(name, value)
                value = dict(value)
            if bulk and _types_ok(value, key, val):
                return value
            return _enc_items(value, key, val)

        def dec(wire: Any) -> dict[Any, Any]:
            if type(wire) is not dict:
                raise mismatch(name, wire, "the stored value is not a map")
            kdec = key.dec if key.hashable_wire and not key.dec_identity else None
            vdec = None if val.dec_identity else val.dec
            if kdec is None and vdec is None:
                return wire
            return {(kdec(k) if kdec else k): (vdec(v) if vdec else v) for k, v in wire.items()}

        def from_json(obj: Any) -> dict[Any, Any]:
            if not isinstance(obj, Mapping):
                raise mismatch(name, obj)
            out = {}
            for k, v in obj.items():
                try:
                    k2 = key.from_json(k)
                except TypeTransformerFailedError as exc:
                    raise exc.prefixed(f"<key {k!r}>") from None
                try:
                    out[k2] = val.from_json(v)
                except TypeTransformerFailedError as exc:
                    raise exc.prefixed(f"[{k!r}]") from None
            return out

        return Plan(
            python_type,
            name,
            enc,
            dec,
            from_json,
            dec_identity=(key.dec_identity or not key.hashable_wire) and val.dec_identity,
            runtime=dict,
        )


def _types_ok(value: dict[Any, Any], key: Plan, val: Plan) -> bool:
    return (key.accepts_any or set(map(type, value)) <= key.exact) and (
        val.accepts_any or set(map(type, value.values())) <= val.exact
    )


def _enc_items(value: dict[Any, Any], key: Plan, val: Plan) -> dict[Any, Any]:
    out = {}
    for k, v in value.items():
        try:
            wire_key = key.enc(k)
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f"<key {k!r}>") from None
        if not key.hashable_wire:
            wire_key = k  # validated above; sent self-describing so it decodes hashable
        try:
            out[wire_key] = v if type(v) in val.exact else val.enc(v)
        except TypeTransformerFailedError as exc:
            raise exc.prefixed(f"[{k!r}]") from None
    return out
