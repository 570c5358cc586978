"""msgpack glue: the ext codes that make values self-describing, and pack/unpack with our hooks.

Typed positions are packed as plain msgpack (the reader knows the type). Values that msgpack
cannot pack by itself -- inside untyped data, or types that are always self-describing such as
datetimes -- reach :func:`_default` during packing and become ext values; :func:`_ext_hook`
turns them back while unpacking, so untyped decoding needs no Python-level walk.
"""

from __future__ import annotations

from collections.abc import Callable
from types import NoneType
from typing import Any

import msgpack
from msgpack import ExtType

from flyte.types import _registry
from flyte.types._errors import TypeTransformerFailedError

# Ext codes (0..127 are free for applications). Never renumber: they are stored.
DATETIME = 1
DATE = 2
TIME = 3
TIMEDELTA = 4
TUPLE = 5
SET = 6
FROZENSET = 7
OBJECT = 8  # [class ref, typed wire] -- dataclass, pydantic model, enum... inside untyped data
UNION_TAG = 9  # one byte: which member of a Union the following value was encoded as
BIGINT = 10  # an int beyond 64 bits, as decimal text
PICKLE = 11  # [type name, pickle bytes]

_MAX_UNION = 256


class UnionTag:
    """Decoded form of a union tag; a typed union wire is ``[tag, member wire]``."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"UnionTag({self.index})"


_TAG_OBJECTS = [UnionTag(i) for i in range(_MAX_UNION)]
_TAG_WIRES = [ExtType(UNION_TAG, bytes([i])) for i in range(_MAX_UNION)]
# fixext1 header of a union tag: its presence in a payload is necessary for any tag to be there.
_TAG_MARK = bytes([0xD4, UNION_TAG])


def union_tag(index: int) -> ExtType:
    """The wire marker for union member ``index``."""
    if index >= _MAX_UNION:
        raise TypeError(f"a Union may have at most {_MAX_UNION} members")
    return _TAG_WIRES[index]


# --- tables filled by the converter modules -------------------------------------------------

Encoder = Callable[[Any], ExtType]
_static_encoders: dict[type, Encoder] = {}  # exact type -> ext (datetime, tuple...)
_dynamic_encoders: dict[type, Encoder] = {}  # decided per class from its plan; reset on register()
_decoders: dict[int, Callable[[bytes], Any]] = {}
_views: dict[int, Callable[[bytes], Any]] = {}
_fallback: list[Encoder] = []  # the pickler, set by _pickle


def register_ext(
    code: int,
    decode: Callable[[bytes], Any],
    view: Callable[[bytes], Any],
    encoders: dict[type, Encoder] | None = None,
) -> None:
    """Declare an ext code: how to decode it, how to show it as JSON, and which exact types use it."""
    _decoders[code] = decode
    _views[code] = view
    if encoders:
        _static_encoders.update(encoders)


def set_fallback(encoder: Encoder) -> None:
    """The encoder for values no converter describes by class (the pickler)."""
    _fallback[:] = [encoder]


_registry.on_change(_dynamic_encoders.clear)


# --- pack / unpack ----------------------------------------------------------------------------


def _default(obj: Any) -> Any:
    t = type(obj)
    encoder = _static_encoders.get(t) or _dynamic_encoders.get(t)
    if encoder is None:
        encoder = _dynamic_encoders[t] = _encoder_for(t)
    return encoder(obj)


def _encoder_for(t: type) -> Encoder:
    plan = _registry.plan_for(t)
    if not plan.by_ref:
        return _fallback[0]
    enc = plan.enc

    def by_ref(obj: Any) -> ExtType:
        return ExtType(OBJECT, packb([class_ref(t), enc(obj)]))

    return by_ref


def packb(obj: Any) -> bytes:
    """Pack a wire object; anything msgpack does not know goes through the ext encoders."""
    return msgpack.packb(obj, default=_default, use_bin_type=True, strict_types=True)


PRESIZE_FROM = 1 << 20
"""A map of values carrying at least this many bytes of ``bytes`` is packed by ``packb_large``."""


def packb_large(wire: dict[str, Any]) -> bytes:
    """``packb(wire)`` for a map holding large ``bytes`` values, byte for byte the same, with each
    large value copied once: msgpack would grow its buffer by doubling (copying the value several
    times) and then copy the whole buffer into the result. msgpack's encoding is concatenative: a
    map is its header followed by its packed keys and values."""
    n = len(wire)
    parts: list[bytes] = [bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")]
    for key, value in wire.items():
        parts.append(packb(key))
        if type(value) is bytes and len(value) >= 1 << 16:
            parts.append(b"\xc6" + len(value).to_bytes(4, "big"))  # bin 32: the form msgpack picks
            parts.append(value)
        else:
            parts.append(packb(value))
    return b"".join(parts)


def _ext_hook(code: int, payload: bytes) -> Any:
    decode = _decoders.get(code)
    return ExtType(code, payload) if decode is None else decode(payload)


def unpackb(data: bytes) -> Any:
    """Unpack bytes, rebuilding self-describing ext values as Python objects."""
    return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)


def _view_hook(code: int, payload: bytes) -> Any:
    view = _views.get(code)
    return f"<ext {code}>" if view is None else view(payload)


def unpack_view(data: bytes) -> Any:
    """Unpack bytes with ext values shown as JSON-friendly stand-ins (see ``to_jsonable``)."""
    return msgpack.unpackb(data, ext_hook=_view_hook, raw=False, strict_map_key=False)


# --- class references ---------------------------------------------------------------------------

_classes: dict[str, type] = {}


def class_ref(cls: type) -> str:
    """``module:qualname``; remembered so that classes local to a function decode in-process."""
    ref = f"{cls.__module__}:{cls.__qualname__}"
    if _classes.get(ref) is not cls:
        _classes[ref] = cls
    return ref


def resolve_class(ref: str) -> type:
    """The class named by :func:`class_ref`."""
    cls = _classes.get(ref)
    if cls is not None:
        return cls
    import importlib

    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise TypeTransformerFailedError(
            ref, "an unknown class", detail=f"cannot import it to decode a value ({exc})"
        ) from exc
    return obj


# --- the built-in ext codes ------------------------------------------------------------------------


def _decode_object(payload: bytes) -> Any:
    ref, wire = unpackb(payload)
    return _registry.plan_for(resolve_class(ref)).dec(wire)


def _view_object(payload: bytes) -> Any:
    return unpack_view(payload)[1]


def _decode_tag(payload: bytes) -> UnionTag:
    return _TAG_OBJECTS[payload[0]]


register_ext(OBJECT, _decode_object, _view_object)
register_ext(UNION_TAG, _decode_tag, _decode_tag)
register_ext(
    BIGINT,
    lambda p: int(p.decode()),
    lambda p: int(p.decode()),
    {int: lambda n: ExtType(BIGINT, str(n).encode())},  # reached only when msgpack overflows
)


def ordered(items: Any) -> list[Any]:
    """A set's items in a stable order when they can be sorted, so equal sets encode equally
    (string hashing differs between processes, and encoded values get hashed)."""
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _view_sequence(payload: bytes) -> tuple[Any, ...]:
    return tuple(unpack_view(payload))  # a tuple, not a list: it may be a map key


register_ext(
    TUPLE,
    lambda p: tuple(unpackb(p)),
    _view_sequence,
    {tuple: lambda v: ExtType(TUPLE, packb(list(v)))},
)
register_ext(SET, lambda p: set(unpackb(p)), _view_sequence, {set: lambda v: ExtType(SET, packb(ordered(v)))})
register_ext(
    FROZENSET,
    lambda p: frozenset(unpackb(p)),
    _view_sequence,
    {frozenset: lambda v: ExtType(FROZENSET, packb(ordered(v)))},
)


# --- walks over decoded trees (not on the typed hot path) ---------------------------------------


def maybe_tagged(data: bytes) -> bool:
    """False when ``data`` certainly holds no union tag (a fast substring test)."""
    return _TAG_MARK in data


def strip_tags(obj: Any) -> Any:
    """Replace ``[UnionTag, value]`` pairs by the value (for typed data decoded untyped)."""
    t = type(obj)
    if t is list:
        if len(obj) == 2 and type(obj[0]) is UnionTag:
            return strip_tags(obj[1])
        return [strip_tags(x) for x in obj]
    if t is dict:
        return {k: strip_tags(v) for k, v in obj.items()}
    return obj


_JSON_SCALARS = (str, int, float, bool, NoneType)


def jsonify(obj: Any) -> Any:
    """Make an ``unpack_view`` tree JSON-serialisable: bytes to ``"b64:..."``, keys to str."""
    t = type(obj)
    if t in _JSON_SCALARS:
        return obj
    if t is list:
        if len(obj) == 2 and type(obj[0]) is UnionTag:
            return jsonify(obj[1])
        return [jsonify(x) for x in obj]
    if t is tuple:
        return [jsonify(x) for x in obj]
    if t is dict:
        return {_json_key(k): jsonify(v) for k, v in obj.items()}
    if t is bytes:
        import base64

        return "b64:" + base64.b64encode(obj).decode("ascii")
    return str(obj)


def _json_key(key: Any) -> str:
    if type(key) is str:
        return key
    shown = jsonify(key)
    return shown if type(shown) is str else str(shown)
