"""Content hashing for image identity: files and folders feed their bytes, not their location."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Names never part of a folder's identity (caches and VCS data change without changing the image).
_SKIP_NAMES = frozenset({".git", "__pycache__", ".DS_Store", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


def hash_file_into(path: Path, hasher: Any) -> None:
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)


def hash_path_into(path: Path, hasher: Any) -> None:
    """Feed the content of a file, or of every file under a folder (by relative path), into ``hasher``.

    Where the path lives does not matter; a missing path hashes as a marker plus its name, so the
    identifier of a definition that was built elsewhere can still be computed.
    """
    if path.is_file():
        hasher.update(b"F\x00")
        hash_file_into(path, hasher)
    elif path.is_dir():
        hasher.update(b"D\x00")
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_NAMES)
            for name in sorted(files):
                if name in _SKIP_NAMES or name.endswith((".pyc", ".pyo")):
                    continue
                full = Path(root, name)
                hasher.update(full.relative_to(path).as_posix().encode("utf-8") + b"\x00")
                if full.is_file():
                    hash_file_into(full, hasher)
                hasher.update(b"\x00")
    else:
        hasher.update(b"M\x00" + path.name.encode("utf-8"))
