"""ObjectBlobStore against a real S3-compatible server (moto): the BlobStore contract, streaming,
presigned URLs and refused keys."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from s3_server import S3Server, list_bucket

from flyte.storage import ObjectBlobStore, hash_bytes, store_for_url


def test_put_get_list_delete_round_trip(bucket: str, s3_env: S3Server, tmp_path: Path):
    store = store_for_url(f"s3://{bucket}/runs/raw")
    assert isinstance(store, ObjectBlobStore)
    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello object storage")

    info = store.put_file(src)  # content-addressed
    assert info.key == f"cas/{hash_bytes(b'hello object storage')}/hello.txt"
    assert info.path == f"s3://{bucket}/runs/raw/{info.key}"
    assert list_bucket(s3_env, bucket) == [f"runs/raw/{info.key}"]
    assert store.put_file(src).key == info.key  # same content, same key, stored once

    store.put_bytes(b"abc", "named/x.bin")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("A")
    (tree / "sub" / "b.txt").write_text("B")
    d = store.put_dir(tree, "dirs/t")
    assert d.size == 2
    assert store.list("dirs") == ["dirs/t/a.txt", "dirs/t/sub/b.txt"]
    assert store.exists("dirs/t") and store.exists("named/x.bin") and not store.exists("nothing")

    out = store.get("dirs/t", tmp_path / "back")
    assert (out / "sub" / "b.txt").read_text() == "B"
    assert store.get("named/x.bin", tmp_path / "x.bin").read_bytes() == b"abc"

    with store.open("named/text.txt", "w") as f:
        f.write("line 1\nline 2\n")
    with store.open("named/text.txt", "r") as f:
        assert f.readlines() == ["line 1\n", "line 2\n"]

    store.delete("dirs/t")
    assert not store.exists("dirs/t")
    with pytest.raises(FileNotFoundError):
        store.get("dirs/t", tmp_path / "gone")


def test_large_upload_is_multipart_and_download_streams(bucket: str, s3_env: S3Server, tmp_path: Path):
    store = store_for_url(f"s3://{bucket}")
    big = tmp_path / "big.bin"
    block = os.urandom(1024 * 1024)
    with open(big, "wb") as f:
        for _ in range(20):  # 20 MiB: several parts of 8 MiB
            f.write(block)
    info = store.put_file(big, "big.bin")
    assert info.size == 20 * 1024 * 1024
    # A multipart upload's ETag is "<md5 of part md5s>-<number of parts>".
    head = httpx.head(store.sign("HEAD", "big.bin", 60))
    assert head.headers["etag"].strip('"').endswith("-3")
    back = store.get("big.bin", tmp_path / "back.bin")
    assert hashlib.sha256(back.read_bytes()).hexdigest() == info.hash

    with store.open("big.bin", "rb") as f:  # ranged reads: seek and read a slice
        f.seek(5 * 1024 * 1024)
        assert f.read(16) == block[:16]


def test_presigned_urls_let_a_client_without_credentials_move_bytes(bucket: str, s3_env: S3Server):
    store = store_for_url(f"s3://{bucket}/p")
    put_url = store.sign("PUT", "up/data.bin", 300)
    assert httpx.put(put_url, content=b"via url").status_code == 200
    assert list_bucket(s3_env, bucket) == ["p/up/data.bin"]
    get_url = store.sign("GET", "up/data.bin", 300)
    assert httpx.get(get_url).content == b"via url"
    assert "X-Amz-Signature=" in get_url and "X-Amz-Expires=300" in get_url


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/abs", "a//b", "a\\b", "./a", "a/.."])
def test_path_traversal_is_refused(bucket: str, s3_env: S3Server, key: str, tmp_path: Path):
    store = store_for_url(f"s3://{bucket}/prefix")
    src = tmp_path / "f.txt"
    src.write_text("x")
    for call in (
        lambda: store.put_file(src, key),
        lambda: store.put_bytes(b"x", key),
        lambda: store.open(key, "wb"),
        lambda: store.get(key, tmp_path / "out"),
        lambda: store.exists(key),
        lambda: store.sign("GET", key, 60),
    ):
        with pytest.raises(ValueError, match="storage key"):
            call()
    assert list_bucket(s3_env, bucket) == []


def test_urls_with_traversal_are_refused(bucket: str, s3_env: S3Server):
    from flyte.io import File

    with pytest.raises(ValueError, match="path traversal"):
        File.from_existing_remote(f"s3://{bucket}/a/../../etc/passwd").exists_sync()
    with pytest.raises(ValueError):
        store_for_url(f"s3://{bucket}/../other")


def test_missing_obstore_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    import builtins

    import flyte.errors

    real_import = builtins.__import__

    def no_obstore(name: str, *args, **kwargs):
        if name == "obstore" or name.startswith("obstore."):
            raise ImportError("No module named 'obstore'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_obstore)
    with pytest.raises(flyte.errors.InitializationError, match=r"pip install 'flyte-engine\[s3\]'"):
        store_for_url("s3://some-bucket/prefix")
