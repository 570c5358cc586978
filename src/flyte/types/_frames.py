"""Dataframe types (pandas, pyarrow, polars) before ``flyte.io`` is imported.

A task annotated ``-> pandas.DataFrame`` in a module that never imports ``flyte.io`` still gets
its frames stored as parquet files: this converter imports ``flyte.io`` on first use, which
registers the real converters ahead of it, and hands the type over to them.
"""

from __future__ import annotations

import importlib
from typing import Any

from flyte.types import _registry

_FRAME_CLASSES = frozenset(
    {("pandas", "DataFrame"), ("pyarrow", "Table"), ("polars", "DataFrame"), ("polars", "LazyFrame")}
)


class DeferredFramesConverter(_registry.BaseConverter):
    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and any(
            (getattr(k, "__module__", "").split(".")[0], getattr(k, "__qualname__", "")) in _FRAME_CLASSES
            for k in python_type.__mro__
        )

    def build(self, python_type: Any) -> _registry.Plan:
        importlib.import_module("flyte.io")  # registers the real converters ahead of this one
        return _registry.plan_for(python_type)
