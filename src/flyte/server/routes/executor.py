"""``/api/v1/executor``: what workers call to get actions, keep their leases and report results."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request

from flyte._internal.redaction import redact
from flyte._internal.run_config import flyte_home
from flyte._internal.secrets import StoreRedactor
from flyte._internal.store.records import report_key
from flyte._internal.store.sqlite import LOG_INSERT, TRACE_UPSERT
from flyte.models import ActionPhase
from flyte.server.errors import ApiError
from flyte.server.feed import log_event
from flyte.server.models import (
    Assignment,
    ClaimRequest,
    Heartbeat,
    HeartbeatReply,
    LogBatch,
    Ok,
    Report,
    ReportBatch,
    ReportBatchResult,
    TraceIn,
)
from flyte.server.routes import scheduler, settings, store
from flyte.server.routes.data import object_exists
from flyte.server.routes.runs import _b64
from flyte.server.state import Changes
from flyte.server.submit import decode_b64

logger = logging.getLogger("flyte.server")

router = APIRouter(prefix="/executor", tags=["executor"])


def _redacted(request: Request, text: str) -> str:
    """``text`` without the value of any secret the workers can read (defence in depth: the worker
    that read a secret has already hidden it). The stores are those of the server's home and of
    ``$FLYTE_HOME``, which the worker processes inherit."""
    redactor = getattr(request.app.state, "secret_redactor", None)
    if redactor is None:
        roots = [settings(request).home / "secrets", flyte_home() / "secrets"]
        redactor = request.app.state.secret_redactor = StoreRedactor(roots)
    return redactor.redact(redact(text))


@router.post("/claim", response_model=list[Assignment])
async def claim(request: Request, body: ClaimRequest) -> list[Assignment]:
    """Long-poll: up to ``max`` queued actions, oldest first, leased to ``worker_id``."""
    sched = scheduler(request)
    picked = await sched.claim(body.worker_id, body.max, body.timeout, gone=request.is_disconnected)
    if not picked:
        return []
    db = store(request)
    inputs = await asyncio.to_thread(lambda: [db.action_io(a.run, a.name)[0] for a in picked])
    raw_data_path = settings(request).raw_data_path
    assignments = []
    for a, data in zip(picked, inputs, strict=True):
        spec = sched.specs.get(a.run)
        env = {**a.task.env_vars, **(spec.env_vars if spec else {})}  # the run's variables win, as locally
        assignments.append(
            Assignment(run=a.run, action=a.name, attempt=a.attempt, task=a.task, inputs_b64=_b64(data) or "",
                       custom_context=a.custom_context, env=env,
                       raw_data_path=(spec.raw_data_path if spec else None) or raw_data_path,
                       source_run=spec.recover_from if spec else None, group=a.group,
                       created_at=a.created_at)
        )  # fmt: skip
    return assignments


@router.post("/heartbeat", response_model=HeartbeatReply)
async def heartbeat(request: Request, body: Heartbeat) -> HeartbeatReply:
    """Renew the worker's leases; ``abort`` lists the actions it must cancel."""
    sched = scheduler(request)
    if body.wait <= 0:
        return HeartbeatReply(abort=sched.heartbeat(body.worker_id, body.actions))
    return HeartbeatReply(abort=await sched.wait_heartbeat(body.worker_id, body.actions, body.wait))


@router.post("/report", response_model=Ok)
async def report(request: Request, body: Report) -> Ok:
    """The outcome of an attempt; a report for an attempt that is no longer current is ignored."""
    return await _report(request, body)


@router.post("/report:batch", response_model=ReportBatchResult)
async def report_batch(request: Request, body: ReportBatch) -> ReportBatchResult:
    """The outcomes of several attempts, each handled as ``/report`` handles one; their state
    changes are committed together (the writer groups the changes made at the same time)."""
    outcomes = await asyncio.gather(*(_report(request, r) for r in body.reports), return_exceptions=True)
    results = []
    for r, outcome in zip(body.reports, outcomes, strict=True):
        if isinstance(outcome, ApiError):  # what /report would have refused: this one only
            logger.warning("flyte server: report of %s/%s refused: %s", r.run, r.action, outcome.detail)
            results.append(Ok(ok=False))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            results.append(outcome)
    return ReportBatchResult(results=results)


async def _report(request: Request, body: Report) -> Ok:
    sched = scheduler(request)
    if sched.current(body.run, body.action, body.attempt) is None:
        return Ok(ignored=True)
    if body.report_key is not None:
        await _record_report(request, body)
    if body.phase == "succeeded":
        stored = await sched.offload(decode_b64(body.outputs_b64, "outputs_b64"))
        a = sched.current(body.run, body.action, body.attempt)  # still current after the write?
        if a is None:
            return Ok(ignored=True)
        await sched.succeed(a, stored)
        return Ok()
    a = sched.current(body.run, body.action, body.attempt)
    assert a is not None
    phase = ActionPhase(body.phase)
    default_type = "TaskTimeoutError" if phase is ActionPhase.TIMED_OUT else "RuntimeError"
    message = _redacted(request, body.error_message or "")
    if body.error_traceback:  # the attempt's user frames, shown with the error (console, get action)
        update = "UPDATE actions SET error_traceback = ? WHERE run_name = ? AND name = ?"
        tb = _redacted(request, body.error_traceback)
        await sched.commit(Changes(sql=[(update, (tb, body.run, body.action))]))
    error_type = body.error_type or default_type
    await sched.fail(a, phase, error_type, message, body.retryable, body.error_code, body.attempt_started)
    return Ok()


@router.post("/logs", response_model=Ok)
async def logs(request: Request, body: LogBatch) -> Ok:
    """Lines an attempt printed (``[stream, at, line]``)."""
    if not body.lines:
        return Ok()
    rows = [
        (body.run, body.action, body.attempt, stream, at, _redacted(request, line))
        for stream, at, line in body.lines
    ]
    sched = scheduler(request)

    def insert(conn: Any) -> None:
        conn.executemany(LOG_INSERT, rows)

    await sched.writer.call(insert)
    sched.feeds.publish(body.run, [log_event(r[1], r[3], r[4], r[5]) for r in rows])
    return Ok()


@router.post("/traces", response_model=Ok)
async def traces(request: Request, body: TraceIn) -> Ok:
    """One finished ``@flyte.trace`` call of an action."""
    inputs = decode_b64(body.inputs_b64, "inputs_b64")
    outputs = decode_b64(body.outputs_b64, "outputs_b64") if body.outputs_b64 is not None else None
    row = (
        body.run,
        body.action,
        body.seq,
        body.name,
        inputs,
        outputs,
        None if body.error is None else _redacted(request, body.error),
        body.started_at,
        body.ended_at,
    )
    await scheduler(request).writer.write([(TRACE_UPSERT, row)])
    return Ok()


async def _record_report(request: Request, body: Report) -> None:
    """Point the action at the report its worker uploaded, under the one key it may use. A wrong
    or missing report only loses the link, never the attempt's outcome."""
    expected = report_key(body.run, body.action, body.attempt)
    if body.report_key != expected or not await asyncio.to_thread(object_exists, request, expected):
        logger.warning(
            "flyte server: ignoring report_key %r of %s/%s (expected an uploaded %r)",
            body.report_key, body.run, body.action, expected,
        )  # fmt: skip
        return
    update = "UPDATE actions SET report_path = ? WHERE run_name = ? AND name = ?"
    await scheduler(request).commit(Changes(sql=[(update, (expected, body.run, body.action))]))
