"""msgpack glue: the ext codes that make values self-describing, and pack/unpack with our hooks.

Typed positions are packed as plain msgpack (the reader knows the type). Values that msgpack
cannot pack by itself -- inside untyped data, or types that are always self-describing such as
datetimes -- reach :func:`_default` during packing and become ext values; :func:`_ext_hook`
turns them back while unpacking, so untyped decoding needs no Python-level walk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import NoneType
from typing import Any, BinaryIO

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


class Spliced:
    """Encoded bytes kept as the parts they are the concatenation of, until needed whole.

    A map carrying megabytes of ``bytes`` values is packed (:func:`packb_spliced`) as its small
    packed pieces with the values themselves in between, copying nothing. Hashing and writing it
    go part by part (:meth:`digest`, :meth:`write_to`); ``bytes(s)`` joins the parts once (then
    cached). Equal to, and pickled as, the bytes it stands for.
    """

    __slots__ = ("parts", "size", "_joined")

    def __init__(self, parts: list[bytes]):
        self.parts = tuple(parts)
        self.size = sum(map(len, parts))
        self._joined: bytes | None = None

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        joined = self._joined
        if joined is None:  # two threads racing here join twice; either result is the same bytes
            joined = self._joined = b"".join(self.parts)
        return joined

    @property
    def joined(self) -> bytes | None:
        """The whole bytes if something needed them already, else None."""
        return self._joined

    def digest(self, algorithm: str = "sha256") -> str:
        """The hex digest of the whole bytes, computed part by part."""
        h = hashlib.new(algorithm)
        for part in self.parts:
            h.update(part)
        return h.hexdigest()

    def write_to(self, f: BinaryIO) -> None:
        for part in self.parts:
            f.write(part)

    def contains(self, needle: bytes) -> bool:
        """``needle in bytes(self)`` for a needle that is never split across two parts (a marker
        inside one packed item): each part is a whole packed item or a value's raw content."""
        return any(needle in part for part in self.parts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Spliced):
            return other is self or bytes(self) == bytes(other)
        if isinstance(other, bytes | bytearray | memoryview):
            return len(other) == self.size and bytes(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to bytes, whose hash it cannot give cheaply

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (bytes(self),))

    def __repr__(self) -> str:
        return f"Spliced({self.size} bytes in {len(self.parts)} parts)"


Encoded = bytes | Spliced
"""Encoded values as the engine passes them around in-process: bytes, or the same bytes spliced."""


def whole(data: Encoded) -> bytes:
    """``data`` as one bytes object (joining a :class:`Spliced` once)."""
    return data if type(data) is bytes else bytes(data)


def packb_spliced(wire: dict[str, Any]) -> Spliced:
    """``packb(wire)`` for a map holding large ``bytes`` values, byte for byte the same, without
    copying them: msgpack's encoding is concatenative (a map is its header followed by its packed
    keys and values), so the large values become parts of their own between the packed rest."""
    n = len(wire)
    parts: list[bytes] = []
    small = bytes([0x80 | n]) if n < 16 else b"\xde" + n.to_bytes(2, "big")
    for key, value in wire.items():
        small += packb(key)
        if type(value) is bytes and len(value) >= 1 << 16:
            parts.append(small + b"\xc6" + len(value).to_bytes(4, "big"))  # bin 32: msgpack's form
            parts.append(value)
            small = b""
        else:
            small += packb(value)
    if small:
        parts.append(small)
    return Spliced(parts)


def packb_large(wire: dict[str, Any]) -> bytes:
    """``packb(wire)`` for a map holding large ``bytes`` values, byte for byte the same, with each
    large value copied once (msgpack would grow its buffer by doubling, copying the value several
    times, then copy the whole buffer into the result)."""
    return bytes(packb_spliced(wire))


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


def maybe_tagged(data: Encoded) -> bool:
    """False when ``data`` certainly holds no union tag (a fast substring test)."""
    if type(data) is bytes:
        return _TAG_MARK in data
    return data.contains(_TAG_MARK)  # type: ignore[union-attr]


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
