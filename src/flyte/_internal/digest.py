"""Digests of encoded values: the input hash in an action's identity, and blob names.

Two rules, kept together so that identity and storage agree:

- A value at or above ``LARGE`` bytes is named by its SHA-256 (hardware-accelerated on current
  CPUs, where it runs 2-3x faster than BLAKE2b). The same digest names its blob in the run store,
  so that a large input is hashed once, not once for the action's identity and again per snapshot
  the store writes.
- A smaller value's identity hash stays BLAKE2b-128, as in every earlier version, so that action
  ids (and with them ``--recover`` of runs recorded before) do not change for ordinary inputs.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flyte.types._wire import Spliced

LARGE = 64 * 1024
"""Encoded values from this size on are hashed with SHA-256 (the run store's inline limit too)."""


def blob_digest(data: bytes | Spliced) -> str:
    """The hex SHA-256 of ``data``: the name of its blob in a run store."""
    if isinstance(data, bytes | bytearray | memoryview):
        return hashlib.sha256(data).hexdigest()
    return data.digest("sha256")  # spliced: hashed part by part, never joined


def identity_digest(data: bytes | Spliced, blob: str | None = None) -> str:
    """The input hash of an action's identity (32 hex digits); ``blob`` is ``blob_digest(data)``
    when the caller already has it."""
    if len(data) < LARGE:
        return hashlib.blake2b(data, digest_size=16).hexdigest()  # type: ignore[arg-type]  # bytes: small
    return (blob or blob_digest(data))[:32]
