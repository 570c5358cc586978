"""File: a reference to one file in storage, passed between tasks without its bytes."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from flyte.io._handle import AsyncFile, is_write_mode, open_local, open_remote
from flyte.io._hashing import split_hash_arg
from flyte.io._reference import WireReference
from flyte.storage._default import default_store, is_remote, locate, to_local_path
from flyte.storage._hashing import copy_and_hash, hash_file
from flyte.storage._keys import validate_key, validate_name
from flyte.storage._object import written_sha256

T = TypeVar("T")


def safe_leaf(name: str | None, fallback: str) -> str:
    """A single path segment to save a download under: ``name``'s last segment, else ``fallback``."""
    leaf = os.path.basename(name or "")
    return leaf if leaf not in ("", ".", "..") else fallback


def named_key(name: str) -> str:
    """The store key of ``named_remote(name)``: stable for one action, so retries reuse it."""
    from flyte._context import ctx

    validate_name(name)
    tctx = ctx()
    return f"named/{tctx.action.name}/{name}" if tctx is not None else f"named/{name}"


def apply_hash_method(path: str, method: Any) -> str:
    """Give the file's whole content to ``method`` in one ``update`` and return its result."""
    if is_remote(path):
        store, key = locate(path)
        with store.open(key, "rb") as f:
            method.update(memoryview(f.read()))
    else:
        method.update(memoryview(to_local_path(path).read_bytes()))
    return method.result()


def _open(path: str, mode: str, compression: str | None, **kwargs: Any) -> tuple[IO[Any], IO[Any]]:
    """(handle, underlying file) for a local path or an object-store URL; close both."""
    if is_remote(path):
        return open_remote(path, mode, compression, **kwargs)
    fh = open_local(to_local_path(path), mode, compression, **kwargs)
    return fh, fh


def _close(fh: IO[Any], under: IO[Any]) -> None:
    fh.close()
    if under is not fh:
        under.close()


