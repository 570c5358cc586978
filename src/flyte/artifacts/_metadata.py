"""Metadata: the name, version and description an output is published under as an artifact."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Optional, Union

from flyte.artifacts._card import Card

KIND_KEY = "flyte.io/kind"
"""The ``attrs`` key under which an artifact's kind ("model", "data", "generic") is stored."""

Kind = Literal["model", "data", "generic"]
Granularity = Literal["hour", "day", "week", "month"]

MAX_PARENTS = 32
"""At most this many parent versions per artifact version."""


@dataclass(frozen=True)
class TimePartition:
    """A time partition value with an explicit granularity (a ``date`` is daily, a ``datetime`` hourly)."""

    value: Union[date, datetime]
    granularity: Granularity = "day"

    def __post_init__(self) -> None:
        if self.granularity not in ("hour", "day", "week", "month"):
            raise ValueError(
                f"TimePartition: unknown granularity {self.granularity!r}; use hour/day/week/month"
            )
        if not isinstance(self.value, (date, datetime)):
            got = type(self.value).__name__
            raise TypeError(f"TimePartition: value must be a date or datetime, got {got}")


def _partition_text(key: str, value: Any) -> tuple[str, str | None]:
    """(stored text, granularity or None for a string partition)."""
    if isinstance(value, TimePartition):
        return value.value.isoformat(), value.granularity
    if isinstance(value, datetime):
        return value.replace(minute=0, second=0, microsecond=0).isoformat(), "hour"
    if isinstance(value, date):
        return value.isoformat(), "day"
    if value is None:
        raise ValueError(f"Metadata: partition {key!r} is None; give it a value")
    return str(value), None


@dataclass(frozen=True, kw_only=True)
class Metadata:
    """How an output is published: ``flyte.artifacts.new(value, Metadata(name="model"))``.

    Without a ``version`` an artifact is versioned ``<run>/<action>`` (or by content, with
    ``version_from_content=True``). ``partitions`` are part of its identity: at most one time value
    (``date``, ``datetime`` or :class:`TimePartition`); other values are stored as text.
    """

    name: str
    version: Optional[str] = None
    description: Optional[str] = None
    attrs: Optional[Mapping[str, str]] = None
    card: Optional[Card] = None
    kind: Optional[Kind] = None
    partitions: Optional[Mapping[str, Any]] = None
    parents: Optional[tuple[str, ...]] = None
    version_from_content: bool = False
    _content_identity: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("Metadata: name must be a non-empty string")
        if self.kind is not None and self.kind not in ("model", "data", "generic"):
            got = self.kind
            raise ValueError(
                f"Metadata '{self.name}': kind must be 'model', 'data' or 'generic', got {got!r}"
            )
        for key, value in (self.attrs or {}).items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"Metadata '{self.name}': attrs must map str to str, got {key!r}: {value!r}")
        if self.parents is not None:
            parents = tuple(self.parents)
            if len(parents) > MAX_PARENTS:
                raise ValueError(
                    f"Metadata '{self.name}': at most {MAX_PARENTS} parents are allowed, got {len(parents)}"
                )
            for i, parent in enumerate(parents):
                if not isinstance(parent, str) or not parent:
                    where = f"Metadata '{self.name}'"
                    raise ValueError(f"{where}: parents[{i}] must be a non-empty version string")
            object.__setattr__(self, "parents", parents)
        times = [k for k, v in (self.partitions or {}).items() if _partition_text(k, v)[1] is not None]
        if len(times) > 1:
            raise ValueError(
                f"Metadata '{self.name}': at most one time partition is allowed, got {', '.join(times)}"
            )
        for key in self.partitions or {}:
            if not isinstance(key, str) or not key:
                raise ValueError(f"Metadata '{self.name}': partition keys must be non-empty strings")

    @classmethod
    def create_model_metadata(
        cls,
        *,
        name: str,
        version: Optional[str] = None,
        description: Optional[str] = None,
        card: Optional[Card] = None,
        framework: Optional[str] = None,
        model_type: Optional[str] = None,
        architecture: Optional[str] = None,
        task: Optional[str] = None,
        modality: tuple[str, ...] = ("text",),
        serial_format: str = "safetensors",
        attrs: Optional[Mapping[str, str]] = None,
        partitions: Optional[Mapping[str, Any]] = None,
    ) -> Metadata:
        """Metadata for a model: ``kind="model"`` and the model's attrs (framework, architecture...)."""
        merged = dict(attrs or {})
        merged.update(
            {
                KIND_KEY: "model",
                "framework": framework or "",
                "model_type": model_type or "",
                "architecture": architecture or "",
                "task": task or "",
                "modality": ",".join(modality) if modality else "",
                "serial_format": serial_format or "",
            }
        )
        return cls(
            name=name,
            version=version,
            description=description,
            attrs=merged,
            card=card,
            partitions=partitions,
        )

    def resolved_attrs(self) -> dict[str, str]:
        """``attrs`` with the kind under :data:`KIND_KEY` (an explicit attr wins over ``kind=``)."""
        attrs = dict(self.attrs or {})
        if self.kind is not None:
            attrs.setdefault(KIND_KEY, self.kind)
        return attrs

    def to_record(self) -> dict[str, Any]:
        """A JSON-able description, as recorded with the run."""
        partitions: dict[str, str] = {}
        time_key = granularity = None
        for key, value in (self.partitions or {}).items():
            text, grain = _partition_text(key, value)
            partitions[key] = text
            if grain is not None:
                time_key, granularity = key, grain
        card = self.card
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "attrs": self.resolved_attrs(),
            "partitions": partitions,
            "time_partition": [time_key, granularity] if time_key else None,
            "parents": list(self.parents or ()),
            "card": None if card is None else dataclasses.asdict(card),
        }
