"""``/api/v1/runs``: create, list, inspect, abort and rerun runs; their actions, logs and traces."""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from flyte._internal.store import RunRecord
from flyte.models import ActionPhase
from flyte.server.errors import ApiError, BadRequest, NotFound
from flyte.server.models import (
    AbortRequest,
    Action,
    ActionBatch,
    ActionBatchItem,
    ActionBatchResult,
    ActionCreate,
    ActionIO,
    LogLine,
    OutputsRequest,
    OutputsResult,
    RerunRequest,
    Run,
    RunCreate,
    Trace,
    WatchResult,
)
from flyte.server.routes import base_url, scheduler, store, submitter
from flyte.server.routes.data import object_path, object_store
from flyte.server.state import action_to_api

router = APIRouter(prefix="/runs", tags=["runs"])


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def run_to_api(record: RunRecord, base: str) -> Run:
    return Run(
        name=record.name, task_name=record.task_name, phase=record.phase.value, created_at=record.created_at,
        ended_at=record.ended_at, error_type=record.error_type, error_message=record.error_message,
        source_run=record.source_run, labels=dict(record.labels), url=f"{base}/api/v1/runs/{record.name}",
    )  # fmt: skip


def _get_run(request: Request, name: str) -> Run:
    record = store(request).get_run(name)
    if record is None:
        raise NotFound(f"No run named '{name}'")
    return run_to_api(record, base_url(request))


async def _get_run_async(request: Request, name: str) -> Run:
    return await asyncio.to_thread(_get_run, request, name)


@router.post("", status_code=201, response_model=Run)
async def create_run(request: Request, body: RunCreate) -> Run:
    """Start a run: its root action ``a0`` is queued (or decided at once from cache/recovery)."""
    name = await submitter(request).create_run(body)
    return await _get_run_async(request, name)


@router.get("", response_model=list[Run])
def list_runs(
    request: Request,
    phase: list[str] = Query(default=[]),
    task: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    label: list[str] = Query(default=[]),
) -> list[Run]:
    """Runs, newest first, optionally only in the given phases, of one task, or with the given
    ``label=key=value`` labels (a run's project and domain are labels)."""
    try:
        phases = [ActionPhase(p) for p in phase]
    except ValueError:
        raise BadRequest(f"unknown phase in {phase}; use one of {[p.value for p in ActionPhase]}") from None
    wanted = dict(item.partition("=")[::2] for item in label)
    records = store(request).list_runs(phases=phases, task_name=task, limit=limit, labels=wanted)
    base = base_url(request)
    return [run_to_api(r, base) for r in records]


@router.get("/{run}", response_model=Run)
def get_run(request: Request, run: str) -> Run:
    return _get_run(request, run)


@router.post("/{run}/abort", response_model=Run)
async def abort_run(request: Request, run: str, body: AbortRequest | None = None) -> Run:
    """Abort every unfinished action of the run; workers learn it from their heartbeat."""
    current = await _get_run_async(request, run)
    if current.ended_at is None:
        await scheduler(request).abort_run(run, (body.reason if body else "") or "aborted by user")
    return await _get_run_async(request, run)


@router.post("/{run}/actions/{action}/abort", response_model=Action)
async def abort_action(request: Request, run: str, action: str, body: AbortRequest | None = None) -> Action:
    """Abort one action and what runs under it; the parent's call fails with ActionAbortedError."""
    current = await _get_action_async(request, run, action)
    if current.ended_at is None:
        reason = (body.reason if body else "") or "aborted by user"
        await scheduler(request).abort_action(run, action, reason)
    return await _get_action_async(request, run, action)


@router.post("/{run}/rerun", response_model=Run)
async def rerun(request: Request, run: str, body: RerunRequest | None = None) -> Run:
    """A new run of the same task and inputs; with ``recover``, what succeeded before is replayed."""
    body = body or RerunRequest()
    name = await submitter(request).rerun(run, body.recover, body.name)
    return await _get_run_async(request, name)


@router.get("/{run}/actions", response_model=list[Action])
def list_actions(request: Request, run: str) -> list[Action]:
    """Every action of the run, parents before their children."""
    _get_run(request, run)
    return [action_to_api(r) for r in store(request).list_actions(run)]


@router.post("/{run}/actions", status_code=201, response_model=Action)
async def create_action(request: Request, response: Response, run: str, body: ActionCreate) -> Action:
    """Start a child action (called by the parent's worker); 200 with the existing one if the name exists."""
    action, created = await submitter(request).create_action(run, body)
    if not created:
        response.status_code = 200
    return action


@router.post("/{run}/actions:batch", response_model=ActionBatchResult)
async def create_actions(request: Request, run: str, body: ActionBatch) -> ActionBatchResult:
    """Start several children of ``run`` in one commit (what a parent's worker sends for the calls
    it made in one step). Each item answers as ``POST /runs/{run}/actions`` would have: the action
    (``created`` False when the name existed), or its error status and message."""
    outcomes = await submitter(request).create_actions(run, body.actions)
    results = []
    for outcome in outcomes:
        if isinstance(outcome, ApiError):
            results.append(ActionBatchItem(status=outcome.status, error=outcome.detail))
        else:
            action, created = outcome
            results.append(ActionBatchItem(action=action, created=created, status=201 if created else 200))
    return ActionBatchResult(results=results)


