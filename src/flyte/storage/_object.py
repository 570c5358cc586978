"""Object storage (S3 and S3-compatible servers) as a :class:`~flyte.storage.BlobStore`, via obstore.

An :class:`ObjectBlobStore` is rooted at ``s3://bucket[/prefix]``; its keys are the same
validated relative paths as a local store's, appended to the prefix. Everything streams:
uploads of files above :data:`PART_SIZE` go up as multipart uploads, downloads are written
chunk by chunk, and :meth:`ObjectBlobStore.open` gives buffered file objects over ranged reads
and a multipart writer. An object store has no directories: a "directory" is every object
below ``key/``.

obstore is an optional dependency (``pip install 'flyte-engine[s3]'``), imported on first use.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import threading
import uuid
from pathlib import Path
from typing import IO, Any

from flyte.errors import InitializationError
from flyte.storage._config import S3
from flyte.storage._hashing import CHUNK_SIZE, hash_bytes, hash_file, tree_digest
from flyte.storage._keys import validate_key, validate_name
from flyte.storage._s3config import configured_s3, s3_store_kwargs
from flyte.storage._store import CAS_PREFIX, BlobInfo

OBJECT_SCHEMES = frozenset({"s3"})
"""URL schemes served by :class:`ObjectBlobStore`."""
PART_SIZE = 8 * 1024 * 1024
"""Files larger than this go up as multipart uploads, in parts of this size."""
DOWNLOAD_CHUNK = 8 * 1024 * 1024
"""Bytes held in memory at a time while downloading."""
EXTRA = "s3"
"""The optional extra that brings obstore in: ``pip install 'flyte-engine[s3]'``."""


def obstore_module() -> Any:
    """``obstore``, or an :class:`~flyte.errors.InitializationError` naming the extra to install."""
    try:
        import obstore
    except ImportError:
        raise InitializationError(
            "MissingExtra",
            "user",
            f"object storage (s3://) needs obstore: pip install 'flyte-engine[{EXTRA}]'",
        ) from None
    return obstore


def split_url(url: str) -> tuple[str, str, str]:
    """``s3://bucket/a/b`` -> ``("s3", "bucket", "a/b")``; the path part is a validated key (or "")."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in OBJECT_SCHEMES:
        raise ValueError(f"{url!r} is not an object-store URL; expected s3://bucket/prefix")
    bucket, _, path = rest.partition("/")
    if not bucket:
        raise ValueError(f"{url!r} names no bucket; expected s3://bucket/prefix")
    path = path.rstrip("/")
    validate_key(path, allow_empty=True)
    return scheme, bucket, path


# One obstore client per (bucket, settings): building one reads the environment and sets up a
# connection pool, so stores made for every File reuse it. The settings object is the cache key;
# it is frozen and hashable, and its repr masks secrets.
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()
_ENV_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT",
)  # fmt: skip


def _client(bucket: str, cfg: S3) -> Any:
    # The environment is part of the key: obstore reads it when the client is built.
    cache_key = (bucket, cfg, *(os.environ.get(v) for v in _ENV_VARS))
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            obstore_module()
            from obstore.store import S3Store

            client = _clients[cache_key] = S3Store(bucket, **s3_store_kwargs(cfg))
        return client


def forget_clients() -> None:
    """Drop cached clients (after credentials or endpoints change, e.g. between tests)."""
    with _clients_lock:
        _clients.clear()


