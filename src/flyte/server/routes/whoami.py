"""``/api/v1/whoami``: which API key the caller used (its id and name, never the key)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from flyte import __version__
from flyte.server.auth import require_api_key
from flyte.server.routes import store

router = APIRouter(tags=["identity"])


@router.get("/whoami")
async def whoami(request: Request, key_id: str = Depends(require_api_key)) -> dict[str, object]:
    """The caller's API key: ``key_id`` (the first 12 hex digits of its SHA-256), the ``key_name``
    given when it was made, and when that was (unix seconds); plus the server's version."""
    rows = await asyncio.to_thread(
        store(request).execute_read, "SELECT name, created_at FROM server_api_keys WHERE id = ?", (key_id,)
    )
    name, created_at = rows[0] if rows else (None, None)
    return {"key_id": key_id, "key_name": name, "key_created_at": created_at, "server_version": __version__}
