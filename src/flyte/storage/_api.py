"""Path-based helpers with the reference SDK's names: put, get, exists, streams, temp paths."""

from __future__ import annotations

import asyncio
import os
import pathlib
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from flyte.storage._default import default_store, is_remote, locate, to_local_path
from flyte.storage._hashing import CHUNK_SIZE


def join(*paths: str) -> str:
    """Join path segments (``os.path.join`` semantics)."""
    return str(os.path.join(*paths))


def get_random_local_path(file_path_or_file_name: pathlib.Path | str | None = None) -> pathlib.Path:
    """A fresh, unused local path in a new temporary directory.

    When a file name (or a path, whose last segment is used) is given, the result ends with it,
    so downloaded files keep their names. The returned path itself does not exist yet.
    """
    base = pathlib.Path(tempfile.mkdtemp(prefix="flyte-tmp-"))
    leaf = uuid.uuid4().hex
    tail = os.path.basename(os.fspath(file_path_or_file_name)) if file_path_or_file_name else ""
    if tail:
        folder = base / leaf
        folder.mkdir(parents=True, exist_ok=True)
        return folder / tail
    return base / leaf


def get_random_local_directory() -> pathlib.Path:
    """A new, empty local temporary directory."""
    path = get_random_local_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _resolve_target(
    from_path: pathlib.Path, to_path: str | pathlib.Path | None, recursive: bool
) -> pathlib.Path:
    if not to_path:
        return get_random_local_path(from_path.name)
    text = os.fspath(to_path)
    target = to_local_path(text)
    if not recursive and (text.endswith(os.sep) or target.is_dir()):
        return target / from_path.name
    return target


def _copy(src: pathlib.Path, dst: pathlib.Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    elif src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    else:
        raise FileNotFoundError(f"no such file or directory: {src}")


async def get(
    from_path: str, to_path: str | pathlib.Path | None = None, recursive: bool = False, **kwargs: Any
) -> str:
    """Copy the file (or, with ``recursive=True``, directory) at ``from_path`` to a local path.

    Without ``to_path`` a fresh temporary location is chosen. Returns the local path.
    ``from_path`` may be an ``s3://`` URL; the download is streamed to disk.
    """
    if is_remote(from_path):
        store, key = locate(from_path.rstrip("/"))
        target = _resolve_target(pathlib.Path(key), to_path, recursive)
        await asyncio.to_thread(store.get, key, target)
        return str(target)
    src = to_local_path(from_path)
    target = _resolve_target(src, to_path, recursive)
    await asyncio.to_thread(_copy, src, target)
    return str(target)


async def put(from_path: str, to_path: str | None = None, recursive: bool = False, **kwargs: Any) -> str:
    """Copy a local file or directory into storage and return where it now lives.

    Without ``to_path`` the data goes to the current blob store (the run's raw data directory
    inside a task) under a content-addressed key.
    """
    src = to_local_path(from_path)
    if to_path and is_remote(to_path):
        if to_path.endswith("/"):
            to_path += src.name
        bucket, key = locate(to_path)
        put_to = bucket.put_dir if src.is_dir() else bucket.put_file
        return (await asyncio.to_thread(put_to, src, key)).path
    if to_path:
        target = to_local_path(to_path)
        await asyncio.to_thread(_copy, src, target)
        return str(target)
    store = default_store()
    put_fn = store.put_dir if src.is_dir() else store.put_file
    info = await asyncio.to_thread(put_fn, src)
    return info.path


async def exists(path: str, **kwargs: Any) -> bool:
    """Whether a file or directory exists at ``path``."""
    return exists_sync(path)


def exists_sync(path: str, **kwargs: Any) -> bool:
    """Whether a file or directory exists at ``path`` (blocking)."""
    if is_remote(path):
        store, key = locate(path.rstrip("/"))
        return store.exists(key)
    return to_local_path(path).exists()


async def put_stream(
    data_iterable: AsyncIterable[bytes] | bytes,
    *,
    name: str | None = None,
    to_path: str | None = None,
    **kwargs: Any,
) -> str:
    """Write bytes (or an async iterable of byte chunks) to ``to_path``, or to a new key of the
    current blob store named ``name``. Returns the path written."""
    if not to_path:
        from flyte.storage._keys import validate_key

        key = f"{uuid.uuid4().hex}/{validate_key(name) if name else uuid.uuid4().hex}"
        to_path = default_store().path_for(key)
    if is_remote(to_path):
        store, key = locate(to_path)
        out = await asyncio.to_thread(store.open, key, "wb")
        try:
            if isinstance(data_iterable, (bytes, bytearray, memoryview)):
                await asyncio.to_thread(out.write, data_iterable)
            else:
                async for chunk in data_iterable:
                    await asyncio.to_thread(out.write, chunk)
        finally:
            await asyncio.to_thread(out.close)
        return to_path
    target = to_local_path(to_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with open(tmp, "wb") as out:
            if isinstance(data_iterable, (bytes, bytearray, memoryview)):
                out.write(data_iterable)
            else:
                async for chunk in data_iterable:
                    out.write(chunk)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return str(target)


async def get_stream(path: str, chunk_size: int = 10 * 2**20, **kwargs: Any) -> AsyncIterator[bytes]:
    """Yield the content of the file at ``path`` in chunks of at most ``chunk_size`` bytes."""
    if is_remote(path):
        store, key = locate(path)
        f = await asyncio.to_thread(store.open, key, "rb")
    else:
        f = open(to_local_path(path), "rb")  # noqa: SIM115 -- closed by the with below
    with f:
        while chunk := await asyncio.to_thread(f.read, chunk_size or CHUNK_SIZE):
            yield chunk
