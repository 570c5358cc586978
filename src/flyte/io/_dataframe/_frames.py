"""Dataframe libraries: recognised by class name without importing them, converted via Arrow.

Every supported type converts to and from a ``pyarrow.Table``; storage is Parquet (CSV can be
read). pandas, pyarrow and polars are imported only when a value of theirs is converted.
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flyte.storage._default import is_remote, locate, to_local_path

PARQUET = "parquet"
CSV = "csv"
GENERIC_FORMAT = ""


@dataclass(frozen=True)
class FrameHandler:
    """How one dataframe type converts to and from Arrow."""

    name: str
    module: str
    attr: str
    to_arrow: Callable[[Any], Any]
    from_arrow: Callable[[Any], Any]

    def load_type(self) -> type:
        """The dataframe class (imports its library)."""
        return getattr(importlib.import_module(self.module), self.attr)


def _pandas_to_arrow(df: Any) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(df)


def _arrow_to_pandas(table: Any) -> Any:
    return table.to_pandas()


def _identity(value: Any) -> Any:
    return value


def _polars_to_arrow(df: Any) -> Any:
    return df.to_arrow()


def _arrow_to_polars(table: Any) -> Any:
    import polars as pl

    return pl.from_arrow(table)


def _lazy_to_arrow(lf: Any) -> Any:
    return lf.collect().to_arrow()  # storing a LazyFrame runs its query plan


def _arrow_to_lazy(table: Any) -> Any:
    return _arrow_to_polars(table).lazy()


_HANDLERS: dict[tuple[str, str], FrameHandler] = {
    ("pandas", "DataFrame"): FrameHandler(
        "pandas", "pandas", "DataFrame", _pandas_to_arrow, _arrow_to_pandas
    ),
    ("pyarrow", "Table"): FrameHandler("pyarrow", "pyarrow", "Table", _identity, _identity),
    ("polars", "DataFrame"): FrameHandler(
        "polars", "polars", "DataFrame", _polars_to_arrow, _arrow_to_polars
    ),
    ("polars", "LazyFrame"): FrameHandler("polars", "polars", "LazyFrame", _lazy_to_arrow, _arrow_to_lazy),
}


def handler_for_type(tp: Any) -> FrameHandler | None:
    """The handler for a dataframe class (or a subclass of one), without importing anything."""
    if not isinstance(tp, type):
        return None
    for klass in getattr(tp, "__mro__", (tp,)):
        key = (getattr(klass, "__module__", "").split(".")[0], getattr(klass, "__qualname__", ""))
        handler = _HANDLERS.get(key)
        if handler is not None:
            return handler
    return None


def require_handler(tp: Any) -> FrameHandler:
    """Like :func:`handler_for_type`, raising a ValueError that lists the supported types."""
    handler = handler_for_type(tp)
    if handler is None:
        supported = ", ".join(f"{m}.{a}" for m, a in _HANDLERS)
        raise ValueError(
            f"unsupported dataframe type {getattr(tp, '__name__', tp)!r}; supported: {supported}"
        )
    return handler


def to_arrow(value: Any) -> Any:
    """Any supported dataframe as a ``pyarrow.Table``."""
    return require_handler(type(value)).to_arrow(value)


def convert(value: Any, target: type) -> Any:
    """``value`` (any supported dataframe) as an instance of ``target``."""
    if isinstance(value, target):
        return value
    return require_handler(target).from_arrow(to_arrow(value))


def parquet_bytes(value: Any) -> bytes:
    """A supported dataframe serialised as one Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(to_arrow(value), sink)
    return sink.getvalue().to_pybytes()


def infer_format(uri: str, fmt: str | None) -> str:
    """The storage format: ``fmt`` when given, else guessed from the extension (Parquet by default)."""
    if fmt:
        return fmt
    return CSV if Path(uri).suffix.lower() == ".csv" else PARQUET


def _dataset(uri: str, fmt: str | None, local: Path | None = None) -> Any:
    import pyarrow.dataset as ds

    return ds.dataset(str(local or to_local_path(uri)), format=infer_format(uri, fmt))


@contextmanager
def _local_copy(uri: str) -> Iterator[Path | None]:
    """A temporary local copy of an object-store ``uri`` (streamed down), None for local paths."""
    if not is_remote(uri):
        yield None
        return
    store, key = locate(uri.rstrip("/"))
    with tempfile.TemporaryDirectory(prefix="flyte-df-") as tmp:
        yield store.get(key, Path(tmp) / (Path(key).name or "data"))


def read_table(uri: str, fmt: str | None) -> Any:
    """Read the dataframe stored at ``uri`` (a file or a directory of files) as an Arrow table."""
    with _local_copy(uri) as local:
        return _dataset(uri, fmt, local).to_table()


def iter_batches(uri: str, fmt: str | None) -> Iterator[Any]:
    """Arrow record batches of the dataframe stored at ``uri``, read lazily."""
    with _local_copy(uri) as local:
        yield from _dataset(uri, fmt, local).to_batches()
