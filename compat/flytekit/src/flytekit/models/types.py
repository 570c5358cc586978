"""``LiteralType`` and ``SimpleType`` as transformers declare them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class SimpleType(enum.IntEnum):
    NONE = 0
    INTEGER = 1
    FLOAT = 2
    STRING = 3
    BOOLEAN = 4
    DATETIME = 5
    DURATION = 6
    BINARY = 7
    ERROR = 8
    STRUCT = 9


@dataclass(frozen=True)
class LiteralType:
    simple: SimpleType | None = None
    blob: Any = None
    collection_type: Any = None
    map_value_type: Any = None
    metadata: Any = None
