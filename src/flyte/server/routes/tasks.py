"""``/api/v1/tasks``: deploy a task version, list tasks and their versions, read one version."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request, Response

from flyte.server.errors import BadRequest, NotFound
from flyte.server.submit import decode_b64
from flyte.server.triggers.models import DeployedTask, TaskDeploy
from flyte.server.triggers.registry import Registry
from flyte.storage import validate_key

router = APIRouter(prefix="/tasks", tags=["tasks"])


def registry(request: Request) -> Registry:
    return request.app.state.registry


def _check(body: TaskDeploy) -> None:
    if body.task.name != body.name:
        raise BadRequest(f"task.name '{body.task.name}' differs from the deployed name '{body.name}'")
    if body.task.bundle_key is not None:
        try:
            validate_key(body.task.bundle_key)
        except ValueError as e:
            raise BadRequest(f"task.bundle_key: {e}") from None
    decode_b64(body.interface.defaults_b64, "interface.defaults_b64")
    names = [t.name for t in body.triggers]
    if len(set(names)) != len(names):
        raise BadRequest(f"Task '{body.name}' declares a trigger name twice: {names}")
    inputs = {i.name for i in body.interface.inputs}
    for t in body.triggers:
        decode_b64(t.inputs_b64, f"triggers[{t.name}].inputs_b64")
        unknown = sorted(set(t.trigger_time_inputs) - inputs)
        if unknown:
            raise BadRequest(
                f"Trigger '{t.name}' sets input(s) {unknown}, which task '{body.name}' does not have"
            )
        a = t.automation
        if a.kind == "cron" and not a.expression:
            raise BadRequest(f"Trigger '{t.name}': a cron automation needs an expression")
        if a.kind == "cron":
            from croniter import croniter

            if not croniter.is_valid(a.expression):
                raise BadRequest(f"Trigger '{t.name}': {a.expression!r} is not a valid cron expression")
        if a.kind == "fixed_rate" and a.interval_minutes is None:
            raise BadRequest(f"Trigger '{t.name}': a fixed_rate automation needs interval_minutes")


@router.post("", status_code=201, response_model=DeployedTask)
async def deploy_task(request: Request, response: Response, body: TaskDeploy) -> DeployedTask:
    """Register one version of a task (200 with it when it exists with the same spec, 409 when
    it exists with another); its triggers become the task's triggers."""
    _check(body)
    deployed = await asyncio.to_thread(registry(request).register, body)
    if not deployed.created:
        response.status_code = 200
    return deployed


@router.get("", response_model=list[DeployedTask])
def list_tasks(
    request: Request,
    name: str | None = None,
    environment: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[DeployedTask]:
    """The latest version of every task (or of one environment's); with ``name``, every version of
    that task, newest first."""
    if name is not None:
        return registry(request).versions(name, limit)
    return registry(request).latest(environment, limit)


@router.get("/{name}", response_model=DeployedTask)
def get_task(request: Request, name: str, version: str | None = None) -> DeployedTask:
    """One version of a task (the latest without ``version``)."""
    found = registry(request).get(name, version)
    if found is None:
        which = f" version '{version}'" if version else ""
        raise NotFound(f"No deployed task '{name}'{which}")
    return found
