"""The last resort: values of types no converter knows are pickled.

Pickles are opaque, tied to the Python and library versions that wrote them, and unsafe to
load from untrusted sources, so the first time a type falls back here a warning names it.
"""

from __future__ import annotations

import pickle
import threading
import typing
import warnings
from typing import Any

from msgpack import ExtType

from flyte.types import _wire
from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, type_name


class PickleFallbackWarning(UserWarning):
    """A value's type has no converter, so its values are pickled."""


_warned: set[Any] = set()
_warned_lock = threading.Lock()


def _warn_once(key: Any, shown: str) -> None:
    if key in _warned:
        return
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(
        f"flyte: no type converter for {shown}; its values are pickled "
        "(opaque, and readable only with the same code and library versions). "
        "Register a converter with flyte.types.register() to avoid this.",
        PickleFallbackWarning,
        stacklevel=4,
    )


def _full_name(tp: Any) -> str:
    if isinstance(tp, type):
        return f"{tp.__module__}.{tp.__qualname__}"
    return type_name(tp)


def pickle_value(value: Any, declared: Any = None) -> ExtType:
    """The pickle ext value for ``value``, warning once per type: the declared type when
    there is one, else the value's class."""
    cls = type(value)
    key = cls if declared is None else declared
    try:
        _warn_once(key, _full_name(key))
    except TypeError:  # an unhashable annotation: warn by its name instead
        _warn_once(_full_name(key), _full_name(key))
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # PicklingError, TypeError, AttributeError... all mean "cannot"
        raise TypeTransformerFailedError(
            "a picklable value", type_label(value), "", value, detail=f"it cannot be pickled ({exc})"
        ) from exc
    return ExtType(_wire.PICKLE, _wire.packb([cls.__qualname__, data]))


def _unpickle(payload: bytes) -> Any:
    _, data = _wire.unpackb(payload)
    return pickle.loads(data)


def _view(payload: bytes) -> str:
    return f"<pickled {_wire.unpack_view(payload)[0]}>"


_wire.register_ext(_wire.PICKLE, _unpickle, _view)
_wire.set_fallback(pickle_value)


def _checkable_class(tp: Any) -> type | None:
    """The class values of ``tp`` must be instances of, if isinstance can tell."""
    origin = typing.get_origin(tp) or tp
    if not isinstance(origin, type):
        return None
    try:
        isinstance(None, origin)
    except TypeError:  # e.g. a Protocol that is not runtime-checkable
        return None
    return origin


class PickleConverter(BaseConverter):
    """Takes every type (it is always last). Values are checked against the class when the
    annotation is one, then pickled."""

    def handles(self, python_type: Any) -> bool:
        return True

    def build(self, python_type: Any) -> Plan:
        cls = _checkable_class(python_type)
        name = type_name(python_type)

        def enc(value: Any) -> ExtType:
            if cls is not None and not isinstance(value, cls):
                raise mismatch(name, value)
            return pickle_value(value, python_type)

        def dec(wire: Any) -> Any:
            return wire  # already unpickled by the ext hook

        def from_json(obj: Any) -> Any:
            if cls is not None and isinstance(obj, cls):
                return obj
            raise mismatch(name, obj, f"{name} cannot be built from JSON (no converter knows it)")

        return Plan(python_type, name, enc, dec, from_json, dec_identity=True, runtime=cls)


# --- FlytePickle: pickling on purpose -------------------------------------------------------------------

T = typing.TypeVar("T")


class FlytePickle(typing.Generic[T]):
    """Annotate a parameter or return value ``FlytePickle`` (or ``FlytePickle[X]``) to have its
    values cloudpickled without the fallback warning; the task still sees the plain value.

    Pickles are readable only with the same Python and library versions.
    """

    @classmethod
    def python_type(cls) -> type:
        return type(None)

    def __class_getitem__(cls, python_type: Any) -> Any:
        if python_type is None:
            return cls

        class _Specific(FlytePickle):  # type: ignore[type-arg]
            __origin__ = FlytePickle

            @classmethod
            def python_type(cls) -> Any:
                return python_type

        _Specific.__qualname__ = f"FlytePickle[{type_name(python_type)}]"
        return _Specific

    @classmethod
    async def to_pickle(cls, python_val: Any) -> str:
        """Cloudpickle ``python_val`` into a file in storage and return its path."""
        import hashlib

        import cloudpickle

        import flyte.storage as storage

        data = cloudpickle.dumps(python_val)
        local = storage.get_random_local_path(hashlib.md5(data).hexdigest())
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        return await storage.put(str(local))

    @classmethod
    async def from_pickle(cls, uri: str) -> Any:
        """Load a value written by :meth:`to_pickle`."""
        import cloudpickle

        from flyte.storage import get_stream

        return cloudpickle.loads(b"".join([chunk async for chunk in get_stream(uri)]))


def _cloudpickle_value(value: Any) -> ExtType:
    import cloudpickle

    try:
        data = cloudpickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        raise TypeTransformerFailedError(
            "a picklable value", type_label(value), "", value, detail=f"it cannot be pickled ({exc})"
        ) from exc
    return ExtType(_wire.PICKLE, _wire.packb([type(value).__qualname__, data]))


class FlytePickleConverter(BaseConverter):
    """``FlytePickle`` and ``FlytePickle[X]`` annotations: any value, cloudpickled."""

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, FlytePickle)

    def build(self, python_type: Any) -> Plan:
        name = type_name(python_type)

        def enc(value: Any) -> ExtType:
            return _cloudpickle_value(value)

        def from_json(obj: Any) -> Any:
            raise mismatch(name, obj, "a pickled value cannot be given as JSON")

        return Plan(python_type, name, enc, lambda wire: wire, from_json, dec_identity=True)
