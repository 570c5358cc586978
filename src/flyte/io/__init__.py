"""Files, directories and dataframes that tasks pass to each other by reference.

:class:`File`, :class:`Dir` and :class:`DataFrame` keep their data in the blob store
(``flyte.storage``); only a small reference (path, format, content hash) goes through task
inputs and outputs. They work as task parameters and return values, and as fields of
dataclasses, pydantic models, lists and dicts. pandas DataFrames, pyarrow Tables and polars
DataFrames can also be returned and accepted directly; they are stored as Parquet.

Importing this module registers the converters with the type engine; it imports neither
pandas nor pyarrow.
"""

from __future__ import annotations

from flyte.io._converters import register_all as _register_all
from flyte.io._dataframe import PARQUET, DataFrame, lazy_import_dataframe_handler
from flyte.io._dir import Dir, EmptyDir
from flyte.io._file import File
from flyte.io._hashing import HashFunction, HashlibAccumulator, HashMethod, PrecomputedValue

_register_all()

__all__ = [
    "PARQUET",
    "DataFrame",
    "Dir",
    "EmptyDir",
    "File",
    "HashFunction",
    "HashMethod",
    "HashlibAccumulator",
    "PrecomputedValue",
    "lazy_import_dataframe_handler",
]
