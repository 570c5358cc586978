"""The blob-store layer: a small protocol and its local-directory implementation.

Keys are relative POSIX paths (see :func:`validate_key`). Writes land in a temporary name
next to their destination first and are renamed into place, so readers never see half a
file. With ``key=None`` the ``put_*`` methods choose a content-addressed key
(``cas/<sha256>/<name>``): equal content is stored once and always gets the same path.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from flyte.storage._hashing import copy_and_hash, hash_bytes, tree_digest
from flyte.storage._keys import validate_key, validate_name

CAS_PREFIX = "cas"
_TMP_DIR = ".tmp"


@dataclass(frozen=True)
class BlobInfo:
    """What a ``put_*`` call stored: its key, where it lives, its sha256 digest and size."""

    key: str
    path: str
    hash: str
    size: int


@runtime_checkable
class BlobStore(Protocol):
    """Where File, Dir and DataFrame data is kept. Every key argument is validated."""

    def path_for(self, key: str) -> str:
        """The location (a path or URI) that readers use for ``key``."""
        ...

    def put_file(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        """Copy a local file in (content-addressed when ``key`` is None)."""
        ...

    def put_bytes(self, data: bytes, key: str | None = None, *, name: str = "blob") -> BlobInfo:
        """Store in-memory data (content-addressed as ``cas/<sha256>/<name>`` when ``key`` is None)."""
        ...

    def put_dir(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        """Copy a local directory tree in (content-addressed when ``key`` is None)."""
        ...

    def get(self, key: str, dest: str | os.PathLike[str]) -> Path:
        """Copy the file or directory at ``key`` to the local path ``dest``."""
        ...

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        """Open the blob at ``key``; write modes create missing parent directories."""
        ...

    def exists(self, key: str) -> bool:
        """Whether a file or directory is stored at ``key``."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys of all files at or below ``prefix``, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the file or directory tree at ``key`` (no error if it is absent)."""
        ...


class LocalBlobStore:
    """A :class:`BlobStore` kept in a local directory (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalBlobStore) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    # -- paths -----------------------------------------------------------------------------

    def _path(self, key: str, *, allow_root: bool = False) -> Path:
        validate_key(key, allow_empty=allow_root)
        path = self.root / key if key else self.root
        # Defence in depth: a symlink inside the store must not lead outside of it.
        real_root = self.root.resolve()
        real = path.resolve()
        if real != real_root and real_root not in real.parents:
            raise ValueError(f"storage key {key!r} resolves outside of the store")
        return path

    def path_for(self, key: str) -> str:
        return str(self._path(key))

    def key_for(self, path: str | os.PathLike[str]) -> str | None:
        """The key of a path inside this store, or None for paths elsewhere."""
        try:
            rel = Path(path).absolute().relative_to(self.root)
        except ValueError:
            return None
        key = rel.as_posix()
        return None if key in ("", ".") else key

    def _tmp_path(self, name: str = "") -> Path:
        tmp = self.root / _TMP_DIR
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp / f"{uuid.uuid4().hex}{name}"

    # -- writes ------------------------------------------------------------------------------

    def _settle(self, tmp: Path, key: str | None, name: str, digest: str, size: int) -> BlobInfo:
        """Move a finished temporary file or directory to its key."""
        if key is None:
            key = f"{CAS_PREFIX}/{digest}/{name}"
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if key.startswith(f"{CAS_PREFIX}/") and dest.exists():
            _remove(tmp)  # the same content is already there
        elif tmp.is_dir():
            if dest.exists():
                _remove(dest)
            try:
                os.replace(tmp, dest)
            except OSError:  # another writer settled the same key first
                _remove(tmp)
        else:
            os.replace(tmp, dest)
        return BlobInfo(key=key, path=str(dest), hash=digest, size=size)

    def put_file(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        src_path = Path(src)
        if not src_path.is_file():
            raise FileNotFoundError(f"not a file: {src}")
        if key is not None:
            validate_key(key)
        name = validate_name(src_path.name, "file name")
        tmp = self._tmp_path()
        try:
            digest, size = copy_and_hash(src_path, tmp)
        except BaseException:
            _remove(tmp)
            raise
        return self._settle(tmp, key, name, digest, size)

    def put_bytes(self, data: bytes, key: str | None = None, *, name: str = "blob") -> BlobInfo:
        if key is not None:
            validate_key(key)
        validate_name(name)
        tmp = self._tmp_path()
        tmp.write_bytes(data)
        return self._settle(tmp, key, name, hash_bytes(data), len(data))

    def put_dir(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        src_path = Path(src)
        if not src_path.is_dir():
            raise NotADirectoryError(f"not a directory: {src}")
        if key is not None:
            validate_key(key)
        name = validate_name(src_path.absolute().name or "root", "directory name")
        tmp = self._tmp_path()
        entries: list[tuple[str, str]] = []
        size = 0
        try:
            tmp.mkdir()
            for dirpath, _dirs, files in os.walk(src_path):
                here = Path(dirpath)
                rel_dir = here.relative_to(src_path)
                (tmp / rel_dir).mkdir(parents=True, exist_ok=True)
                for fname in files:
                    if not (here / fname).is_file():
                        continue  # sockets, broken links...
                    rel = (rel_dir / fname).as_posix()
                    digest, n = copy_and_hash(here / fname, tmp / rel)
                    entries.append((rel, digest))
                    size += n
        except BaseException:
            _remove(tmp)
            raise
        return self._settle(tmp, key, name, tree_digest(entries), size)

    # -- reads and the rest ----------------------------------------------------------------------

    def get(self, key: str, dest: str | os.PathLike[str]) -> Path:
        src = self._path(key)
        target = Path(dest)
        if src.is_dir():
            shutil.copytree(src, target, dirs_exist_ok=True)
        elif src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
        else:
            raise FileNotFoundError(f"nothing is stored at key {key!r} in {self!r}")
        return target

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        path = self._path(key)
        if any(c in mode for c in "wax"):
            path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, mode)  # noqa: SIM115 -- the caller owns the handle

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix, allow_root=True)
        if base.is_file():
            return [prefix]
        if not base.is_dir():
            return []
        keys = []
        for dirpath, dirs, files in os.walk(base):
            if Path(dirpath) == self.root and _TMP_DIR in dirs:
                dirs.remove(_TMP_DIR)
            for fname in files:
                keys.append((Path(dirpath) / fname).relative_to(self.root).as_posix())
        return sorted(keys)

    def delete(self, key: str) -> None:
        _remove(self._path(key))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