class File(WireReference, Generic[T]):
    """A file kept in the blob store and passed between tasks by reference.

    Only ``path`` (plus name, format and hash) travels between tasks; the bytes stay in storage.
    Create one with :meth:`from_local` (copies a local file into the store, so the original may
    be deleted afterwards), :meth:`new_remote` / :meth:`named_remote` (a new location to write
    to with :meth:`open`) or :meth:`from_existing_remote` (a reference, nothing is copied).
    ``File[T]`` records what the file holds (``File[pd.DataFrame]``) for readers of the code.

    Methods without a ``_sync`` suffix are async; their ``_sync`` twins block and may be used in
    sync tasks and outside of any run.

    ``hash`` is the sha256 of the content for files stored by this engine (or the value of a
    ``hash_method``), so equal content gives equal hashes.
    """

    __slots__ = ("path", "name", "format", "hash", "_hash_method", "_hash_pinned")

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        format: str = "",
        hash: str | None = None,
        hash_method: Any = None,
    ) -> None:
        self.path: str = os.fspath(path)
        self.name: str | None = name if name is not None else Path(self.path).name
        self.format: str = format or ""
        self.hash: str | None = hash
        self._hash_method = hash_method
        self._hash_pinned = hash is not None

    # -- wire form, equality, pydantic compatibility ------------------------------------------

    def _to_wire(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "format": self.format, "hash": self.hash}

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> File[T]:
        f = cls(
            path=wire["path"], name=wire.get("name"), format=wire.get("format") or "", hash=wire.get("hash")
        )
        f._hash_pinned = False  # a received file that gets rewritten takes the new content's hash
        return f

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._to_wire().items())
        return f"{type(self).__name__}({fields})"

    # -- constructors ----------------------------------------------------------------------------

    @classmethod
    def new_remote(cls, file_name: str | None = None, hash_method: Any = None) -> File[T]:
        """A new, not yet written location in the blob store; write it with :meth:`open`.

        ``hash_method``: a string is taken as the hash; a HashMethod computes it when the file
        is closed after writing. Without it the sha256 of what was written is used.
        """
        if file_name is not None:
            validate_key(file_name)
        key = f"{uuid.uuid4().hex}/{file_name or uuid.uuid4().hex}"
        known, method = split_hash_arg(hash_method)
        return cls(path=default_store().path_for(key), hash=known, hash_method=method)

    @classmethod
    def named_remote(cls, name: str) -> File[T]:
        """A location derived from ``name`` and the running action: the same on every retry, so
        a retried attempt finds what an earlier one wrote. ``name`` is a plain file name."""
        return cls(path=default_store().path_for(named_key(name)))

    @classmethod
    def from_existing_remote(cls, remote_path: str, file_cache_key: str | None = None) -> File[T]:
        """A reference to a file that already exists; nothing is copied.

        ``file_cache_key`` becomes the ``hash`` (leave it None to have no hash).
        """
        return cls(path=remote_path, hash=file_cache_key)

    @classmethod
    def from_local_sync(
        cls,
        local_path: str | os.PathLike[str],
        remote_destination: str | None = None,
        hash_method: Any = None,
    ) -> File[T]:
        """Copy a local file into storage and return a File for the copy (blocking).

        Without ``remote_destination`` the copy goes to the current blob store under a
        content-addressed key (the run's raw data inside a task, ``<FLYTE_HOME>/data``
        outside). The source may be changed or deleted afterwards.
        """
        src = Path(local_path)
        if not src.is_file():
            raise ValueError(f"File not found: {local_path}")
        known, method = split_hash_arg(hash_method)
        if remote_destination and is_remote(remote_destination):
            text = os.fspath(remote_destination)
            if text.endswith("/"):
                text += src.name
            store, key = locate(text)
            info = store.put_file(src, key)
            path, digest = info.path, info.hash
        elif remote_destination:
            text = os.fspath(remote_destination)
            dest = to_local_path(text).absolute()
            if text.endswith(("/", os.sep)) or dest.is_dir():
                dest = dest / src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            digest, _ = copy_and_hash(src, dest)
            path = str(dest)
        else:
            info = default_store().put_file(src)
            path, digest = info.path, info.hash
        if known is None and method is not None:
            known = apply_hash_method(path, method)
        return cls(path=path, name=src.name, hash=known or digest, hash_method=method)

    @classmethod
    async def from_local(
        cls,
        local_path: str | os.PathLike[str],
        remote_destination: str | None = None,
        hash_method: Any = None,
    ) -> File[T]:
        """Copy a local file into storage and return a File for the copy.

        See :meth:`from_local_sync`; the copy runs in a worker thread.
        """
        return await asyncio.to_thread(cls.from_local_sync, local_path, remote_destination, hash_method)

    # -- reading and writing -------------------------------------------------------------------------

    def _local(self) -> Path:
        return to_local_path(self.path)

    def _after_write(self, written: str | None = None) -> None:
        """Update ``hash`` after writing; ``written`` is the sha256 an object writer computed."""
        if self._hash_pinned:
            return
        if self._hash_method is not None:
            if self.exists_sync():
                self.hash = apply_hash_method(self.path, self._hash_method)
        elif written is not None:
            self.hash = written
        elif not is_remote(self.path) and self._local().is_file():
            self.hash = hash_file(self._local())

    @contextmanager
    def open_sync(
        self,
        mode: str = "rb",
        block_size: int | None = None,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> Iterator[IO[Any]]:
        """Open the file (blocking file object). Writing creates missing directories and, on
        close, updates ``hash`` from the new content. ``block_size``, ``cache_type`` and
        ``cache_options`` are accepted for compatibility and ignored for local files."""
        fh, under = _open(self.path, mode, compression, **kwargs)
        try:
            yield fh
        finally:
            _close(fh, under)
            if is_write_mode(mode):
                self._after_write(written_sha256(under))

    @asynccontextmanager
    async def open(
        self,
        mode: str = "rb",
        block_size: int | None = None,
        cache_type: str = "readahead",
        cache_options: dict[str, Any] | None = None,
        compression: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AsyncFile]:
        """Open the file for async use: ``data = await fh.read()``, ``await fh.write(b)``.

        See :meth:`open_sync` for the arguments; the underlying blocking file is ``fh.sync``.
        """
        fh, under = await asyncio.to_thread(_open, self.path, mode, compression, **kwargs)
        try:
            yield AsyncFile(fh)
        finally:
            await asyncio.to_thread(_close, fh, under)
            if is_write_mode(mode):
                await asyncio.to_thread(self._after_write, written_sha256(under))

    def exists_sync(self) -> bool:
        """Whether the file exists (blocking)."""
        if is_remote(self.path):
            store, key = locate(self.path)
            return store.is_file(key)
        return self._local().is_file()

    async def exists(self) -> bool:
        """Whether the file exists."""
        return self.exists_sync()

    def download_sync(self, local_path: str | os.PathLike[str] | None = None) -> str:
        """Copy the file to a local path and return it (blocking).

        Without ``local_path`` a fresh temporary path ending with the file's name is used; an
        existing directory (or a path ending with a separator) receives the file under its name.
        """
        from flyte.storage._api import get_random_local_path

        leaf = safe_leaf(self.name, Path(self.path).name)
        if local_path is None:
            target = get_random_local_path(leaf)
        else:
            text = os.fspath(local_path)
            target = Path(text).absolute()
            if text.endswith(("/", os.sep)) or target.is_dir():
                target = target / leaf
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_remote(self.path):
            store, key = locate(self.path)
            store.get(key, target)  # streamed, never whole in memory
        else:
            shutil.copyfile(self._local(), target)
        return str(target)

    async def download(self, local_path: str | os.PathLike[str] | None = None) -> str:
        """Copy the file to a local path and return it; see :meth:`download_sync`."""
        return await asyncio.to_thread(self.download_sync, local_path)