class ObjectBlobStore:
    """A :class:`~flyte.storage.BlobStore` in an S3 bucket under an optional prefix.

    ``config`` gives endpoint and credentials; by default those of ``flyte.init(storage=...)``,
    else the environment (see :mod:`flyte.storage._s3config`).
    """

    def __init__(self, url: str, config: S3 | None = None) -> None:
        self.scheme, self.bucket, self.prefix = split_url(url)
        self._config = config
        obstore_module()  # fail at once, naming the extra, rather than at the first write

    def __repr__(self) -> str:
        return f"ObjectBlobStore({self.url!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectBlobStore) and other.url == self.url

    def __hash__(self) -> int:
        return hash(self.url)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def client(self) -> Any:
        """The obstore client for this bucket (shared by every store on it)."""
        return _client(self.bucket, self._config if self._config is not None else configured_s3())

    # -- keys and paths --------------------------------------------------------------------------

    def _obj(self, key: str, *, allow_root: bool = False) -> str:
        """The object path inside the bucket for ``key`` (validated)."""
        validate_key(key, allow_empty=allow_root)
        if not key:
            return self.prefix
        return f"{self.prefix}/{key}" if self.prefix else key

    def path_for(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self._obj(key)}"

    def key_for(self, url: str) -> str | None:
        """The key of a URL inside this store, or None for URLs elsewhere."""
        try:
            scheme, bucket, path = split_url(url)
        except ValueError:
            return None
        if (scheme, bucket) != (self.scheme, self.bucket):
            return None
        if not self.prefix:
            return path or None
        if path.startswith(self.prefix + "/"):
            return path[len(self.prefix) + 1 :]
        return None

    # -- writes ------------------------------------------------------------------------------------

    def _put_path(self, src: Path, obj: str) -> int:
        """Upload a local file, multipart above :data:`PART_SIZE`; returns its size."""
        obstore = obstore_module()
        size = src.stat().st_size
        obstore.put(
            self.client, obj, src, use_multipart=size > PART_SIZE, chunk_size=PART_SIZE, max_concurrency=8
        )
        return size

    def put_file(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        src_path = Path(src)
        if not src_path.is_file():
            raise FileNotFoundError(f"not a file: {src}")
        name = validate_name(src_path.name, "file name")
        if key is not None:
            validate_key(key)
        # The hash is needed before a content-addressed key exists, so the file is read twice
        # (locally, which costs far less than the upload).
        digest = hash_file(src_path)
        if key is None:
            key = f"{CAS_PREFIX}/{digest}/{name}"
            if self._is_object(self._obj(key)):
                return BlobInfo(key, self.path_for(key), digest, src_path.stat().st_size)
        size = self._put_path(src_path, self._obj(key))
        return BlobInfo(key, self.path_for(key), digest, size)

    def put_bytes(self, data: bytes, key: str | None = None, *, name: str = "blob") -> BlobInfo:
        validate_name(name)
        digest = hash_bytes(data)
        if key is None:
            key = f"{CAS_PREFIX}/{digest}/{name}"
        obstore_module().put(self.client, self._obj(key), data, use_multipart=len(data) > PART_SIZE)
        return BlobInfo(key, self.path_for(key), digest, len(data))

    def put_dir(self, src: str | os.PathLike[str], key: str | None = None) -> BlobInfo:
        src_path = Path(src)
        if not src_path.is_dir():
            raise NotADirectoryError(f"not a directory: {src}")
        name = validate_name(src_path.absolute().name or "root", "directory name")
        if key is not None:
            validate_key(key)
        files: list[tuple[str, Path]] = []
        for dirpath, _dirs, names in os.walk(src_path):
            for fname in names:
                full = Path(dirpath) / fname
                if full.is_file():  # sockets, broken links...
                    files.append((full.relative_to(src_path).as_posix(), full))
        entries = [(rel, hash_file(full)) for rel, full in files]
        digest = tree_digest(entries)
        if key is None:
            key = f"{CAS_PREFIX}/{digest}/{name}"
        size = sum(self._put_path(full, self._obj(f"{key}/{rel}")) for rel, full in files)
        return BlobInfo(key, self.path_for(key), digest, size)

    # -- reads and the rest --------------------------------------------------------------------------

    def _is_object(self, obj: str) -> bool:
        try:
            obstore_module().head(self.client, obj)
        except FileNotFoundError:
            return False
        return True

    def _objects(self, obj_prefix: str) -> list[str]:
        """Object paths strictly below ``obj_prefix/`` (everything when the prefix is empty)."""
        obstore = obstore_module()
        found: list[str] = []
        for batch in obstore.list(self.client, obj_prefix or None, chunk_size=1000):
            found.extend(meta["path"] for meta in batch)
        return sorted(found)

    def _download(self, obj: str, target: Path) -> None:
        """Stream one object to ``target`` (via a temporary name, so no half file is left)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            result = obstore_module().get(self.client, obj)
            with open(tmp, "wb") as out:
                for chunk in result.stream(min_chunk_size=DOWNLOAD_CHUNK):
                    out.write(chunk)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()

    def get(self, key: str, dest: str | os.PathLike[str]) -> Path:
        obj = self._obj(key)
        target = Path(dest)
        if self._is_object(obj):
            self._download(obj, target)
            return target
        below = self._objects(obj)
        if not below:
            raise FileNotFoundError(f"nothing is stored at key {key!r} in {self!r}")
        for path in below:
            rel = path[len(obj) + 1 :]
            validate_key(rel)  # an object named with '..' must not be written outside of dest
            self._download(path, target.joinpath(*rel.split("/")))
        return target

    def open(self, key: str, mode: str = "rb") -> IO[Any]:
        """A buffered file object: ranged reads for ``r`` modes, a multipart writer for ``w``.

        Append and read-write modes are refused: objects are written whole.
        """
        obj = self._obj(key)
        binary = open_object(self, obj, mode.replace("t", "").replace("b", "") or "r")
        return binary if "b" in mode else io.TextIOWrapper(binary, encoding="utf-8")  # type: ignore[arg-type]

    def exists(self, key: str) -> bool:
        obj = self._obj(key)
        if self._is_object(obj):
            return True
        # Anything below ``key/`` makes it a "directory"; one listed object is enough to know.
        return any(batch for batch in obstore_module().list(self.client, obj, chunk_size=1))

    def is_file(self, key: str) -> bool:
        """Whether an object (not a "directory" of objects) is stored at ``key``."""
        return self._is_object(self._obj(key))

    def size(self, key: str) -> int:
        """The size in bytes of the object at ``key``."""
        return int(obstore_module().head(self.client, self._obj(key))["size"])

    def list(self, prefix: str = "") -> list[str]:
        obj = self._obj(prefix, allow_root=True)
        if obj and self._is_object(obj):
            return [prefix]
        cut = len(self.prefix) + 1 if self.prefix else 0
        return [path[cut:] for path in self._objects(obj)]

    def delete(self, key: str) -> None:
        obstore = obstore_module()
        obj = self._obj(key)
        paths = ([obj] if self._is_object(obj) else []) + self._objects(obj)
        if paths:
            obstore.delete(self.client, paths)

    def sign(self, method: str, key: str, ttl_seconds: float) -> str:
        """A presigned URL that lets its holder ``GET`` or ``PUT`` ``key`` for ``ttl_seconds``."""
        return str(
            obstore_module().sign(
                self.client, method, self._obj(key), datetime.timedelta(seconds=ttl_seconds)
            )
        )


# -- file objects over obstore's buffered reader and writer --------------------------------------------


class _ObjectReader(io.RawIOBase):
    """Raw reads from obstore's ``ReadableFile`` (ranged GETs), for an :class:`io.BufferedReader`."""

    def __init__(self, reader: Any, name: str) -> None:
        self._reader = reader
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._reader.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = memoryview(data)
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._reader.seek(offset, whence))

    def tell(self) -> int:
        return int(self._reader.tell())

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()


