"""Hash methods: how a File, Dir or DataFrame computes the ``hash`` that identifies its content."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class HashMethod(Protocol):
    """Anything fed with data through ``update`` that then reports a string ``result``."""

    def update(self, data: Any, /) -> None: ...

    def result(self) -> str: ...


class HashFunction:
    """A :class:`HashMethod` computed by a user function of the whole value.

    ``update`` calls the function with the data (for a DataFrame, the dataframe itself) and
    keeps its result::

        HashFunction.from_fn(lambda df: str(pd.util.hash_pandas_object(df).sum()))
    """

    def __init__(self, fn: Callable[[Any], str]) -> None:
        self._fn = fn
        self._value: str | None = None

    def update(self, data: Any, /) -> None:
        self._value = self._fn(data)

    def result(self) -> str:
        if self._value is None:
            raise ValueError("HashFunction.result() called before any data was given to update()")
        return self._value

    @classmethod
    def from_fn(cls, fn: Callable[[Any], str]) -> HashFunction:
        """Wrap ``fn`` (value -> hash string)."""
        return cls(fn)

    from_function = from_fn


class PrecomputedValue:
    """A :class:`HashMethod` whose result is known in advance; data given to it is ignored."""

    def __init__(self, value: str) -> None:
        self._value = value

    def update(self, data: Any, /) -> None:
        return None

    def result(self) -> str:
        return self._value


class HashlibAccumulator:
    """A :class:`HashMethod` over a ``hashlib`` object, fed chunk by chunk."""

    def __init__(self, h: Any) -> None:
        self._h = h

    def update(self, data: Any, /) -> None:
        self._h.update(data)

    def result(self) -> str:
        return self._h.hexdigest()

    @classmethod
    def from_hash_name(cls, name: str) -> HashlibAccumulator:
        """An accumulator for a ``hashlib`` algorithm name such as ``"md5"`` or ``"sha256"``."""
        return cls(hashlib.new(name))


def split_hash_arg(hash_method: Any) -> tuple[str | None, Any]:
    """``(precomputed hash, method)`` from a ``hash_method`` argument (a str, a HashMethod or None)."""
    if hash_method is None:
        return None, None
    if isinstance(hash_method, str):
        return hash_method, None
    if callable(getattr(hash_method, "update", None)) and callable(getattr(hash_method, "result", None)):
        return None, hash_method
    raise TypeError(f"hash_method must be a str or a HashMethod, got {type(hash_method).__name__}")
