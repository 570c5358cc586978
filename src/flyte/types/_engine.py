"""TypeEngine: the public entry points, built on the cached per-type plans."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from types import NoneType
from typing import Any

from flyte.types import _literal_api, _registry, _transformer, _wire
from flyte.types._errors import TypeTransformerFailedError
from flyte.types._registry import Plan, plan_for

_cache = _registry._cache  # read directly on the hot path: one dict lookup per value
_MISSING: Any = object()


def _plan(tp: Any) -> Plan:
    try:
        plan = _cache.get(tp)
    except TypeError:
        plan = None
    return plan if plan is not None else plan_for(tp)


def _encode_one(value: Any, plan: Plan) -> Any:
    if type(value) in plan.exact:
        return value
    try:
        return plan.enc(value)
    except TypeTransformerFailedError as exc:
        raise exc.at_top(plan.name) from None


# -- large values encoded and decoded in the same process ---------------------------------------
#
# Task outputs become the parent's value, and a parent's value becomes a child's inputs, within one
# process: encoded by one side, decoded by the other a moment later. For a map carrying megabytes of
# ``bytes`` the decode is a copy of every value into fresh memory, which (page faults included)
# costs about as much as the encode. The encoder remembers the last few such maps it made; decoding
# one of those very ``bytes`` objects (by identity, so the content is the same) reuses its values.
# Only maps whose values are all immutable scalars are remembered, so sharing a value can never let
# one reader's mutation show through another's. The entries hold their values alive until pushed
# out by newer ones (at most ``_RECENT`` of them).

_IMMUTABLE = frozenset({bytes, str, int, float, bool, NoneType})
_RECENT = 4
_recent: deque[tuple[_wire.Spliced, dict[str, Any]]] = deque(maxlen=_RECENT)
_recent_lock = threading.Lock()


def _remember(data: _wire.Spliced, wire: dict[str, Any]) -> None:
    if all(type(v) in _IMMUTABLE for v in wire.values()):
        with _recent_lock:
            _recent.append((data, wire))


def _recalled(data: _wire.Encoded) -> dict[str, Any] | None:
    if len(data) < _wire.PRESIZE_FROM or not _recent:
        return None
    with _recent_lock:
        for encoded, wire in _recent:
            if encoded is data or encoded.joined is data:  # the spliced bytes, or them joined
                return dict(wire)
    return None


def _not_msgpack(tp: Any, data: Any, exc: Exception) -> TypeTransformerFailedError:
    return TypeTransformerFailedError(
        _registry.type_name(tp),
        type(data).__name__,
        detail=f"the data is not valid encoded flyte data ({exc})",
    )


def _unpack(data: _wire.Encoded, tp: Any) -> Any:
    try:
        return _wire.unpackb(_wire.whole(data))
    except TypeTransformerFailedError:
        raise
    except Exception as exc:  # msgpack reports corrupt data with several exception types
        raise _not_msgpack(tp, data, exc) from exc


def _decode_one(wire: Any, plan: Plan, data: _wire.Encoded) -> Any:
    if plan.accepts_any:
        return _wire.strip_tags(wire) if _wire.maybe_tagged(data) else wire
    return wire if plan.dec_identity else plan.dec(wire)


class TypeEngine:
    """Converts Python values to compact, self-describing msgpack bytes and back.

    All methods are class-level and thread-safe. The converter for a type is chosen once
    (the first registered converter whose ``handles`` says yes) and cached.
    """

    @staticmethod
    def encode(value: Any, python_type: Any) -> bytes:
        """Validate ``value`` against ``python_type`` and encode it.

        Validation is strict but converts where nothing is lost: an int is accepted for
        ``float``, a tuple for ``list[T]``, bytearray for ``bytes``; ``bool`` is *not* accepted
        for ``int``. Raises :class:`TypeTransformerFailedError` if the value does not fit.
        """
        return _wire.packb(_encode_one(value, _plan(python_type)))

    @staticmethod
    def decode(data: bytes, python_type: Any) -> Any:
        """Rebuild a value of ``python_type`` from bytes made by :meth:`encode`."""
        plan = _plan(python_type)
        return _decode_one(_unpack(data, python_type), plan, data)

    @staticmethod
    def encode_values(values: Mapping[str, Any], types: Mapping[str, Any]) -> bytes:
        """Encode named values (task inputs or outputs) as one msgpack map.

        A name missing from ``types`` is encoded untyped. On a bad value the error's ``name``
        attribute holds the offending key.
        """
        return _wire.whole(encode_values_spliced(values, types))

    @staticmethod
    def decode_values(data: bytes, types: Mapping[str, Any]) -> dict[str, Any]:
        """Decode bytes from :meth:`encode_values`; names missing from ``types`` decode untyped."""
        return decode_values(data, types)

    @staticmethod
    def to_wire(value: Any, python_type: Any) -> Any:
        """Validate and convert one value to its msgpack-native wire form (for converters of
        container-like types that delegate their parts)."""
        return _encode_one(value, _plan(python_type))

    @staticmethod
    def from_wire(wire: Any, python_type: Any) -> Any:
        """The inverse of :meth:`to_wire`."""
        plan = _plan(python_type)
        return wire if plan.dec_identity else plan.dec(wire)

    @staticmethod
    def to_jsonable(data: bytes) -> Any:
        """A JSON-serialisable view of encoded bytes, without knowing their type (for display).

        Datetimes become ISO strings, timedeltas seconds, bytes ``"b64:<base64>"``, records
        dicts, tuples and sets lists, enums their value, pickles ``"<pickled TypeName>"``.
        """
        try:
            tree = _wire.unpack_view(data)
        except Exception as exc:
            raise _not_msgpack(Any, data, exc) from exc
        return _wire.jsonify(tree)

    @staticmethod
    def from_jsonable(obj: Any, python_type: Any) -> Any:
        """Build a value of ``python_type`` from JSON-decoded data (e.g. a CLI argument).

        Dicts become dataclasses, models, TypedDicts or NamedTuples; ISO strings datetimes or
        dates; numbers or ``"1h30m"`` timedeltas; values or names Enum members; lists tuples
        or sets; strings bytes (UTF-8, or ``"b64:..."``).
        """
        plan = _plan(python_type)
        try:
            return plan.from_json(obj)
        except TypeTransformerFailedError as exc:
            raise exc.at_top(plan.name) from None

    @staticmethod
    def describe(python_type: Any) -> str:
        """A human-readable name for a type: ``int``, ``list[int]``, ``Optional[str]``..."""
        return _registry.type_name(python_type)

    @staticmethod
    def register(converter: Any, additional_types: list[Any] | None = None, *, first: bool = True) -> None:
        """Add a :class:`TypeTransformer` (as in the reference SDK) or a :class:`Converter`.

        A transformer takes over its ``python_type``, the ``additional_types`` and their
        subclasses; registering a second transformer for one of them raises ValueError.
        A converter with ``first=True`` is asked before the built-in converters, so it can take
        over a type; otherwise just before the pickle fallback.
        """
        if _transformer.is_transformer(converter):
            _literal_api.register_transformer(converter, additional_types or [])
            return
        _registry.register(converter, first=first)

    # --- the reference SDK's literal API (flyteidl2 protobufs) ------------------------------------

    register_additional_type = staticmethod(_literal_api.register_additional_type)
    get_transformer = staticmethod(_literal_api.get_transformer)
    get_available_transformers = staticmethod(_literal_api.get_available_transformers)
    to_literal_type = staticmethod(_literal_api.to_literal_type)
    to_literal = staticmethod(_literal_api.to_literal)
    to_python_value = staticmethod(_literal_api.to_python_value)
    guess_python_type = staticmethod(_literal_api.guess_python_type)
    guess_python_types = staticmethod(_literal_api.guess_python_types)
    dict_to_literal_map = staticmethod(_literal_api.dict_to_literal_map)
    literal_map_to_kwargs = staticmethod(_literal_api.literal_map_to_kwargs)
    to_html = staticmethod(_literal_api.to_html)


def encode_values_spliced(values: Mapping[str, Any], types: Mapping[str, Any]) -> _wire.Encoded:
    """:meth:`TypeEngine.encode_values`, with a map carrying large ``bytes`` values left spliced
    (:class:`~flyte.types._wire.Spliced`): the engine hashes and stores those part by part, and
    their decoding in this process reuses the values, so their bytes are joined only if needed."""
    wire = {}
    large = 0
    for name, value in values.items():
        plan = _plan(types.get(name, Any))
        if type(value) in plan.exact:
            wire[name] = value
            if type(value) is bytes:
                large += len(value)
            continue
        try:
            wire[name] = plan.enc(value)
        except TypeTransformerFailedError as exc:
            exc.at_top(plan.name).name = name
            raise exc from None
    try:
        if large < _wire.PRESIZE_FROM:
            return _wire.packb(wire)
        data = _wire.packb_spliced(wire)
    except TypeTransformerFailedError as exc:  # raised inside untyped data while packing
        exc.name = _failing_key(wire)
        raise
    _remember(data, wire)
    return data


def decode_values(data: _wire.Encoded, types: Mapping[str, Any]) -> dict[str, Any]:
    """:meth:`TypeEngine.decode_values`, also of :class:`~flyte.types._wire.Spliced` bytes."""
    wire = _recalled(data)
    if wire is None:
        wire = _unpack(data, dict)
    if type(wire) is not dict:
        raise TypeTransformerFailedError("a map of named values", type(wire).__name__, "", wire)
    out = {}
    for name, item in wire.items():
        tp = types.get(name, _MISSING)
        if tp is _MISSING:
            out[name] = _wire.strip_tags(item) if _wire.maybe_tagged(data) else item
            continue
        plan = _plan(tp)
        try:
            out[name] = _decode_one(item, plan, data)
        except TypeTransformerFailedError as exc:
            exc.name = name
            raise
    return out


def _failing_key(wire: dict[str, Any]) -> str | None:
    for name, item in wire.items():
        try:
            _wire.packb(item)
        except TypeTransformerFailedError:
            return name
    return None
