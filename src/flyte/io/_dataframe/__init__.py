"""flyte.io.DataFrame and the dataframe libraries it reads and writes."""

from __future__ import annotations

from flyte.io._dataframe._dataframe import DataFrame, is_frame_type
from flyte.io._dataframe._frames import CSV, GENERIC_FORMAT, PARQUET, handler_for_type


def lazy_import_dataframe_handler() -> None:
    """Kept for compatibility: dataframe libraries are recognised by name and loaded on use."""
    return None


__all__ = [
    "CSV",
    "GENERIC_FORMAT",
    "PARQUET",
    "DataFrame",
    "handler_for_type",
    "is_frame_type",
    "lazy_import_dataframe_handler",
]
