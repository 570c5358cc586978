"""EmptyDir, polars LazyFrame, and user-given hashes of files and directories as cache keys."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import flyte
from flyte._cache import cache_key_inputs
from flyte.io import DataFrame, Dir, EmptyDir, File
from flyte.io._hashing import PrecomputedValue
from flyte.types import TypeEngine

env = flyte.TaskEnvironment(name="io_reference")
READS: list[str] = []


@env.task
async def fill(d: EmptyDir) -> Dir:
    (Path(d.path) / "out.txt").write_text("filled")
    return d


@env.task
async def make_empty() -> EmptyDir:
    return EmptyDir()


@env.task
async def lazy_sum(frame: pl.LazyFrame) -> pl.LazyFrame:
    assert isinstance(frame, pl.LazyFrame)
    return frame.select(pl.col("x").sum())


@env.task
async def as_eager(frame: pl.DataFrame) -> int:
    assert isinstance(frame, pl.DataFrame)
    return frame.height


@env.task
async def wrap(frame: pl.LazyFrame) -> DataFrame:
    return DataFrame.from_df(frame)


@env.task(cache="auto")
async def read_once(f: File) -> str:
    READS.append(f.path)
    return "read"


@env.task(cache="auto")
async def list_once(d: Dir) -> str:
    READS.append(d.path)
    return "listed"


def test_empty_dir_is_a_new_empty_directory_and_a_dir() -> None:
    d = EmptyDir()
    assert isinstance(d, Dir) and Path(d.path).is_dir() and list(Path(d.path).iterdir()) == []
    out = flyte.run(fill, d).outputs()[0]
    assert (Path(out.path) / "out.txt").read_text() == "filled"
    made = flyte.run(make_empty).outputs()[0]
    assert isinstance(made, EmptyDir) and Path(made.path).is_dir()


def test_polars_lazy_frames_are_accepted_where_frames_are() -> None:
    lazy = pl.DataFrame({"x": [1, 2, 3]}).lazy()
    out = flyte.run(lazy_sum, lazy).outputs()[0]
    assert isinstance(out, pl.LazyFrame) and out.collect()["x"].to_list() == [6]
    assert flyte.run(as_eager, lazy).outputs() == (3,)  # a LazyFrame for a polars DataFrame input
    df = flyte.run(wrap, lazy).outputs()[0]
    assert df.open(pl.DataFrame).all_sync()["x"].to_list() == [1, 2, 3]
    data = TypeEngine.encode(lazy, pl.LazyFrame)
    assert TypeEngine.decode(data, pl.LazyFrame).collect().equals(lazy.collect())


def test_two_files_with_the_same_user_hash_hit_the_cache(tmp_path: Path) -> None:
    READS.clear()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one")
    b.write_text("two")
    first = File.from_local_sync(a, hash_method=PrecomputedValue("dataset-v1"))
    second = File.from_local_sync(b, hash_method="dataset-v1")
    assert first.path != second.path
    assert flyte.run(read_once, first).outputs() == ("read",)
    assert flyte.run(read_once, second).outputs() == ("read",)
    assert [first.path] == READS  # the second call was served from the cache
    other = File.from_local_sync(b, hash_method="dataset-v2")
    flyte.run(read_once, other)
    assert [first.path, other.path] == READS


def test_directories_with_the_same_cache_key_hit_the_cache(tmp_path: Path) -> None:
    READS.clear()
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text(name)
    first = Dir.from_local_sync(tmp_path / "x", dir_cache_key="tree-1")
    second = Dir.from_local_sync(tmp_path / "y", dir_cache_key="tree-1")
    flyte.run(list_once, first)
    flyte.run(list_once, second)
    assert [first.path] == READS


def test_cache_key_inputs_keeps_other_values_and_nested_references() -> None:
    plain = TypeEngine.encode_values({"x": 1, "hash": "h"}, {"x": int, "hash": str})
    assert cache_key_inputs(plain) == plain
    f1 = File(path="/one/a", hash="h1")
    f2 = File(path="/two/b", hash="h1")
    enc = [TypeEngine.encode_values({"fs": [f], "n": 2}, {"fs": list[File], "n": int}) for f in (f1, f2)]
    assert enc[0] != enc[1] and cache_key_inputs(enc[0]) == cache_key_inputs(enc[1])
    unhashed = TypeEngine.encode_values({"f": File(path="/one/a")}, {"f": File})
    assert cache_key_inputs(unhashed) == unhashed  # without a hash the path decides
