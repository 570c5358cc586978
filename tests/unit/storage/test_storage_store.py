"""The blob-store layer: key validation, content addressing, hashing, default stores, helpers."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

import flyte
import flyte.storage as storage
from flyte.storage import LocalBlobStore, validate_key

BAD_KEYS = [
    "../x",
    "a/../b",
    "a/..",
    "..",
    "/etc/passwd",
    "a\\b",
    "..\\x",
    "a\x00b",
    "",
    "C:/x",
    "a//b",
    "./a",
    "a/./b",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_validate_key_refuses_unsafe_keys(key: str):
    with pytest.raises(ValueError):
        validate_key(key)


@pytest.mark.parametrize("key", ["a", "a/b.txt", "dir/sub/file.tar.gz", "x..y", "...", ".hidden"])
def test_validate_key_accepts_relative_posix_paths(key: str):
    assert validate_key(key) == key


@pytest.mark.parametrize("key", ["../escape", "/abs", "a\\b", "a\x00", "x/../../y"])
def test_every_store_method_refuses_traversal(tmp_path: Path, key: str):
    store = LocalBlobStore(tmp_path / "store")
    src = tmp_path / "src.txt"
    src.write_text("data")
    calls = [
        lambda: store.path_for(key),
        lambda: store.put_file(src, key),
        lambda: store.put_bytes(b"x", key),
        lambda: store.put_dir(tmp_path, key),
        lambda: store.get(key, tmp_path / "out"),
        lambda: store.open(key, "wb"),
        lambda: store.exists(key),
        lambda: store.list(key),
        lambda: store.delete(key),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            call()
    assert not (tmp_path / "escape").exists()


def test_symlink_leading_outside_the_store_is_refused(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "store")
    store.put_bytes(b"x", "inside/file")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "store" / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="outside"):
        store.open("link/secret", "wb")


def test_put_file_is_content_addressed(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "store")
    a = tmp_path / "a.txt"
    b = tmp_path / "sub" / "a.txt"
    b.parent.mkdir()
    a.write_text("same")
    b.write_text("same")
    c = tmp_path / "c.txt"
    c.write_text("other")
    ia, ib, ic = store.put_file(a), store.put_file(b), store.put_file(c)
    assert ia == ib
    assert ia.hash == hashlib.sha256(b"same").hexdigest()
    assert ia.key == f"cas/{ia.hash}/a.txt"
    assert ic.hash != ia.hash and ic.path != ia.path
    assert Path(ia.path).read_text() == "same"
    assert ia.size == 4
    assert store.list() == sorted([ia.key, ic.key])  # the staging area is not listed


def test_put_get_open_exists_list_delete(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "store")
    src = tmp_path / "in.bin"
    src.write_bytes(b"\x00\x01" * 10)
    info = store.put_file(src, "data/in.bin")
    assert info.key == "data/in.bin" and store.exists("data/in.bin")
    with store.open("data/in.bin") as f:
        assert f.read() == b"\x00\x01" * 10
    with store.open("data/new/out.txt", "w") as f:
        f.write("written")
    assert store.list("data") == ["data/in.bin", "data/new/out.txt"]
    assert store.list("missing") == []
    out = store.get("data/new/out.txt", tmp_path / "copy.txt")
    assert out.read_text() == "written"
    store.get("data", tmp_path / "tree")
    assert (tmp_path / "tree" / "new" / "out.txt").read_text() == "written"
    store.delete("data/new")
    assert not store.exists("data/new/out.txt")
    store.delete("data/never-there")  # no error
    with pytest.raises(FileNotFoundError):
        store.get("nothing", tmp_path / "x")
    assert store.key_for(info.path) == "data/in.bin"
    assert store.key_for(tmp_path) is None


def test_put_dir_hash_depends_on_names_and_contents_only(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "store")

    def make(root: Path, content: str) -> Path:
        (root / "sub").mkdir(parents=True)
        (root / "x.txt").write_text("x")
        (root / "sub" / "y.txt").write_text(content)
        return root

    one = store.put_dir(make(tmp_path / "one" / "tree", "y"))
    two = store.put_dir(make(tmp_path / "two" / "tree", "y"))
    three = store.put_dir(make(tmp_path / "three" / "tree", "changed"))
    assert one.hash == two.hash == storage.hash_dir(tmp_path / "one" / "tree")
    assert one.path == two.path
    assert three.hash != one.hash
    assert sorted(os.listdir(Path(one.path))) == ["sub", "x.txt"]
    assert (Path(one.path) / "sub" / "y.txt").read_text() == "y"


def test_hash_file_streams_large_files(tmp_path: Path):
    data = os.urandom(storage.CHUNK_SIZE * 2 + 123)
    p = tmp_path / "big.bin"
    p.write_bytes(data)
    assert storage.hash_file(p) == hashlib.sha256(data).hexdigest() == storage.hash_bytes(data)


def test_default_store_outside_a_task_is_flyte_home_data(isolated_home: Path):
    assert storage.default_store().root == isolated_home / "data"


env = flyte.TaskEnvironment(name="storage_tests")


@env.task
async def store_root() -> str:
    return str(storage.default_store().root)


@env.task
def sync_store_root() -> str:
    return str(storage.default_store().root)


def test_default_store_inside_a_task_is_the_run_raw_data_dir(isolated_home: Path):
    run = flyte.run(store_root)
    assert run.outputs()[0] == str(isolated_home / "data")
    run = flyte.run(sync_store_root)
    assert run.outputs()[0] == str(isolated_home / "data")


def test_remote_uris_are_not_supported():
    assert storage.is_remote("s3://bucket/key") and not storage.is_remote("/tmp/x")
    assert not storage.is_remote("file:///tmp/x")
    with pytest.raises(NotImplementedError, match="s3"):
        storage.to_local_path("s3://bucket/key")
    assert storage.to_local_path("file:///tmp/x") == Path("/tmp/x")


def test_reference_helpers(tmp_path: Path, isolated_home: Path):
    assert storage.join("a", "b", "c.txt") == os.path.join("a", "b", "c.txt")
    p = storage.get_random_local_path("some/dir/name.csv")
    assert p.name == "name.csv" and p.parent.is_dir() and not p.exists()
    assert storage.get_random_local_path() != storage.get_random_local_path()
    d = storage.get_random_local_directory()
    assert d.is_dir() and not os.listdir(d)

    src = tmp_path / "f.txt"
    src.write_text("payload")

    async def main() -> None:
        stored = await storage.put(str(src))
        assert Path(stored).is_relative_to(isolated_home / "data")
        assert await storage.exists(stored) and storage.exists_sync(stored)
        local = await storage.get(stored)
        assert Path(local).read_text() == "payload" and Path(local).name == "f.txt"
        into_dir = await storage.get(stored, str(tmp_path) + os.sep)
        assert into_dir == str(tmp_path / "f.txt")

        async def chunks():
            for part in (b"ab", b"cd"):
                yield part

        written = await storage.put_stream(chunks(), name="s.bin")
        assert Path(written).read_bytes() == b"abcd"
        got = [c async for c in storage.get_stream(written, chunk_size=3)]
        assert got == [b"abc", b"d"]
        explicit = await storage.put_stream(b"xyz", to_path=str(tmp_path / "o" / "x.bin"))
        assert Path(explicit).read_bytes() == b"xyz"
        assert not await storage.exists(str(tmp_path / "nope"))

    asyncio.run(main())
