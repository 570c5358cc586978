"""flyte.io.DataFrame and raw pandas / pyarrow frames as task inputs and outputs."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import flyte
from flyte.io import DataFrame, HashFunction
from flyte.types import TypeEngine, TypeTransformerFailedError

env = flyte.TaskEnvironment(name="io_df")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "temp": [3.5, 19.0, 31.25], "n": [1, 2, 3]})


@env.task
async def produce_pandas() -> pd.DataFrame:
    return _frame()


@env.task
def produce_arrow() -> pa.Table:
    return pa.Table.from_pandas(_frame())


@env.task
async def produce_wrapped() -> DataFrame:
    return DataFrame.wrap_df(pa.Table.from_pandas(_frame()))


@env.task
def take_pandas(df: pd.DataFrame) -> pd.DataFrame:
    assert isinstance(df, pd.DataFrame)
    return df[df["temp"] > 10]


@env.task
async def take_flyte_async(df: DataFrame) -> float:
    pdf = await df.open(pd.DataFrame).all()
    return float(pdf["temp"].sum())


@env.task
def take_flyte_sync(df: DataFrame) -> int:
    table = df.open(pa.Table).all_sync()
    assert isinstance(table, pa.Table)
    return table.num_rows


@env.task
async def take_arrow(t: pa.Table) -> list[str]:
    return t.column("city").to_pylist()


@env.task
async def pipeline() -> tuple[pd.DataFrame, float, int, list[str], float, DataFrame]:
    raw = await produce_pandas()
    hot = await take_pandas.aio(raw)
    arrow = await produce_arrow.aio()
    wrapped = await produce_wrapped()
    return (
        hot,
        await take_flyte_async(raw),  # a pandas output feeds a flyte.io.DataFrame input
        await take_flyte_sync.aio(arrow),
        await take_arrow(wrapped),
        await take_flyte_async(wrapped),
        wrapped,
    )


def test_dataframes_between_tasks(isolated_home: Path):
    run = flyte.run(pipeline)
    hot, total, rows, cities, total2, wrapped = run.outputs()
    pd.testing.assert_frame_equal(hot, _frame()[_frame()["temp"] > 10])
    assert total == total2 == pytest.approx(53.75)
    assert rows == 3
    assert cities == ["Oslo", "Lima", "Pune"]
    assert wrapped.format == "parquet" and wrapped.hash
    stored = Path(wrapped.uri)
    assert stored.is_relative_to(isolated_home / "data")
    assert [p.suffix for p in stored.iterdir()] == [".parquet"]
    pd.testing.assert_frame_equal(wrapped.open(pd.DataFrame).all_sync(), _frame())


def test_pandas_and_arrow_round_trip_through_the_type_engine():
    df = _frame()
    data = TypeEngine.encode(df, pd.DataFrame)
    assert len(data) < 400  # only a reference travels
    pd.testing.assert_frame_equal(TypeEngine.decode(data, pd.DataFrame), df)
    ref = TypeEngine.decode(data, DataFrame)
    assert isinstance(ref, DataFrame) and ref.val is None
    table = TypeEngine.decode(data, pa.Table)
    assert table.equals(pa.Table.from_pandas(df))
    same = TypeEngine.encode(df.copy(), pd.DataFrame)
    other = TypeEngine.encode(df.head(2), pd.DataFrame)
    assert TypeEngine.to_jsonable(same)["hash"] == TypeEngine.to_jsonable(data)["hash"]
    assert TypeEngine.to_jsonable(other)["hash"] != TypeEngine.to_jsonable(data)["hash"]
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode(pa.Table.from_pandas(df), pd.DataFrame)
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode({"a": 1}, DataFrame)
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode(DataFrame.wrap_df(None), DataFrame)


@dataclasses.dataclass
class Report:
    title: str
    frames: list[DataFrame]


def test_dataframes_in_dataclasses_and_outside_a_run(isolated_home: Path):
    df = _frame()
    eager = DataFrame.from_local_sync(df)
    assert Path(eager.uri).is_relative_to(isolated_home / "data")
    lazy = DataFrame.wrap_df(df)
    value = Report(title="t", frames=[eager, lazy])
    back = TypeEngine.decode(TypeEngine.encode(value, Report), Report)
    assert [f.uri for f in back.frames] == [eager.uri, eager.uri]  # same content, same place
    for frame in back.frames:
        pd.testing.assert_frame_equal(frame.open(pd.DataFrame).all_sync(), df)


def test_async_reading_iteration_and_errors(tmp_path: Path):
    df = pd.DataFrame({"x": list(range(10))})

    async def main() -> tuple[pd.DataFrame, list[int]]:
        fdf = await DataFrame.from_local(df)
        whole = await fdf.open(pd.DataFrame).all()
        sizes = [len(chunk) async for chunk in fdf.open(pd.DataFrame).iter()]
        return whole, sizes

    whole, sizes = asyncio.run(main())
    pd.testing.assert_frame_equal(whole, df)
    assert sum(sizes) == 10
    with pytest.raises(ValueError, match="open"):
        DataFrame.from_local_sync(df).all_sync()
    with pytest.raises(ValueError, match="unsupported dataframe type"):
        DataFrame.from_local_sync(df).open(dict)
    with pytest.raises(ValueError, match="unsupported dataframe type"):
        DataFrame.wrap_df([1, 2, 3])


def test_hash_methods_destinations_and_csv(tmp_path: Path):
    df = _frame()
    pinned = DataFrame.from_local_sync(df, hash_method="fixed")
    assert pinned.hash == "fixed"
    custom = DataFrame.from_local_sync(df, hash_method=HashFunction.from_fn(lambda d: f"rows={len(d)}"))
    assert custom.hash == "rows=3"
    dest = tmp_path / "out.parquet"
    placed = DataFrame.from_local_sync(df, remote_destination=str(dest))
    assert placed.uri == str(dest) and dest.is_file()
    csv = tmp_path / "cities.csv"
    df.to_csv(csv, index=False)
    ref = DataFrame.from_existing_remote(str(csv))
    assert ref.format == "csv"
    pd.testing.assert_frame_equal(ref.open(pd.DataFrame).all_sync(), df)
    via_json = TypeEngine.from_jsonable(str(csv), pd.DataFrame)
    pd.testing.assert_frame_equal(via_json, df)
    assert DataFrame.from_df(df).val is df


def test_polars_when_installed():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"a": [1, 2]})
    back = TypeEngine.decode(TypeEngine.encode(df, pl.DataFrame), pl.DataFrame)
    assert back.equals(df)
