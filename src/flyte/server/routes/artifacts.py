"""``/api/v1/artifacts``: the artifacts recorded with the outputs of the runs on this server,
found by the same query a local ``flyte.remote.Artifact`` lookup runs (``flyte.artifacts._search``)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from flyte.artifacts._search import Query, search
from flyte.server.routes import store

router = APIRouter(prefix="/artifacts", tags=["artifacts"])


@router.post("/search")
async def search_artifacts(request: Request, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The artifact records matching ``query`` (a ``Query`` as JSON), newest first; read-only
    (a POST only because a partition selection does not fit a query string)."""
    return await asyncio.to_thread(search, store(request), Query.from_json(query))
