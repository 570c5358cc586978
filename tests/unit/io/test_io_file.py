"""flyte.io.File: whole runs passing files between sync and async tasks, containers, hashes."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Optional

import pydantic
import pytest

import flyte
from flyte.io import File, HashFunction
from flyte.types import TypeEngine, TypeTransformerFailedError

env = flyte.TaskEnvironment(name="io_file")


def _write(tmp: str, name: str, text: str) -> str:
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


@env.task
async def make_async(text: str, tmp: str) -> File:
    path = _write(tmp, "greeting.txt", text)
    f = await File.from_local(path)
    os.remove(path)  # the store holds a copy: deleting the source breaks nothing
    return f


@env.task
def make_sync(text: str, tmp: str) -> File:
    path = _write(tmp, "sync.txt", text)
    f = File.from_local_sync(path)
    os.remove(path)
    return f


@env.task
def read_sync(f: File) -> str:
    assert f.exists_sync()
    with f.open_sync("rb") as fh:
        return fh.read().decode()


@env.task
async def read_async(f: File) -> str:
    assert await f.exists()
    async with f.open("rb") as fh:
        return bytes(await fh.read()).decode()


@env.task
async def pipeline(tmp: str) -> tuple[str, str, File, File]:
    a = await make_async("from async", tmp)
    b = await make_sync.aio("from sync", tmp)
    return await read_sync.aio(a), await read_async(b), a, b


def test_files_pass_between_sync_and_async_tasks(tmp_path: Path, isolated_home: Path):
    sources = tmp_path / "sources"
    sources.mkdir()
    run = flyte.run(pipeline, str(sources))
    text_a, text_b, a, b = run.outputs()
    assert (text_a, text_b) == ("from async", "from sync")
    data_dir = isolated_home / "data"
    for f, content in ((a, b"from async"), (b, b"from sync")):
        assert Path(f.path).is_relative_to(data_dir)
        assert Path(f.path).read_bytes() == content
        assert f.hash == hashlib.sha256(content).hexdigest()
    assert a.name == "greeting.txt" and b.name == "sync.txt"
    assert not list(sources.iterdir())  # both sources were deleted
    # the outputs stay readable after the run, from plain sync code
    with a.open_sync() as fh:
        assert fh.read() == b"from async"


@env.task
async def same_and_different(tmp: str) -> tuple[File, File, File]:
    one = await make_async("same", tmp)
    two = await make_async("same", tmp)
    three = await make_async("different", tmp)
    return one, two, three


def test_hashes_follow_content(tmp_path: Path):
    one, two, three = flyte.run(same_and_different, str(tmp_path)).outputs()
    assert one.hash == two.hash
    assert one.hash != three.hash
    assert one.path == two.path  # content-addressed: stored once


@env.task
async def write_new() -> File:
    f = File.new_remote("out.csv")
    async with f.open("wb") as fh:
        await fh.write(b"a,b\n1,2\n")
    return f


@env.task
def write_new_sync() -> File:
    f = File.new_remote()
    with f.open_sync("w") as fh:
        fh.write("a,b\n1,2\n")
    return f


@env.task
async def write_named() -> tuple[File, File]:
    f = File.named_remote("result.txt")
    async with f.open("wb") as fh:
        await fh.write(b"named")
    return f, File.named_remote("result.txt")


def test_new_remote_and_named_remote(isolated_home: Path):
    made = flyte.run(write_new).outputs()[0]
    assert made.name == "out.csv" and made.hash == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    made_sync = flyte.run(write_new_sync).outputs()[0]
    assert made_sync.hash == made.hash and made_sync.path != made.path
    first, again = flyte.run(write_named).outputs()
    assert first.path == again.path  # stable for the action, so retries reuse it
    assert Path(first.path).read_bytes() == b"named"
    with pytest.raises(ValueError):
        File.named_remote("a/b.txt")
    with pytest.raises(ValueError):
        File.new_remote("../escape.txt")


@dataclasses.dataclass
class Bundle:
    main: File
    extras: list[File]
    by_name: dict[str, File]
    maybe: Optional[File] = None


class Model(pydantic.BaseModel):
    label: str
    file: File
    files: list[File] = []


@env.task
async def bundle(tmp: str) -> Bundle:
    f = await make_async("inside", tmp)
    return Bundle(main=f, extras=[f, f], by_name={"k": f})


@env.task
def read_bundle(b: Bundle) -> list[str]:
    return [read_sync(b.main), *(read_sync(x) for x in b.extras), read_sync(b.by_name["k"])]


@env.task
async def model(tmp: str) -> Model:
    f = await make_async("modelled", tmp)
    return Model(label="m", file=f, files=[f])


@env.task
async def read_model(m: Model) -> str:
    return await read_async(m.files[0]) + "/" + await read_async(m.file)


@env.task
async def containers(tmp: str) -> tuple[list[str], str]:
    b = await bundle(tmp)
    assert isinstance(b.main, File) and b.maybe is None
    m = await model(tmp)
    return await read_bundle.aio(b), await read_model(m)


def test_files_inside_dataclasses_pydantic_models_lists_and_dicts(tmp_path: Path):
    listed, modelled = flyte.run(containers, str(tmp_path)).outputs()
    assert listed == ["inside"] * 4
    assert modelled == "modelled/modelled"


def test_wire_form_is_a_small_reference(tmp_path: Path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(200_000))
    f = File.from_local_sync(src)
    data = TypeEngine.encode(f, File)
    assert len(data) < 400
    assert TypeEngine.to_jsonable(data) == {"path": f.path, "name": "big.bin", "format": "", "hash": f.hash}
    assert TypeEngine.decode(data, File) == f
    # untyped positions carry the class with the value
    nested = TypeEngine.decode(TypeEngine.encode({"x": [f]}, dict[str, Any]), dict[str, Any])
    assert nested == {"x": [f]}
    assert TypeEngine.decode(TypeEngine.encode(f, Optional[File]), Optional[File]) == f
    assert TypeEngine.decode(TypeEngine.encode(None, Optional[File]), Optional[File]) is None
    generic = File[bytes]
    assert TypeEngine.decode(TypeEngine.encode(f, generic), generic) == f
    with pytest.raises(TypeTransformerFailedError):
        TypeEngine.encode("not a file", File)


def test_from_jsonable_copies_local_paths_and_accepts_maps(tmp_path: Path, isolated_home: Path):
    src = tmp_path / "arg.txt"
    src.write_text("cli")
    f = TypeEngine.from_jsonable(str(src), File)
    assert Path(f.path).is_relative_to(isolated_home / "data") and f.name == "arg.txt"
    g = TypeEngine.from_jsonable({"path": "/elsewhere/x.csv"}, File)
    assert g.path == "/elsewhere/x.csv" and g.name == "x.csv" and g.hash is None
    assert TypeEngine.from_jsonable("s3://bucket/key.csv", File).path == "s3://bucket/key.csv"


def test_outside_a_run(tmp_path: Path, isolated_home: Path):
    src = tmp_path / "notes.md"
    src.write_text("# notes")
    f = File.from_local_sync(src)
    assert Path(f.path).is_relative_to(isolated_home / "data")
    src.unlink()
    assert f.exists_sync()
    local = f.download_sync()
    assert Path(local).name == "notes.md" and Path(local).read_text() == "# notes"
    into = tmp_path / "dl"
    into.mkdir()
    assert f.download_sync(into) == str(into / "notes.md")
    explicit = f.download_sync(tmp_path / "renamed.md")
    assert Path(explicit).read_text() == "# notes"
    with pytest.raises(ValueError, match="File not found"):
        File.from_local_sync(tmp_path / "missing")


def test_async_api_outside_a_run(tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_text("async")

    async def main() -> tuple[str, str, bool]:
        f = await File[str].from_local(src)
        local = await f.download()
        async with f.open("rt") as fh:
            text = await fh.read()
        return text, Path(local).read_text(), await f.exists()

    assert asyncio.run(main()) == ("async", "async", True)


def test_remote_destination_and_hash_methods(tmp_path: Path):
    src = tmp_path / "s.txt"
    src.write_text("abc")
    dest = tmp_path / "dest" / "copy.txt"
    f = File.from_local_sync(src, str(dest))
    assert f.path == str(dest) and dest.read_text() == "abc"
    assert File.from_local_sync(src, hash_method="pinned").hash == "pinned"
    custom = File.from_local_sync(
        src, hash_method=HashFunction.from_fn(lambda data: f"len{len(bytes(data))}")
    )
    assert custom.hash == "len3"
    ref = File.from_existing_remote("/some/where.txt", file_cache_key="k")
    assert ref.hash == "k" and ref.name == "where.txt" and not ref.exists_sync()
    with pytest.raises(NotImplementedError), File.from_existing_remote("gs://bucket/key").open_sync():
        pass


def test_file_hint_and_pydantic_schema():
    assert typing.get_origin(File[int]) is File
    assert Model.model_json_schema()["properties"]["file"]["type"] == "object"
    m = Model.model_validate({"label": "x", "file": {"path": "/p/q.txt"}})
    assert m.file == File(path="/p/q.txt") and m.model_dump()["file"]["name"] == "q.txt"


def test_importing_flyte_io_is_cheap_and_import_flyte_does_not_load_it():
    code = (
        "import sys, flyte\n"
        "assert 'flyte.io' not in sys.modules\n"
        "import flyte.io, flyte.storage, flyte.report\n"
        "bad = [m for m in ('pandas', 'pyarrow', 'polars', 'pydantic') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
