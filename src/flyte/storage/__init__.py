"""Storage for files, directories and dataframes that tasks pass to each other.

Two layers:

- :class:`BlobStore` / :class:`LocalBlobStore`: a keyed store (keys are relative POSIX paths;
  traversal is refused) with content-addressed puts and sha256 hashes.
  :func:`default_store` picks the run's raw data directory inside a task, ``<FLYTE_HOME>/data``
  outside of one.
- path helpers with the reference SDK's names: :func:`put`, :func:`get`, :func:`exists`,
  :func:`put_stream`, :func:`get_stream`, :func:`join`, :func:`get_random_local_path`...

- object-store settings for ``flyte.init(storage=...)``: :class:`Storage`, :class:`S3`,
  :class:`GCS`, :class:`ABFS`.

Backends are picked by URL scheme (:func:`store_for_url`): local paths and ``file://`` are a
:class:`LocalBlobStore`; ``s3://bucket/prefix`` (AWS or any S3-compatible server) is an
:class:`ObjectBlobStore`, through obstore (``pip install 'flyte-engine[s3]'``). S3 settings come
from ``flyte.init(storage=flyte.storage.S3(...))``, the ``AWS_*`` environment or flyte secrets.
``gs://`` and ``abfs://`` are not supported yet.
"""

from __future__ import annotations

from flyte.storage._api import (
    exists,
    exists_sync,
    get,
    get_random_local_directory,
    get_random_local_path,
    get_stream,
    join,
    put,
    put_stream,
)
from flyte.storage._config import ABFS, GCS, S3, Storage
from flyte.storage._default import default_store, is_remote, locate, protocol_of, store_for_url, to_local_path
from flyte.storage._hashing import CHUNK_SIZE, hash_bytes, hash_dir, hash_file, hash_stream
from flyte.storage._keys import validate_key
from flyte.storage._object import ObjectBlobStore
from flyte.storage._store import BlobInfo, BlobStore, LocalBlobStore

__all__ = [
    "ABFS",
    "CHUNK_SIZE",
    "GCS",
    "S3",
    "Storage",
    "BlobInfo",
    "BlobStore",
    "LocalBlobStore",
    "ObjectBlobStore",
    "default_store",
    "exists",
    "exists_sync",
    "get",
    "get_random_local_directory",
    "get_random_local_path",
    "get_stream",
    "hash_bytes",
    "hash_dir",
    "hash_file",
    "hash_stream",
    "is_remote",
    "join",
    "locate",
    "protocol_of",
    "put",
    "put_stream",
    "store_for_url",
    "to_local_path",
    "validate_key",
]
