"""Dir: a reference to a directory tree in storage, passed between tasks without its content."""

from __future__ import annotations

import asyncio
import fnmatch
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from flyte.io._file import File, safe_leaf
from flyte.io._reference import WireReference
from flyte.storage._default import default_store, is_remote, locate, to_local_path
from flyte.storage._hashing import hash_dir
from flyte.storage._keys import validate_key

T = TypeVar("T")


class Dir(WireReference, Generic[T]):
    """A directory kept in the blob store and passed between tasks by reference.

    Create one with :meth:`from_local` (copies a local tree into the store; the original may be
    deleted afterwards), :meth:`new_remote` (an empty directory to fill) or
    :meth:`from_existing_remote` (a reference, nothing is copied). ``Dir[T]`` records what kind
    of files it holds. Methods without a ``_sync`` suffix are async; the ``_sync`` twins block.

    ``hash`` is a digest of the relative names and sha256 contents of all files for directories
    stored by :meth:`from_local` (or the given cache key), so equal trees get equal hashes.
    """

    __slots__ = ("path", "name", "format", "hash")

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        format: str = "",
        hash: str | None = None,
    ) -> None:
        self.path: str = os.fspath(path)
        self.name: str | None = name if name is not None else Path(self.path.rstrip("/\\") or "/").name
        self.format: str = format or ""
        self.hash: str | None = hash

    # -- wire form, equality, pydantic compatibility ------------------------------------------

    def _to_wire(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "format": self.format, "hash": self.hash}

    @classmethod
    def _from_wire(cls, wire: dict[str, Any]) -> Dir[T]:
        return cls(
            path=wire["path"], name=wire.get("name"), format=wire.get("format") or "", hash=wire.get("hash")
        )

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._to_wire().items())
        return f"{type(self).__name__}({fields})"

    # -- constructors ----------------------------------------------------------------------------

    @classmethod
    def new_remote(cls, dir_name: str | None = None, hash: str | None = None) -> Dir[T]:
        """A new, empty directory in the blob store to write files into."""
        if dir_name is not None:
            validate_key(dir_name)
        key = f"{uuid.uuid4().hex}/{dir_name or uuid.uuid4().hex}"
        path = default_store().path_for(key)
        if not is_remote(path):  # object stores have no directories: it appears with its first file
            Path(path).mkdir(parents=True, exist_ok=True)
        return cls(path=path, hash=hash)

    @classmethod
    def from_existing_remote(cls, remote_path: str, dir_cache_key: str | None = None) -> Dir[T]:
        """A reference to a directory that already exists; nothing is copied."""
        return cls(path=remote_path, hash=dir_cache_key)

    @classmethod
    def from_local_sync(
        cls,
        local_path: str | os.PathLike[str],
        remote_destination: str | None = None,
        dir_cache_key: str | None = None,
    ) -> Dir[T]:
        """Copy a local directory tree into storage and return a Dir for the copy (blocking).

        Without ``remote_destination`` the tree goes to the current blob store under a
        content-addressed key. Symlinked sub-directories are not followed.
        """
        src = Path(local_path)
        if not src.is_dir():
            raise ValueError(f"Directory not found: {local_path}")
        name = src.absolute().name
        if remote_destination and is_remote(remote_destination):
            store, key = locate(os.fspath(remote_destination).rstrip("/"))
            info = store.put_dir(src, key)
            path, digest = info.path, info.hash
        elif remote_destination:
            dest = to_local_path(remote_destination).absolute()
            shutil.copytree(src, dest, dirs_exist_ok=True)
            path, digest = str(dest), hash_dir(dest)
        else:
            info = default_store().put_dir(src)
            path, digest = info.path, info.hash
        return cls(path=path, name=name, hash=dir_cache_key or digest)

    @classmethod
    async def from_local(
        cls,
        local_path: str | os.PathLike[str],
        remote_destination: str | None = None,
        dir_cache_key: str | None = None,
        batch_size: int | None = None,
    ) -> Dir[T]:
        """Copy a local directory tree into storage; see :meth:`from_local_sync`.

        ``batch_size`` is accepted for compatibility (local copies are not batched).
        """
        return await asyncio.to_thread(cls.from_local_sync, local_path, remote_destination, dir_cache_key)

    # -- listing -------------------------------------------------------------------------------------

    def _local(self) -> Path:
        return to_local_path(self.path)

    def _remote_files(self, recursive: bool, file_pattern: str, max_depth: int | None) -> list[File[T]]:
        store, key = locate(self.path.rstrip("/"))
        found: list[File[T]] = []
        for child in store.list(key):
            if child == key:
                continue  # an object, not a directory, lives at this path
            rel = child[len(key) + 1 :].split("/")
            depth = len(rel) - 1
            if (not recursive and depth > 0) or (max_depth is not None and depth + 1 > max_depth):
                continue
            if fnmatch.fnmatch(rel[-1], file_pattern):
                found.append(File(path=store.path_for(child), name=rel[-1]))
        return found

    def _files(self, recursive: bool, file_pattern: str, max_depth: int | None) -> list[File[T]]:
        if is_remote(self.path):
            return self._remote_files(recursive, file_pattern, max_depth)
        root = self._local()
        found: list[File[T]] = []
        for dirpath, dirs, files in os.walk(root):
            here = Path(dirpath)
            depth = len(here.relative_to(root).parts)
            if not recursive or (max_depth is not None and depth + 1 >= max_depth):
                dirs.clear()
            dirs.sort()
            for fname in sorted(files):
                if fnmatch.fnmatch(fname, file_pattern) and (here / fname).is_file():
                    found.append(File(path=str(here / fname), name=fname))
        return found

    def walk_sync(
        self, recursive: bool = True, file_pattern: str = "*", max_depth: int | None = None
    ) -> Iterator[File[T]]:
        """Yield a File for every file (in every sub-directory when ``recursive``), in name order.

        ``file_pattern`` is a glob on file names; ``max_depth`` limits how many directory levels
        are visited (1: the top level only).
        """
        yield from self._files(recursive, file_pattern, max_depth)

    async def walk(
        self, recursive: bool = True, max_depth: int | None = None, file_pattern: str = "*"
    ) -> AsyncIterator[File[T]]:
        """Yield a File for every file; see :meth:`walk_sync`."""
        for f in await asyncio.to_thread(self._files, recursive, file_pattern, max_depth):
            yield f

    def list_files_sync(self) -> list[File[T]]:
        """Files directly in this directory (not in sub-directories)."""
        return self._files(False, "*", None)

    async def list_files(self) -> list[File[T]]:
        """Files directly in this directory (not in sub-directories)."""
        return await asyncio.to_thread(self.list_files_sync)

    def get_file_sync(self, file_name: str) -> File[T] | None:
        """The file at ``file_name`` (a relative path inside the directory), or None if absent.

        Names that would lead outside the directory (``..``, absolute paths) raise ValueError.
        """
        validate_key(file_name)
        if is_remote(self.path):
            store, key = locate(f"{self.path.rstrip('/')}/{file_name}")
            return File(path=store.path_for(key), name=Path(key).name) if store.is_file(key) else None
        path = self._local() / file_name
        return File(path=str(path), name=path.name) if path.is_file() else None

    async def get_file(self, file_name: str) -> File[T] | None:
        """The file at ``file_name``, or None; see :meth:`get_file_sync`."""
        return self.get_file_sync(file_name)

    def exists_sync(self) -> bool:
        """Whether the directory exists (in object storage: whether any object lies below it)."""
        if is_remote(self.path):
            store, key = locate(self.path.rstrip("/"))
            return store.exists(key) and not store.is_file(key)
        return self._local().is_dir()

    async def exists(self) -> bool:
        """Whether the directory exists."""
        return self.exists_sync()

    def download_sync(self, local_path: str | os.PathLike[str] | None = None) -> str:
        """Copy the whole tree to a local directory and return its path (blocking).

        Without ``local_path`` a fresh temporary directory named like this one is used.
        """
        from flyte.storage._api import get_random_local_path

        leaf = safe_leaf(self.name, Path(self.path.rstrip("/")).name or "dir")
        target = get_random_local_path(leaf) if local_path is None else Path(local_path).absolute()
        if is_remote(self.path):
            if not self.exists_sync():
                raise FileNotFoundError(f"directory not found: {self.path}")
            store, key = locate(self.path.rstrip("/"))
            store.get(key, target)
            return str(target)
        src = self._local()
        if not src.is_dir():
            raise FileNotFoundError(f"directory not found: {self.path}")
        shutil.copytree(src, target, dirs_exist_ok=True)
        return str(target)

    async def download(self, local_path: str | os.PathLike[str] | None = None) -> str:
        """Copy the whole tree to a local directory; see :meth:`download_sync`."""
        return await asyncio.to_thread(self.download_sync, local_path)


class EmptyDir(Dir[T]):
    """A new, empty directory in the blob store for a task to fill and return.

    ``EmptyDir()`` creates the directory (like :meth:`Dir.new_remote`); given a ``path`` it
    refers to that directory instead. It is a :class:`Dir` everywhere a Dir is accepted, and
    a task annotated ``-> EmptyDir`` or taking ``d: EmptyDir`` works like one with ``Dir``.
    """

    __slots__ = ()

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        format: str = "",
        hash: str | None = None,
    ) -> None:
        if path is None:
            path = Dir.new_remote(name).path
        super().__init__(path, name=name, format=format, hash=hash)
