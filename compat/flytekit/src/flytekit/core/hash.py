"""``HashMethod``: a user function that gives an output its cache key (``Annotated[T, HashMethod(fn)]``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HashMethod:
    """Wraps ``function(value) -> str``; the result becomes the output's hash, so downstream cached
    tasks hit when the hash is equal even if the data was written again."""

    def __init__(self, function: Callable[[Any], str]) -> None:
        self._function = function

    def calculate(self, obj: Any) -> str:
        return str(self._function(obj))
