"""DataFrame: a reference to tabular data in storage, readable as pandas, pyarrow or polars."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from flyte.io._dataframe._frames import (
    GENERIC_FORMAT,
    PARQUET,
    convert,
    handler_for_type,
    infer_format,
    iter_batches,
    parquet_bytes,
    read_table,
    require_handler,
)
from flyte.io._hashing import split_hash_arg
from flyte.storage._default import default_store, is_remote, locate, to_local_path
from flyte.storage._hashing import hash_bytes

DF = TypeVar("DF")

_DATA_FILE = "data.parquet"


class DataFrame:
    """Tabular data passed between tasks by reference, whatever library produced it.

    A task may return a pandas DataFrame, a pyarrow Table or a polars DataFrame (wrapped with
    :meth:`wrap_df`, or directly when its return type says so); the data is written once as
    Parquet to the blob store and only ``uri``, ``format`` and ``hash`` travel. A reader picks
    the library it wants::

        pdf = await df.open(pd.DataFrame).all()      # or .all_sync() in sync code

    Nothing is read until ``all()`` / ``iter()`` is called.
    """

    __slots__ = ("uri", "format", "hash", "_raw_df", "_dataframe_type", "_metadata", "_persisted")

    def __init__(
        self, uri: str | None = None, format: str | None = GENERIC_FORMAT, hash: str | None = None
    ) -> None:
        self.uri: str | None = os.fspath(uri) if uri is not None else None
        self.format: str | None = format if format is not None else GENERIC_FORMAT
        self.hash: str | None = hash
        self._raw_df: Any = None
        self._dataframe_type: type | None = None
        self._metadata: dict[str, Any] | None = None
        self._persisted = uri is not None

    # -- wire form, equality, pydantic compatibility ------------------------------------------

    def _to_wire(self) -> dict[str, Any]:
        self._persist()
        return {"uri": self.uri, "format": self.format, "hash": self.hash}

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> DataFrame:
        return cls(uri=wire.get("uri"), format=wire.get("format"), hash=wire.get("hash"))

    def model_dump(self, **_: Any) -> dict[str, Any]:
        """The fields as a dict (``uri``, ``format``, ``hash``); wrapped data is stored first."""
        return self._to_wire()

    @classmethod
    def model_validate(cls, obj: Any, **_: Any) -> DataFrame:
        """Build from a dict of fields (or return an instance unchanged)."""
        if isinstance(obj, cls):
            return obj
        if not isinstance(obj, dict) or not isinstance(obj.get("uri"), str):
            raise ValueError(f"cannot build a {cls.__name__} from {obj!r}: a 'uri' string is required")
        return cls._from_wire(obj)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from flyte.io._pydantic import reference_schema

        return reference_schema(source, ("uri",), ("format", "hash"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataFrame):
            return NotImplemented
        if self._raw_df is not None or other._raw_df is not None:
            return self is other
        return (self.uri, self.format, self.hash) == (other.uri, other.format, other.hash)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        held = f", val={type(self._raw_df).__name__}" if self._raw_df is not None else ""
        return f"DataFrame(uri={self.uri!r}, format={self.format!r}, hash={self.hash!r}{held})"

    # -- properties of the reference SDK -------------------------------------------------------

    @property
    def val(self) -> Any:
        """The in-memory dataframe this object wraps, if any."""
        return self._raw_df

    @property
    def metadata(self) -> dict[str, Any] | None:
        """Column information given to :meth:`from_local`, if any."""
        return self._metadata

    @property
    def literal(self) -> None:
        """Always None: this engine has no protobuf literals."""
        return None

    @classmethod
    def columns(cls) -> dict[str, type]:
        """Declared columns (none: column declarations are not supported)."""
        return {}

    @classmethod
    def column_names(cls) -> list[str]:
        """Names of the declared columns."""
        return list(cls.columns())

    # -- constructors ----------------------------------------------------------------------------

    @classmethod
    def wrap_df(cls, val: Any = None, uri: str | None = None) -> DataFrame:
        """Wrap an in-memory dataframe (pandas, pyarrow or polars) to return from a task.

        The data is written to storage when the task's outputs are encoded (or to ``uri``, a
        local directory or ``.parquet`` file, when given).
        """
        if val is not None:
            require_handler(type(val))
        instance = cls(uri=uri)
        instance._raw_df = val
        instance._persisted = val is None and uri is not None
        return instance

    @classmethod
    def from_df(cls, val: Any = None, uri: str | None = None) -> DataFrame:
        """Older name of :meth:`wrap_df`."""
        return cls.wrap_df(val, uri=uri)

    @classmethod
    def from_existing_remote(cls, remote_path: str, format: str | None = None, **kwargs: Any) -> DataFrame:
        """A reference to stored data (a Parquet/CSV file or a directory of them); nothing is read."""
        return cls(uri=remote_path, format=infer_format(remote_path, format), **kwargs)

    @classmethod
    def from_local_sync(
        cls,
        df: Any,
        columns: dict[str, type] | None = None,
        remote_destination: str | None = None,
        hash_method: Any = None,
    ) -> DataFrame:
        """Write a dataframe to storage now and return the reference (blocking).

        ``hash_method``: a string is used as the hash; a HashMethod (e.g. ``HashFunction``) is
        given the dataframe and its result used. By default the hash is the sha256 of the Parquet
        data.
        """
        known, method = split_hash_arg(hash_method)
        if known is None and method is not None:
            method.update(df)
            known = method.result()
        fdf = cls.wrap_df(df, uri=remote_destination)
        fdf.hash = known
        if columns:
            fdf._metadata = {"columns": dict(columns)}
        fdf._persist()
        return fdf

    @classmethod
    async def from_local(
        cls,
        df: Any,
        columns: dict[str, type] | None = None,
        remote_destination: str | None = None,
        hash_method: Any = None,
    ) -> DataFrame:
        """Write a dataframe to storage now and return the reference; see :meth:`from_local_sync`."""
        return await asyncio.to_thread(cls.from_local_sync, df, columns, remote_destination, hash_method)

    # -- storing and reading ------------------------------------------------------------------------

    def _persist(self) -> None:
        """Write wrapped data to storage once; afterwards ``uri`` names it."""
        if self._persisted:
            return
        if self._raw_df is None:
            raise ValueError("this DataFrame holds neither data nor a uri")
        data = parquet_bytes(self._raw_df)
        digest = hash_bytes(data)
        if self.uri and is_remote(self.uri):
            store, key = locate(self.uri.rstrip("/"))
            if not key.lower().endswith(".parquet"):
                key = f"{key}/{_DATA_FILE}"
            store.put_bytes(data, key, name=_DATA_FILE)
            self.uri = self.uri.rstrip("/")
        elif self.uri:
            target = to_local_path(self.uri).absolute()
            if target.suffix.lower() != ".parquet":
                target = target / _DATA_FILE
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.uri = str(to_local_path(self.uri).absolute())
        else:
            info = default_store().put_bytes(data, name=_DATA_FILE)
            self.uri = info.path.rsplit("/", 1)[0] if is_remote(info.path) else str(Path(info.path).parent)
        self.format = PARQUET
        self.hash = self.hash or digest
        self._persisted = True

    def open(self, dataframe_type: type[DF]) -> DataFrame:
        """Choose the dataframe type that :meth:`all` and :meth:`iter` return; returns self."""
        require_handler(dataframe_type)
        self._dataframe_type = dataframe_type
        return self

    def _target(self) -> type:
        if self._dataframe_type is None:
            raise ValueError(
                "No dataframe type set. Use open() to set the local dataframe type you want to use."
            )
        return self._dataframe_type

    def all_sync(self) -> Any:
        """The whole dataframe, as the type chosen with :meth:`open` (blocking)."""
        target = self._target()
        if self._raw_df is not None:
            return convert(self._raw_df, target)
        if self.uri is None:
            raise ValueError("this DataFrame holds neither data nor a uri")
        return require_handler(target).from_arrow(read_table(self.uri, self.format))

    async def all(self) -> Any:
        """The whole dataframe, as the type chosen with :meth:`open`."""
        return await asyncio.to_thread(self.all_sync)

    async def iter(self) -> AsyncIterator[Any]:
        """Yield the data in chunks (one per stored record batch), as the type chosen with :meth:`open`."""
        target = self._target()
        if self._raw_df is not None or self.uri is None:
            yield await self.all()
            return
        handler = require_handler(target)
        batches = await asyncio.to_thread(iter_batches, self.uri, self.format)
        import pyarrow as pa

        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            yield handler.from_arrow(pa.Table.from_batches([batch]))


def is_frame_type(tp: Any) -> bool:
    """Whether ``tp`` is a supported dataframe class (pandas, pyarrow, polars), checked by name."""
    return handler_for_type(tp) is not None