@router.post("/{run}/outputs:batch", response_model=OutputsResult)
async def outputs_batch(request: Request, run: str, body: OutputsRequest) -> OutputsResult:
    """The encoded outputs of several actions of ``run`` in one read (unknown names are left out)."""
    db = store(request)

    names = list(dict.fromkeys(body.names))
    sql = (
        "SELECT name, outputs, outputs_ref FROM actions WHERE run_name = ?"
        f" AND name IN ({', '.join('?' * len(names))})"
    )

    def read() -> dict[str, str | None] | None:
        rows = db.execute_read(sql, (run, *names))
        if not rows and db.get_run(run) is None:
            return None
        return {name: _b64(db.load(data, ref)) for name, data, ref in rows}

    found = await asyncio.to_thread(read)
    if found is None:
        raise NotFound(f"No run named '{run}'")
    return OutputsResult(outputs=found)


def _get_action(request: Request, run: str, action: str) -> Action:
    record = store(request).get_action(run, action)
    if record is None:
        if store(request).get_run(run) is None:
            raise NotFound(f"No run named '{run}'")
        raise NotFound(f"Run '{run}' has no action named '{action}'")
    return action_to_api(record)


async def _get_action_async(request: Request, run: str, action: str) -> Action:
    return await asyncio.to_thread(_get_action, request, run, action)


@router.get("/{run}/actions/{action}", response_model=Action)
def get_action(request: Request, run: str, action: str) -> Action:
    return _get_action(request, run, action)


@router.get("/{run}/actions/{action}/report", response_model=None)
def action_report(request: Request, run: str, action: str) -> Response:
    """The HTML report the action wrote (``report=True`` tasks); 404 when it wrote none."""
    _get_action(request, run, action)
    record = store(request).get_action(run, action)
    if record is None or not record.report_path:
        raise NotFound(f"Action '{action}' of run '{run}' has no report")
    missing = NotFound(f"the report of action '{action}' of run '{run}' is missing from storage")
    objects = object_store(request)
    if objects is not None:  # object storage: read it through the store
        if not objects.is_file(record.report_path):
            raise missing
        with objects.open(record.report_path) as f:
            return Response(f.read(), media_type="text/html")
    path = object_path(request, record.report_path)
    if not path.is_file():
        raise missing
    return FileResponse(path, media_type="text/html")


@router.get("/{run}/actions/{action}/io", response_model=ActionIO)
def action_io(request: Request, run: str, action: str) -> ActionIO:
    """The action's encoded inputs and (once it succeeded) outputs, base64."""
    _get_action(request, run, action)
    inputs, outputs = store(request).action_io(run, action)
    return ActionIO(inputs_b64=_b64(inputs), outputs_b64=_b64(outputs))


@router.get("/{run}/actions/{action}/wait", response_model=Action)
async def wait_action(
    request: Request, run: str, action: str, timeout: float = Query(default=30.0, ge=0, le=300)
) -> Action:
    """Long-poll: the action once it has ended, or as it is after ``timeout`` seconds."""
    sched = scheduler(request)
    if (run, action) in sched.active and not sched.closing:
        await sched.waiters.wait((run, action), timeout)
    return await asyncio.to_thread(_get_action, request, run, action)


@router.get("/{run}/watch", response_model=WatchResult)
async def watch_run(
    request: Request,
    run: str,
    since: int = Query(default=0, ge=0),
    timeout: float = Query(default=30.0, ge=0, le=300),
) -> WatchResult:
    """Long-poll: phase changes and log lines after event ``since``."""
    sched = scheduler(request)
    if run not in sched.specs:
        await _get_run_async(request, run)  # 404 for an unknown run
    feed = await sched.feeds.get(run)
    if since > feed.seq:  # numbering restarted (server restart): resynchronise
        return WatchResult(seq=feed.seq, events=[], done=feed.ended)
    if not feed.after(since) and not feed.ended and not sched.closing:
        await sched.feeds.waiters.wait(run, timeout)
    events = feed.after(since)
    return WatchResult(seq=feed.seq, events=events, done=feed.ended)  # type: ignore[arg-type]


@router.get("/{run}/logs", response_model=list[LogLine])
def logs(request: Request, run: str, action: str | None = None) -> list[LogLine]:
    _get_run(request, run)
    return [
        LogLine(action=r.action, attempt=r.attempt, stream=r.stream, at=r.at, line=r.line)
        for r in store(request).get_logs(run, action)
    ]


@router.get("/{run}/traces", response_model=list[Trace])
def traces(request: Request, run: str, action: str | None = None) -> list[Trace]:
    """The ``@flyte.trace`` calls recorded in the run (for replay when recovering it)."""
    _get_run(request, run)
    return [
        Trace(action=t.action, seq=t.seq, name=t.name, inputs_b64=_b64(_bytes(t.inputs)),
              outputs_b64=_b64(_bytes(t.outputs)), error=t.error, started_at=t.started_at,
              ended_at=t.ended_at)
        for t in store(request).get_traces(run, action)
    ]  # fmt: skip


def _bytes(value: object) -> bytes | None:
    return None if value is None else bytes(value)  # type: ignore[call-overload]
