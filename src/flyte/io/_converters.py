"""Type-engine converters: File, Dir and DataFrame travel as small reference maps.

Wire forms (msgpack maps): File and Dir ``{"path", "name", "format", "hash"}``; DataFrame and
the dataframe library types ``{"uri", "format", "hash"}``. The dataframe library types share
DataFrame's wire, so a task returning ``pd.DataFrame`` can feed one taking
``flyte.io.DataFrame`` or ``pa.Table`` and the other way round.
"""

from __future__ import annotations

import os
import typing
from pathlib import Path
from typing import Any

from flyte.io._dataframe import DataFrame, handler_for_type, is_frame_type
from flyte.io._dir import Dir
from flyte.io._file import File
from flyte.types._errors import TypeTransformerFailedError, mismatch, type_label
from flyte.types._registry import BaseConverter, Plan, type_name


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp) or tp


def _failed(name: str, value: Any, exc: Exception) -> TypeTransformerFailedError:
    return TypeTransformerFailedError(name, type_label(value), "", value, detail=str(exc))


class _ReferenceConverter(BaseConverter):
    """File and Dir (and their subclasses, parametrised or not)."""

    def __init__(self, base: type, key: str) -> None:
        self.base = base
        self.key = key

    def handles(self, python_type: Any) -> bool:
        cls = _origin(python_type)
        return isinstance(cls, type) and issubclass(cls, self.base)

    def _from_path(self, cls: Any, text: str) -> Any:
        """A CLI-style argument: an existing local path is copied into storage, anything else
        is taken as a reference to existing data."""
        local = Path(text)
        if "://" not in text and local.exists():
            return cls.from_local_sync(local)
        return cls.from_existing_remote(text)

    def build(self, python_type: Any) -> Plan:
        cls = _origin(python_type)
        name = type_name(python_type)
        key = self.key

        def enc(value: Any) -> dict[str, Any]:
            if not isinstance(value, cls):
                raise mismatch(name, value)
            return value._to_wire()

        def dec(wire: Any) -> Any:
            if type(wire) is not dict or type(wire.get(key)) is not str:
                raise mismatch(name, wire, f"the stored value is not a {cls.__name__} reference")
            return cls._from_wire(wire)

        def from_json(obj: Any) -> Any:
            if isinstance(obj, cls):
                return obj
            try:
                if isinstance(obj, dict):
                    return cls.model_validate(obj)
                if isinstance(obj, (str, os.PathLike)):
                    return self._from_path(cls, os.fspath(obj))
            except (ValueError, NotImplementedError) as exc:
                raise _failed(name, obj, exc) from None
            raise mismatch(name, obj, "give a path or a map of fields")

        return Plan(python_type, name, enc, dec, from_json, by_ref=True, runtime=cls)


class FileConverter(_ReferenceConverter):
    """``flyte.io.File`` and ``File[T]``."""

    def __init__(self) -> None:
        super().__init__(File, "path")


class DirConverter(_ReferenceConverter):
    """``flyte.io.Dir`` and ``Dir[T]``."""

    def __init__(self) -> None:
        super().__init__(Dir, "path")


def _frame_wire(name: str, value: Any) -> dict[str, Any]:
    try:
        return value._to_wire()
    except (ValueError, OSError, NotImplementedError) as exc:
        raise _failed(name, value, exc) from None


def _frame_ref(name: str, wire: Any) -> DataFrame:
    if type(wire) is not dict or type(wire.get("uri")) is not str:
        raise mismatch(name, wire, "the stored value is not a DataFrame reference")
    return DataFrame._from_wire(wire)


def _frame_from_json(name: str, obj: Any) -> DataFrame:
    if isinstance(obj, DataFrame):
        return obj
    if isinstance(obj, dict):
        return DataFrame.model_validate(obj)
    if isinstance(obj, (str, os.PathLike)):
        return DataFrame.from_existing_remote(os.fspath(obj))
    raise mismatch(name, obj, "give a path or a map of fields")


class DataFrameConverter(BaseConverter):
    """``flyte.io.DataFrame``; also accepts in-memory dataframes, which are wrapped and stored."""

    def handles(self, python_type: Any) -> bool:
        cls = _origin(python_type)
        return isinstance(cls, type) and issubclass(cls, DataFrame)

    def build(self, python_type: Any) -> Plan:
        cls = _origin(python_type)
        name = type_name(python_type)

        def enc(value: Any) -> dict[str, Any]:
            if not isinstance(value, DataFrame):
                if not is_frame_type(type(value)):
                    raise mismatch(name, value)
                value = cls.wrap_df(value)
            return _frame_wire(name, value)

        def dec(wire: Any) -> DataFrame:
            ref = _frame_ref(name, wire)
            return ref if cls is DataFrame else cls._from_wire(wire)

        def from_json(obj: Any) -> DataFrame:
            try:
                return _frame_from_json(name, obj)
            except ValueError as exc:
                raise _failed(name, obj, exc) from None

        return Plan(python_type, name, enc, dec, from_json, by_ref=True, runtime=cls)


def _same_library(value_type: type, declared: Any) -> bool:
    have, want = handler_for_type(value_type), handler_for_type(declared)
    return have is not None and want is not None and have.module == want.module


class FrameConverter(BaseConverter):
    """In-memory dataframe types (pandas.DataFrame, pyarrow.Table, polars DataFrame and
    LazyFrame): stored as Parquet in the blob store and read back into the declared type."""

    def handles(self, python_type: Any) -> bool:
        return is_frame_type(python_type)

    def build(self, python_type: Any) -> Plan:
        tp = python_type
        name = type_name(tp)

        def enc(value: Any) -> dict[str, Any]:
            if isinstance(value, DataFrame):
                return _frame_wire(name, value)
            if not isinstance(value, tp) and not _same_library(type(value), tp):
                raise mismatch(name, value)
            # a polars LazyFrame for a polars DataFrame (or the other way round) is stored the same way
            return _frame_wire(name, DataFrame.wrap_df(value))

        def read(ref: DataFrame, shown: Any) -> Any:
            try:
                return ref.open(tp).all_sync()
            except (OSError, ValueError, NotImplementedError) as exc:
                raise _failed(name, shown, exc) from None

        def dec(wire: Any) -> Any:
            return read(_frame_ref(name, wire), wire)

        def from_json(obj: Any) -> Any:
            if isinstance(obj, tp):
                return obj
            try:
                ref = _frame_from_json(name, obj)
            except ValueError as exc:
                raise _failed(name, obj, exc) from None
            return read(ref, obj)

        return Plan(tp, name, enc, dec, from_json, by_ref=True, runtime=tp)


def register_all() -> None:
    """Put the converters in front of the type engine's chain (done once by ``import flyte.io``)."""
    from flyte.types import register

    for converter in (FrameConverter(), DataFrameConverter(), DirConverter(), FileConverter()):
        register(converter, first=True)
