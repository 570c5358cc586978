"""What File and Dir share: they travel as a small reference ``{path, name, format, hash}``."""

from __future__ import annotations

from typing import Any


class WireReference:
    """Dict/pydantic conversions and equality for a value that is a reference to stored data.

    Subclasses provide ``_to_wire()`` and ``_from_wire(dict)``.
    """

    def _to_wire(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> Any:
        raise NotImplementedError

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """The fields as a dict (``path``, ``name``, ``format``, ``hash``)."""
        return self._to_wire()

    @classmethod
    def model_validate(cls, obj: Any, **_: Any) -> Any:
        """Build from a dict of fields (or return an instance unchanged)."""
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, dict) or not isinstance(obj.get("path"), str):
            raise ValueError(f"cannot build a {cls.__name__} from {obj!r}: a 'path' string is required")
        return cls._from_wire(obj)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from flyte.io._pydantic import reference_schema  # pydantic only when a model uses the type

        return reference_schema(source, ("path",), ("name", "format", "hash"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WireReference) or _kind(other) is not _kind(self):
            return NotImplemented
        return self._to_wire() == other._to_wire()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the reference's models


def _kind(value: WireReference) -> type:
    """The concrete reference class (File or Dir) a value belongs to."""
    return next(k for k in type(value).__mro__ if WireReference in k.__bases__)
