"""flyte.io.Dir: runs passing directory trees between tasks; walking, listing, downloading."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

import flyte
from flyte.io import Dir, File
from flyte.types import TypeEngine

env = flyte.TaskEnvironment(name="io_dir")


def _tree(root: str, extra: str = "") -> str:
    base = Path(root) / "tree"
    (base / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    (base / "a.txt").write_text("A" + extra)
    (base / "b.csv").write_text("x,y\n1,2\n")
    (base / "sub" / "c.txt").write_text("C")
    (base / "sub" / "deeper" / "d.txt").write_text("D")
    return str(base)


@env.task
async def make_dir(tmp: str) -> Dir:
    src = _tree(tmp)
    d = await Dir.from_local(src)
    shutil.rmtree(src)  # the store holds a copy
    return d


@env.task
def make_dir_sync(tmp: str, extra: str) -> Dir:
    return Dir.from_local_sync(_tree(tmp, extra))


@env.task
def inspect_sync(d: Dir) -> dict[str, list[str]]:
    assert d.exists_sync()
    c = d.get_file_sync("sub/c.txt")
    assert c is not None
    with c.open_sync() as fh:
        assert fh.read() == b"C"
    assert d.get_file_sync("missing.txt") is None
    return {
        "all": [f.name for f in d.walk_sync()],
        "top": [f.name for f in d.list_files_sync()],
        "txt": [f.name for f in d.walk_sync(file_pattern="*.txt")],
        "two_levels": [f.name for f in d.walk_sync(recursive=True, max_depth=2)],
        "flat": [f.name for f in d.walk_sync(recursive=False)],
    }


@env.task
async def inspect_async(d: Dir) -> tuple[list[str], list[str], str, str]:
    assert await d.exists()
    names = [f.name async for f in d.walk()]
    top = [f.name for f in await d.list_files()]
    a = await d.get_file("a.txt")
    assert a is not None
    async with a.open() as fh:
        text = (await fh.read()).decode()
    local = await d.download()
    return names, top, text, local


@env.task
async def pipeline(tmp: str) -> tuple[dict[str, list[str]], tuple[list[str], list[str], str, str], Dir]:
    d = await make_dir(tmp)
    return await inspect_sync.aio(d), await inspect_async(d), d


def test_dirs_pass_between_tasks(tmp_path: Path, isolated_home: Path):
    sources = tmp_path / "sources"
    sources.mkdir()
    run = flyte.run(pipeline, str(sources))
    listing, (names, top, text, local), d = run.outputs()
    assert not list(sources.iterdir())
    assert listing["all"] == ["a.txt", "b.csv", "c.txt", "d.txt"]
    assert listing["top"] == ["a.txt", "b.csv"] == listing["flat"]
    assert listing["txt"] == ["a.txt", "c.txt", "d.txt"]
    assert listing["two_levels"] == ["a.txt", "b.csv", "c.txt"]
    assert names == listing["all"] and top == listing["top"] and text == "A"
    assert (Path(local) / "sub" / "deeper" / "d.txt").read_text() == "D"
    assert Path(d.path).is_relative_to(isolated_home / "data")
    assert d.name == "tree" and d.hash


@env.task
async def three_dirs(tmp: str) -> tuple[Dir, Dir, Dir]:
    return (
        await make_dir_sync.aio(os.path.join(tmp, "1"), ""),
        await make_dir_sync.aio(os.path.join(tmp, "2"), ""),
        await make_dir_sync.aio(os.path.join(tmp, "3"), "changed"),
    )


def test_dir_hashes_follow_content(tmp_path: Path):
    one, two, three = flyte.run(three_dirs, str(tmp_path)).outputs()
    assert one.hash == two.hash != three.hash


def test_get_file_refuses_traversal(tmp_path: Path):
    d = Dir.from_local_sync(_tree(str(tmp_path)))
    for bad in ("../x", "/etc/passwd", "sub/../../a", "a\\b"):
        with pytest.raises(ValueError):
            d.get_file_sync(bad)


@dataclasses.dataclass
class Outputs:
    data: Dir
    index: File


def test_new_remote_existing_remote_and_wire(tmp_path: Path, isolated_home: Path):
    d = Dir.new_remote("results")
    assert Path(d.path).is_dir() and d.name == "results"
    assert Path(d.path).is_relative_to(isolated_home / "data")
    (Path(d.path) / "r.txt").write_text("r")
    assert [f.name for f in d.list_files_sync()] == ["r.txt"]
    out = Outputs(data=d, index=File.from_local_sync(Path(d.path) / "r.txt"))
    back = TypeEngine.decode(TypeEngine.encode(out, Outputs), Outputs)
    assert back == out
    assert TypeEngine.to_jsonable(TypeEngine.encode(d, Dir))["path"] == d.path
    ref = Dir.from_existing_remote(str(tmp_path / "nothing"), dir_cache_key="k")
    assert ref.hash == "k" and not ref.exists_sync()
    with pytest.raises(FileNotFoundError):
        ref.download_sync()
    target = tmp_path / "copy"
    assert d.download_sync(target) == str(target) and (target / "r.txt").read_text() == "r"
    with pytest.raises(ValueError, match="Directory not found"):
        Dir.from_local_sync(tmp_path / "missing")
