"""The type engine: Python values to compact, self-describing msgpack bytes and back.

Task inputs and outputs go through :class:`TypeEngine`, which validates values against their
annotations and encodes them so that they can be recorded, hashed and passed between tasks::

    data = TypeEngine.encode_values({"x": 3, "when": now}, {"x": int, "when": datetime})
    TypeEngine.decode_values(data, {"x": int, "when": datetime})

Each family of types has a small converter; the engine asks them in order (registered ones
first, the pickle fallback last) and caches the choice per type. Add support for a type with
:func:`register`.
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
from flyte.types._containers import DictConverter, SequenceConverter, TupleConverter
from flyte.types._engine import TypeEngine
from flyte.types._enum import EnumConverter
from flyte.types._errors import TypeTransformerFailedError
from flyte.types._frames import DeferredFramesConverter
from flyte.types._pickle import PickleConverter, PickleFallbackWarning
from flyte.types._registry import Converter
from flyte.types._structured import (
    DataclassConverter,
    NamedTupleConverter,
    PydanticConverter,
    TypedDictConverter,
)
from flyte.types._time import TimeConverter

_registry.install(
    [
        AnyConverter(),
        NoneConverter(),
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
    ],
    PickleConverter(),
)

register = TypeEngine.register

__all__ = [
    "Converter",
    "PickleFallbackWarning",
    "TypeEngine",
    "TypeTransformerFailedError",
    "register",
]
