"""Storage keys: relative POSIX paths, checked before they touch the filesystem."""

from __future__ import annotations

import re

_DRIVE = re.compile(r"^[A-Za-z]:")


def validate_key(key: str, *, allow_empty: bool = False) -> str:
    """Return ``key`` if it is a safe relative POSIX path, else raise :class:`ValueError`.

    A key is refused when it is absolute, names a drive (``C:``), contains a backslash or a NUL
    byte, or has an empty, ``.`` or ``..`` segment: such keys could escape the store's root
    or mean different files on different platforms. ``allow_empty`` accepts ``""`` (the root,
    used as a listing prefix).
    """
    if not isinstance(key, str):
        raise ValueError(f"storage key must be a str, got {type(key).__name__}")
    if key == "":
        if allow_empty:
            return key
        raise ValueError("storage key must not be empty")
    if "\x00" in key:
        raise ValueError(f"storage key {key!r} contains a NUL byte")
    if "\\" in key:
        raise ValueError(f"storage key {key!r} contains a backslash; use '/' as the separator")
    if key.startswith("/") or _DRIVE.match(key):
        raise ValueError(f"storage key {key!r} is absolute; keys are relative to the store's root")
    for part in key.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(
                f"storage key {key!r} has an empty, '.' or '..' segment; path traversal is not allowed"
            )
    return key


def validate_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a single, safe path segment (no separators), else raise ValueError."""
    validate_key(name)
    if "/" in name:
        raise ValueError(f"{what} {name!r} must be a plain file name without path separators")
    return name