class _ObjectWriter(io.RawIOBase):
    """Raw writes into obstore's ``WritableFile`` (a multipart upload once past its buffer).

    The sha256 of everything written is kept, so a File learns its hash without reading back.
    """

    def __init__(self, writer: Any, name: str) -> None:
        self._writer = writer
        self.name = name
        self.sha256 = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sha256.update(view)
        self._writer.write(view.tobytes())
        return len(view)

    def close(self) -> None:
        if not self.closed:
            self._writer.close()  # completes the upload: the object appears whole, or not at all
        super().close()


def open_object(store: ObjectBlobStore, obj: str, mode: str) -> IO[bytes]:
    """A buffered binary file over object ``obj`` (``mode`` ``r``, ``w`` or ``x``)."""
    obstore = obstore_module()
    name = f"{store.scheme}://{store.bucket}/{obj}"
    if mode == "r":
        try:
            reader = obstore.open_reader(store.client, obj, buffer_size=CHUNK_SIZE * 4)
        except FileNotFoundError:
            raise FileNotFoundError(f"no such object: {name}") from None
        return io.BufferedReader(_ObjectReader(reader, name), buffer_size=CHUNK_SIZE)
    if mode in ("w", "x"):
        writer = obstore.open_writer(store.client, obj, buffer_size=PART_SIZE, max_concurrency=8)
        return io.BufferedWriter(_ObjectWriter(writer, name), buffer_size=CHUNK_SIZE)
    raise ValueError(f"object storage files open for reading or writing only, not mode {mode!r}")


def written_sha256(fh: IO[Any]) -> str | None:
    """The sha256 of what was written through a file from :func:`open_object`, else None."""
    raw: Any = fh
    for _ in range(4):  # TextIOWrapper -> BufferedWriter -> _ObjectWriter (compressors keep .fileobj)
        if isinstance(raw, _ObjectWriter):
            return raw.sha256.hexdigest()
        raw = getattr(raw, "buffer", None) or getattr(raw, "raw", None) or getattr(raw, "fileobj", None)
        if raw is None:
            return None
    return None
