"""``StructuredDataset``: tabular data between tasks, on top of ``flyte.io.DataFrame``.

``StructuredDataset(dataframe=df)`` returned from a task is stored as Parquet; a task that takes
one reads it with ``sd.open(pd.DataFrame).all()`` (blocking, as in flytekit) into pandas or
pyarrow. ``Annotated[StructuredDataset, kwtypes(a=int)]`` on an input reads only those columns.
"""

from __future__ import annotations

import collections
import typing
from typing import Any

from flyte.io import DataFrame
from flyte.types._errors import mismatch
from flyte.types._registry import BaseConverter, Plan, type_name

PARQUET = "parquet"
CSV = "csv"


class StructuredDataset(DataFrame):
    """A dataframe reference; see the module docstring."""

    def __init__(
        self,
        dataframe: Any = None,
        uri: str | None = None,
        metadata: Any = None,
        file_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        DataFrame.__init__(self, uri=uri)
        self._fk_columns: list[str] | None = None
        if dataframe is not None:
            self._raw_df = dataframe
            self._persisted = False

    @property
    def dataframe(self) -> Any:
        return self._raw_df

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> StructuredDataset:
        sd = cls(uri=wire.get("uri"))
        sd.format = wire.get("format")
        sd.hash = wire.get("hash")
        return sd

    def _fk_annotate(self, meta: tuple[Any, ...]) -> StructuredDataset:
        for item in meta:
            if isinstance(item, (dict, collections.OrderedDict)) and item:
                self._fk_columns = list(item)
        return self

    def open(self, dataframe_type: Any) -> StructuredDataset:  # type: ignore[override]
        DataFrame.open(self, dataframe_type)
        return self

    def all(self) -> Any:  # type: ignore[override]
        """The whole table as the type chosen with ``open`` (only the declared columns, if any)."""
        df = self.all_sync()
        if self._fk_columns:
            if hasattr(df, "select") and not hasattr(df, "loc"):  # pyarrow.Table
                return df.select(self._fk_columns)
            return df[self._fk_columns]
        return df

    def iter(self) -> Any:  # type: ignore[override]
        yield self.all()


class _Converter(BaseConverter):
    """StructuredDataset inputs/outputs; a plain pandas/pyarrow frame is accepted for an output."""

    def handles(self, python_type: Any) -> bool:
        return isinstance(python_type, type) and issubclass(python_type, StructuredDataset)

    def build(self, python_type: Any) -> Plan:
        name = type_name(python_type)

        def enc(value: Any) -> dict[str, Any]:
            if isinstance(value, DataFrame):
                return value._to_wire()
            from flyte.io._dataframe import is_frame_type

            if is_frame_type(type(value)):
                return StructuredDataset(dataframe=value)._to_wire()
            raise mismatch(name, value)

        def dec(wire: Any) -> Any:
            if type(wire) is not dict or type(wire.get("uri")) is not str:
                raise mismatch(name, wire, "the stored value is not a dataset reference")
            return StructuredDataset._from_wire(wire)

        def from_json(obj: Any) -> Any:
            if isinstance(obj, StructuredDataset):
                return obj
            if isinstance(obj, dict):
                return dec(obj)
            if isinstance(obj, str):
                return StructuredDataset(uri=obj)
            raise mismatch(name, obj, "give a path or a map of fields")

        return Plan(python_type, name, enc, dec, from_json, by_ref=True, runtime=StructuredDataset)


def _register() -> None:
    from flyte.types import TypeEngine

    TypeEngine.register(_Converter(), first=True)


_register()


class StructuredDatasetType:
    """Kept for programs that name it; the engine stores every dataset as Parquet."""

    def __init__(self, columns: Any = None, format: str = PARQUET, **kwargs: Any) -> None:
        self.columns = columns
        self.format = format


__all__ = ["CSV", "PARQUET", "StructuredDataset", "StructuredDatasetType", "typing"]
