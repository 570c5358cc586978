"""TypeTransformer: the reference SDK's extension point, speaking flyteidl2 literal protobufs.

A transformer written for the reference ``flyte`` package subclasses :class:`TypeTransformer`
and turns values of its type into ``flyteidl2.core.literals_pb2.Literal`` messages (async).
:func:`as_converter` adapts one to this engine's converter chain: its values travel as the
serialised Literal inside a msgpack ext value, so they are stored, hashed and sent between
processes like any other value, and read back through the transformer.

The engine's encode and decode paths are synchronous, while transformer methods are
coroutines; :func:`run_sync` drives them on a private event loop thread.
"""

from __future__ import annotations

import threading
import typing
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

from msgpack import ExtType

from flyte.types import _wire
from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, type_name

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")

LITERAL = 12  # ext code: a serialised flyteidl2 Literal written by a TypeTransformer


# --- running transformer coroutines from synchronous code -----------------------------------------

_loop: asyncio.AbstractEventLoop | None = None
_loop_thread: threading.Thread | None = None
_loop_lock = threading.Lock()


def _background_loop() -> asyncio.AbstractEventLoop:
    import asyncio  # not at module import: flyte.types stays free of asyncio until a transformer runs

    global _loop, _loop_thread
    with _loop_lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="flyte-type-transformers", daemon=True)
            thread.start()
            _loop, _loop_thread = loop, thread
        return _loop


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a transformer coroutine to completion from synchronous code.

    It runs on one background event loop (callers may themselves be inside a running loop,
    where ``asyncio.run`` is not allowed). A transformer that converts a nested value of
    another transformer's type re-enters here from that loop; that call gets its own loop in
    a short-lived thread instead of waiting on itself.
    """
    import asyncio

    loop = _background_loop()
    if threading.current_thread() is _loop_thread:
        box: list[Any] = []

        def nested() -> None:
            try:
                box.append((True, asyncio.run(coro)))
            except BaseException as exc:  # handed back to the caller below
                box.append((False, exc))

        worker = threading.Thread(target=nested, name="flyte-type-transformers-nested")
        worker.start()
        worker.join()
        ok, value = box[0]
        if not ok:
            raise value
        return value
    return asyncio.run_coroutine_threadsafe(coro, loop).result()


# --- the public base class --------------------------------------------------------------------------


class TypeTransformer(Generic[T]):
    """Converts values of one Python type to flyteidl2 ``Literal`` messages and back.

    Subclass it, implement :meth:`get_literal_type`, :meth:`to_literal` and
    :meth:`to_python_value` (and optionally :meth:`guess_python_type`), then register an
    instance with ``flyte.types.TypeEngine.register``. Task inputs and outputs of that type
    (or of a subclass) then go through it, locally and in worker processes, as long as the
    module that registers it is imported where the task runs (the task's own module is).
    """

    def __init__(self, name: str, t: type[T], enable_type_assertions: bool = True) -> None:
        self._t = t
        self._name = name
        self._type_assertions_enabled = enable_type_assertions

    @property
    def name(self) -> str:
        return self._name

    @property
    def python_type(self) -> type[T]:
        """The Python type this transformer handles."""
        return self._t

    @property
    def type_assertions_enabled(self) -> bool:
        """Whether the engine checks values with :meth:`assert_type` before :meth:`to_literal`."""
        return self._type_assertions_enabled

    def isinstance_generic(self, obj: Any, generic_alias: Any) -> None:
        """Raise unless ``obj`` is an instance of the origin of ``generic_alias`` (``list[int]`` -> list)."""
        origin = typing.get_origin(generic_alias)
        if not isinstance(obj, origin):
            raise TypeTransformerFailedError(type_name(generic_alias), type_label(obj), "", obj)

    def assert_type(self, t: type[T], v: T) -> None:
        """Raise :class:`TypeTransformerFailedError` if ``v`` is not a value of ``t``."""
        if typing.get_origin(t) is not None:
            if isinstance(typing.get_origin(t), type):
                self.isinstance_generic(v, t)
            return
        if isinstance(t, type) and not isinstance(v, t):
            raise TypeTransformerFailedError(type_name(t), type_label(v), "", v)

    def get_literal_type(self, t: type[T]) -> Any:
        """The flyteidl2 ``LiteralType`` describing ``t``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_literal_type")

    def guess_python_type(self, literal_type: Any) -> type[T]:
        """The Python type for a ``LiteralType``; raise ValueError when it is not this transformer's."""
        raise ValueError(f"{type(self).__name__} does not map literal types back to Python types")

    async def to_literal(self, python_val: T, python_type: type[T], expected: Any) -> Any:
        """Convert ``python_val`` (a value of ``python_type``) to a flyteidl2 ``Literal``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement to_literal")

    async def to_python_value(self, lv: Any, expected_python_type: type[T]) -> Optional[T]:
        """Convert a flyteidl2 ``Literal`` back to a value of ``expected_python_type``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement to_python_value")

    def from_binary_idl(self, binary_idl_object: Any, expected_python_type: type[T]) -> Optional[T]:
        """Read a ``Binary`` scalar holding msgpack (tag ``"msgpack"``) as ``expected_python_type``."""
        from flyte.types import _literals

        return _literals.from_msgpack_binary(binary_idl_object, expected_python_type)

    def to_html(self, python_val: T, expected_python_type: type[T]) -> str:
        """HTML for reports; plain ``str`` of the value by default."""
        return str(python_val)

    def __repr__(self) -> str:
        return f"{self._name} Transforms ({self._t}) to Flyte native"

    def __str__(self) -> str:
        return self.__repr__()


# --- adapting a transformer to the converter chain ------------------------------------------------------


def _parse_literal(payload: bytes) -> Any:
    from flyte.types._literals import literals_pb2

    lit = literals_pb2().Literal()
    lit.ParseFromString(payload)
    return lit


def _view_literal(payload: bytes) -> Any:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(_parse_literal(payload))


_wire.register_ext(LITERAL, _parse_literal, _view_literal)


def _failed(name: str, value: Any, exc: BaseException) -> TypeTransformerFailedError:
    if isinstance(exc, TypeTransformerFailedError):
        return exc
    detail = str(exc) or type(exc).__name__
    return TypeTransformerFailedError(name, type_label(value), "", value, detail=detail)


class TransformerConverter(BaseConverter):
    """Puts one :class:`TypeTransformer` in the converter chain, for its type, the
    ``additional_types`` it was registered with, and their subclasses."""

    def __init__(self, transformer: TypeTransformer[Any], types: list[Any]) -> None:
        self.transformer = transformer
        self.types = types

    def owns(self, python_type: Any) -> bool:
        """The transformer's own types (and their generic forms), not their subclasses."""
        try:
            if python_type in self.types:
                return True
        except TypeError:
            return False
        origin = typing.get_origin(python_type)
        return origin is not None and origin in self.types

    def handles(self, python_type: Any) -> bool:
        if self.owns(python_type):
            return True
        cls = typing.get_origin(python_type) or python_type
        return isinstance(cls, type) and any(base in self.types for base in cls.__mro__[1:])

    def build(self, python_type: Any) -> Plan:
        trans = self.transformer
        name = type_name(python_type)
        cls = typing.get_origin(python_type) or python_type
        cls = cls if isinstance(cls, type) else None

        def enc(value: Any) -> ExtType:
            try:
                if trans.type_assertions_enabled:
                    trans.assert_type(python_type, value)
                expected = trans.get_literal_type(python_type)
                lit = run_sync(trans.to_literal(value, python_type, expected))
            except (TypeError, ValueError, AssertionError, AttributeError) as exc:
                raise _failed(name, value, exc) from exc
            return ExtType(LITERAL, lit.SerializeToString())

        def dec(wire: Any) -> Any:
            if type(wire) is ExtType or not hasattr(wire, "SerializeToString"):
                raise mismatch(name, wire, f"the stored value was not written by {trans.name}")
            try:
                return run_sync(trans.to_python_value(wire, python_type))
            except (TypeError, ValueError, AssertionError, AttributeError) as exc:
                raise _failed(name, wire, exc) from exc

        def from_json(obj: Any) -> Any:
            if cls is not None and isinstance(obj, cls):
                return obj
            from flyte.types import _literals

            try:
                lit = _literals.literal_from_json(obj, trans.get_literal_type(python_type))
                return run_sync(trans.to_python_value(lit, python_type))
            except (TypeError, ValueError, AssertionError, AttributeError) as exc:
                raise _failed(name, obj, exc) from exc

        return Plan(python_type, name, enc, dec, from_json, by_ref=cls is not None, runtime=cls)


def is_transformer(obj: Any) -> bool:
    return isinstance(obj, TypeTransformer)
