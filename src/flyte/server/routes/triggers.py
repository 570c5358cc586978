"""``/api/v1/triggers``: the triggers of deployed tasks, activating, deactivating, deleting them,
and the ticks they fired."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from flyte.server.triggers.models import TriggerFire, TriggerState, TriggerUpdate
from flyte.server.triggers.registry import Registry

router = APIRouter(prefix="/triggers", tags=["triggers"])


def registry(request: Request) -> Registry:
    return request.app.state.registry


@router.get("", response_model=list[TriggerState])
def list_triggers(request: Request, task: str | None = None, active: bool = False) -> list[TriggerState]:
    """Every trigger (of one task with ``task``; only the active ones with ``active=true``)."""
    return registry(request).triggers(task, active_only=active)


@router.get("/{task}/{name}", response_model=TriggerState)
def get_trigger(request: Request, task: str, name: str) -> TriggerState:
    return registry(request).trigger(task, name)


@router.patch("/{task}/{name}", response_model=TriggerState)
async def update_trigger(request: Request, task: str, name: str, body: TriggerUpdate) -> TriggerState:
    """Activate or deactivate a trigger (an activated trigger's schedule starts again from now)."""
    return await asyncio.to_thread(registry(request).set_active, task, name, body.active)


@router.delete("/{task}/{name}", status_code=204)
async def delete_trigger(request: Request, task: str, name: str) -> Response:
    """Delete a trigger: it fires no more (a later deploy that declares it adds it again)."""
    await asyncio.to_thread(registry(request).delete_trigger, task, name)
    return Response(status_code=204)


@router.get("/{task}/{name}/fires", response_model=list[TriggerFire])
def list_fires(request: Request, task: str, name: str) -> list[TriggerFire]:
    """The ticks the trigger fired, oldest first, with the run each started."""
    registry(request).trigger(task, name)
    return registry(request).fires(task, name)
