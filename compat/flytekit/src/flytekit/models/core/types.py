"""``BlobType``: the format and dimensionality of a blob literal."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class BlobType:
    class BlobDimensionality(enum.IntEnum):
        SINGLE = 0
        MULTIPART = 1

    format: str = ""
    dimensionality: int = 0
