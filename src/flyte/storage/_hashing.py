"""Content hashes: sha256, computed by streaming in 1 MiB chunks."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

CHUNK_SIZE = 1024 * 1024
"""Bytes read per step when hashing or copying (1 MiB)."""


def hash_stream(stream: IO[bytes], hasher: Any = None) -> str:
    """The sha256 hex digest of what remains in a binary stream.

    ``hasher`` may be any object with ``update(bytes)`` (``hashlib`` objects, or a
    ``flyte.io.HashMethod``); its own result is then up to the caller.
    """
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK_SIZE):
        digest.update(chunk)
        if hasher is not None:
            hasher.update(memoryview(chunk))
    return digest.hexdigest()


def hash_file(path: str | os.PathLike[str], hasher: Any = None) -> str:
    """The sha256 hex digest of a file's content, read in 1 MiB chunks."""
    with open(path, "rb") as f:
        return hash_stream(f, hasher)


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The sha256 hex digest of in-memory data."""
    return hashlib.sha256(data).hexdigest()


def copy_and_hash(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> tuple[str, int]:
    """Copy a file in one pass, returning ``(sha256 hex digest, size in bytes)``."""
    digest = hashlib.sha256()
    size = 0
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while chunk := fin.read(CHUNK_SIZE):
            digest.update(chunk)
            fout.write(chunk)
            size += len(chunk)
    shutil.copymode(src, dst)
    return digest.hexdigest(), size


def tree_digest(entries: Iterable[tuple[str, str]]) -> str:
    """A digest of a directory from ``(relative POSIX path, file digest)`` pairs.

    The pairs are sorted first, so the result depends on names and contents only, never on
    the order files were found in.
    """
    digest = hashlib.sha256()
    for rel, file_digest in sorted(entries):
        digest.update(rel.encode("utf-8"))
        digest.update(b"\x00")
        digest.update(file_digest.encode("ascii"))
        digest.update(b"\n")
    return digest.hexdigest()


def hash_dir(path: str | os.PathLike[str]) -> str:
    """The :func:`tree_digest` of every regular file below ``path`` (symlinked dirs are not followed)."""
    root = Path(path)
    entries = []
    for dirpath, _dirs, files in os.walk(root):
        for fname in files:
            full = Path(dirpath) / fname
            if full.is_file():
                entries.append((full.relative_to(root).as_posix(), hash_file(full)))
    return tree_digest(entries)
