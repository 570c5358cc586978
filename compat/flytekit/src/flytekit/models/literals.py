"""Literal models (``Literal``, ``Scalar``, ``Primitive``, ``Blob`` ...) and their wire form.

A custom flytekit TypeTransformer returns one of these from ``to_literal``; the engine stores
it as a msgpack map (:func:`literal_to_wire`) and gives it back to ``to_python_value``.
"""

from __future__ import annotations

import datetime
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from flytekit.models.core.types import BlobType


@dataclass
class Primitive:
    integer: int | None = None
    float_value: float | None = None
    string_value: str | None = None
    boolean: bool | None = None
    datetime: _dt.datetime | None = None
    duration: _dt.timedelta | None = None

    @property
    def value(self) -> Any:
        for name in ("integer", "float_value", "string_value", "boolean", "datetime", "duration"):
            v = getattr(self, name)
            if v is not None:
                return v
        return None


@dataclass
class BlobMetadata:
    type: BlobType = field(default_factory=BlobType)


@dataclass
class Blob:
    metadata: BlobMetadata = field(default_factory=BlobMetadata)
    uri: str = ""


@dataclass
class Binary:
    value: bytes = b""
    tag: str = ""


@dataclass
class Scalar:
    primitive: Primitive | None = None
    blob: Blob | None = None
    binary: Binary | None = None
    generic: Any = None
    none_type: Any = None

    @property
    def value(self) -> Any:
        return self.primitive or self.blob or self.binary or self.generic


@dataclass
class LiteralCollection:
    literals: list[Literal] = field(default_factory=list)


@dataclass
class LiteralMap:
    literals: dict[str, Literal] = field(default_factory=dict)


@dataclass
class Literal:
    scalar: Scalar | None = None
    collection: LiteralCollection | None = None
    map: LiteralMap | None = None
    hash: str | None = None
    metadata: dict[str, str] | None = None


_PRIMS = ("integer", "float_value", "string_value", "boolean", "datetime", "duration")


def literal_to_wire(lit: Literal) -> dict[str, Any]:
    """A msgpack-friendly map for ``lit`` (datetimes and durations as ISO text / seconds)."""
    if lit.collection is not None:
        return {"c": [literal_to_wire(x) for x in lit.collection.literals]}
    if lit.map is not None:
        return {"m": {k: literal_to_wire(v) for k, v in lit.map.literals.items()}}
    s = lit.scalar
    if s is None:
        return {"n": True}
    if s.primitive is not None:
        p = s.primitive
        for name in _PRIMS:
            v = getattr(p, name)
            if v is not None:
                if isinstance(v, datetime.datetime):
                    v = v.isoformat()
                elif isinstance(v, datetime.timedelta):
                    v = v.total_seconds()
                return {"p": name, "v": v}
        return {"n": True}
    if s.blob is not None:
        t = s.blob.metadata.type
        return {"b": s.blob.uri, "f": t.format, "d": int(t.dimensionality)}
    if s.binary is not None:
        return {"y": s.binary.value, "t": s.binary.tag}
    if s.generic is not None:
        return {"g": s.generic}
    return {"n": True}


def wire_to_literal(w: dict[str, Any]) -> Literal:
    if "c" in w:
        return Literal(collection=LiteralCollection([wire_to_literal(x) for x in w["c"]]))
    if "m" in w:
        return Literal(map=LiteralMap({k: wire_to_literal(v) for k, v in w["m"].items()}))
    if "p" in w:
        name, v = w["p"], w["v"]
        if name == "datetime":
            v = datetime.datetime.fromisoformat(v)
        elif name == "duration":
            v = datetime.timedelta(seconds=v)
        return Literal(scalar=Scalar(primitive=Primitive(**{name: v})))
    if "b" in w:
        return Literal(scalar=Scalar(blob=Blob(BlobMetadata(BlobType(w["f"], w["d"])), w["b"])))
    if "y" in w:
        return Literal(scalar=Scalar(binary=Binary(w["y"], w["t"])))
    if "g" in w:
        return Literal(scalar=Scalar(generic=w["g"]))
    return Literal(scalar=Scalar(none_type=True))
