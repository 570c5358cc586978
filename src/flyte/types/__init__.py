"""The type engine: Python values to compact, self-describing msgpack bytes and back.

Task inputs and outputs go through :class:`TypeEngine`, which validates values against their
annotations and encodes them so that they can be recorded, hashed and passed between tasks::

    data = TypeEngine.encode_values({"x": 3, "when": now}, {"x": int, "when": datetime})
    TypeEngine.decode_values(data, {"x": int, "when": datetime})

Each family of types has a small converter; the engine asks them in order (registered ones
first, the pickle fallback last) and caches the choice per type. Add support for a type with
:func:`register`, or, as in the reference SDK, subclass :class:`TypeTransformer` (flyteidl2
literal protobufs) and pass an instance to ``TypeEngine.register``.
"""

from __future__ import annotations

from flyte.types import _registry
from flyte.types._builtins import (
    AnyConverter,
    LiteralConverter,
    NoneConverter,
    ScalarConverter,
    UnionConverter,
)
from flyte.types._callable import CallableConverter
from flyte.types._containers import DictConverter, SequenceConverter, TupleConverter
from flyte.types._engine import TypeEngine
from flyte.types._enum import EnumConverter
from flyte.types._errors import TypeTransformerFailedError
from flyte.types._frames import DeferredFramesConverter
from flyte.types._pickle import FlytePickle, FlytePickleConverter, PickleConverter, PickleFallbackWarning
from flyte.types._registry import Converter
from flyte.types._structured import (
    DataclassConverter,
    NamedTupleConverter,
    PydanticConverter,
    TypedDictConverter,
)
from flyte.types._time import TimeConverter
from flyte.types._transformer import TypeTransformer

_registry.install(
    [
        AnyConverter(),
        NoneConverter(),
        FlytePickleConverter(),
        ScalarConverter(),
        TimeConverter(),
        LiteralConverter(),
        UnionConverter(),
        SequenceConverter(),
        TupleConverter(),
        DictConverter(),
        EnumConverter(),
        DataclassConverter(),
        NamedTupleConverter(),
        TypedDictConverter(),
        PydanticConverter(),
        DeferredFramesConverter(),
        CallableConverter(),
    ],
    PickleConverter(),
)

register = TypeEngine.register


def __getattr__(name: str) -> object:
    # guess_interface needs flyte._interface, which imports flyte.errors: load it on first use.
    if name == "guess_interface":
        from flyte.types._interface import guess_interface

        return guess_interface
    raise AttributeError(f"module 'flyte.types' has no attribute {name!r}")


__all__ = [
    "Converter",
    "FlytePickle",
    "PickleFallbackWarning",
    "TypeEngine",
    "TypeTransformer",
    "TypeTransformerFailedError",
    "guess_interface",
    "register",
]
