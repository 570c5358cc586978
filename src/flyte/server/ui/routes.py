"""The console's HTTP routes: its pages, the buttons' POSTs, and the JSON console.js polls.

Pages live at the top of the URL space (``/``, ``/runs``, ``/runs/{run}`` — the URL ``flyte run``
prints — and ``/runs/{run}/actions/{action}``); the JSON for live updates under ``/ui/api``; the
static files under ``/ui/static``. Every route reads through the app's
:class:`~flyte.server.ui.source.ConsoleSource` and is guarded by :func:`viewer`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from flyte.models import ActionPhase
from flyte.server.ui import views
from flyte.server.ui.html import action_url, layout, q, run_url
from flyte.server.ui.reader import RunFilter, attempts_of, blob_refs
from flyte.server.ui.session import COOKIE, Sessions, loopback_host, same_origin
from flyte.server.ui.source import ActionRefused, ConsoleSource, ServerSource
from flyte.storage import validate_key

logger = logging.getLogger("flyte.server")

router = APIRouter(include_in_schema=False)


class SignInNeeded(Exception):
    """The request needs a signed-in session (pages redirect to /signin, JSON answers 401)."""


class Refused(Exception):
    """403 for the request (a bad CSRF token, a foreign Host or Origin)."""


def console_source(request: Request) -> ConsoleSource:
    """The app's console source: set by ``flyte start ui``, else made from the control plane's state."""
    state = request.app.state
    source = getattr(state, "console", None)
    if source is None or (isinstance(source, ServerSource) and source.store is not state.store):
        secret = hmac.new(state.settings.signing_secret(), b"flyte console sessions", hashlib.sha256).digest()
        state.console_sessions = Sessions(secret)
        state.console = source = ServerSource(
            state.store, state.scheduler, state.submitter, Path(state.settings.storage_dir)
        )
    return source


def sessions(request: Request) -> Sessions:
    console_source(request)
    return request.app.state.console_sessions


async def viewer(request: Request) -> str | None:
    """Dependency: the session cookie of a signed-in viewer (None for the local console), or
    :class:`SignInNeeded`."""
    source = console_source(request)
    if not source.requires_sign_in:
        if not loopback_host(request):
            raise Refused("the local console answers only requests to 127.0.0.1 or localhost")
        return None
    cookie = request.cookies.get(COOKIE)
    store = sessions(request)
    key = store.key_of(cookie)
    if key is None:
        raise SignInNeeded()
    if not store.key_recently_seen(key):  # a deleted key ends its sessions within the recheck delay
        rows = await asyncio.to_thread(
            source.store.execute_read, "SELECT 1 FROM server_api_keys WHERE id = ?", (key,)
        )
        if not rows:
            raise SignInNeeded()
        store.saw_key(key)
    return cookie


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form body (the console's forms; no multipart parser needed)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


async def checked_form(request: Request, cookie: str | None) -> dict[str, str]:
    """The form of a POST that changes something, after its CSRF token and origin are checked."""
    form = await _form(request)
    if not same_origin(request) or not sessions(request).csrf_ok(cookie, form.get("csrf")):
        raise Refused("this form is out of date or comes from another site: reload the page and try again")
    return form


def page(request: Request, title: str, body: str, cookie: str | None, status: int = 200) -> HTMLResponse:
    """``body`` in the console's layout (header, navigation, CSRF token), with its security headers."""
    source = console_source(request)
    html = layout(
        title,
        body,
        csrf=sessions(request).csrf(cookie),
        signed_in=cookie is not None,
        source_label=source.label,
        nav=getattr(request.app.state, "console_nav", ()),
    )
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


_PAGE_HEADERS = {
    # Everything the console loads comes from itself; reports are framed from the same origin.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline';"
    " frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _blob_link(run: str, action: str) -> Any:
    return lambda path: f"{action_url(run, action)}/blob?path={q(path)}"


def _not_found(request: Request, message: str, cookie: str | None) -> HTMLResponse:
    return page(request, "Not found", views.not_found_body(message), cookie, status=404)


# -- sign-in -----------------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//other.site`` or a full URL) to go to after signing in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/runs"
    return target


@router.get("/signin")
def signin_page(request: Request, next: str = "/runs") -> Response:
    if not console_source(request).requires_sign_in:
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(request, "Sign in", views.signin_body(_safe_next(next), None), None)


@router.post("/signin")
async def signin(request: Request) -> Response:
    from flyte.server.auth import ApiKeys

    form = await _form(request)
    target = _safe_next(form.get("next"))
    if not console_source(request).requires_sign_in:  # the local console has no sign-in
        return RedirectResponse(target, status_code=303)
    if not same_origin(request):
        raise Refused("sign in from this console's own page")
    keys: ApiKeys = request.app.state.api_keys
    token = (form.get("api_key") or "").strip()
    found = keys.cached(token) if token else None
    if token and found is None:
        found = await asyncio.to_thread(keys.verify, token)
    if found is None:
        logger.info("console: a sign-in with an invalid API key was refused")
        return page(request, "Sign in", views.signin_body(target, "That API key is not valid."), None, 401)
    cookie = sessions(request).make(found)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, cookie, max_age=int(sessions(request).ttl_seconds), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


@router.post("/signout")
async def signout(request: Request, cookie: str | None = Depends(viewer)) -> Response:
    await checked_form(request, cookie)
    response = RedirectResponse("/signin" if cookie else "/runs", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# -- pages -------------------------------------------------------------------------------------------


def _filter(phase: str | None, task: str | None, since: str | None, search: str | None) -> RunFilter:
    phases = (ActionPhase(phase),) if phase in views.PHASES else ()
    return RunFilter(
        phases=phases, task=task or None, since=since or None, search=(search or "").strip() or None
    )


@router.get("/")
@router.get("/runs")
def runs_page(
    request: Request,
    q: str | None = None,
    phase: str | None = None,
    task: str | None = None,
    since: str | None = None,
    cursor: str | None = None,
    cookie: str | None = Depends(viewer),
) -> Response:
    source = console_source(request)
    source.refresh()
    flt = _filter(phase, task, since, q)
    found = source.runs_page(flt, cursor)
    body = views.runs_body(found, flt, source.task_names(), cursor)
    return page(request, "Runs", body, cookie)


@router.get("/runs/{run}")
def run_page(
    request: Request, run: str, msg: str | None = None, cookie: str | None = Depends(viewer)
) -> Response:
    source = console_source(request)
    source.refresh()
    record = source.get_run(run)
    if record is None:
        return _not_found(request, f"No run named '{run}' in {source.label}", cookie)
    root = source.get_action(run, "a0")
    body = views.run_body(
        record, root, source.child_groups(run, "a0"), source.parents(run), source.phase_counts(run),
        source.action_io(run, "a0"), sessions(request).csrf(cookie), _blob_link(run, "a0"), msg,
    )  # fmt: skip
    return page(request, f"Run {run}", body, cookie)


@router.get("/runs/{run}/actions/{action}")
def action_page(request: Request, run: str, action: str, cookie: str | None = Depends(viewer)) -> Response:
    source = console_source(request)
    record = source.get_run(run)
    found = source.get_action(run, action) if record is not None else None
    if record is None or found is None:
        what = f"No run named '{run}'" if record is None else f"Run '{run}' has no action named '{action}'"
        return _not_found(request, what, cookie)
    parents = source.parents(run)
    children = views.groups_html(source.child_groups(run, action), run, parents) if action in parents else ""
    report = f"{action_url(run, action)}/report" if _report_file(request, found.report_path) else None
    body = views.action_body(
        record, found, attempts_of(found), source.action_io(run, action), source.logs_tail(run, action),
        source.traces(run, action), children, _blob_link(run, action), report,
    )  # fmt: skip
    return page(request, f"Action {action} of {run}", body, cookie)


def _report_file(request: Request, path: str | None) -> Path | None:
    """The file of an action's report: a local run's records its path; a devbox run's the storage
    key its worker uploaded it under (served from the server's storage only)."""
    if not path or not path.endswith(".html"):
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        source = console_source(request)
        if not isinstance(source, ServerSource):
            return None
        try:
            validate_key(path)
        except ValueError:
            return None
        candidate = source.storage_dir / path
    return candidate if candidate.is_file() else None


@router.get("/runs/{run}/actions/{action}/report")
def action_report(request: Request, run: str, action: str, cookie: str | None = Depends(viewer)) -> Response:
    """The action's HTML report, sandboxed: it may run its scripts but never as the console."""
    found = console_source(request).get_action(run, action)
    report = _report_file(request, found.report_path if found else None)
    if report is None:
        return _not_found(request, f"Action '{action}' of run '{run}' has no report", cookie)
    return FileResponse(
        report, media_type="text/html",
        headers={"Content-Security-Policy": "sandbox allow-scripts", "Cache-Control": "no-store"},
    )  # fmt: skip


@router.get("/runs/{run}/actions/{action}/blob")
def action_blob(
    request: Request, run: str, action: str, path: str = Query(...), cookie: str | None = Depends(viewer)
) -> Response:
    """A File, Dir or DataFrame of the action's inputs or outputs (only the ones it references)."""
    source = console_source(request)
    inputs, outputs = source.action_io(run, action)
    if path not in blob_refs(inputs) | blob_refs(outputs):
        return _not_found(request, f"Action '{action}' of run '{run}' has no file '{path}'", cookie)
    local = source.local_path(path)
    if local is None:
        return page(request, "Stored elsewhere", views.stored_elsewhere_body(path), cookie, status=404)
    if local.is_dir():
        return _dir_listing(request, run, action, path, local, cookie)
    return FileResponse(local, filename=local.name, content_disposition_type="attachment")


def _dir_listing(
    request: Request, run: str, action: str, path: str, local: Path, cookie: str | None
) -> Response:
    files = sorted(p for p in local.rglob("*") if p.is_file())[:1000]
    entries = [(str(p.relative_to(local)), p.stat().st_size) for p in files]
    body = views.dir_listing_body(run, action, path, local.name, entries)
    return page(request, local.name, body, cookie)


# -- buttons -----------------------------------------------------------------------------------------


@router.post("/runs/{run}/abort")
async def abort(request: Request, run: str, cookie: str | None = Depends(viewer)) -> Response:
    await checked_form(request, cookie)
    try:
        await console_source(request).abort(run, "aborted from the console")
    except ActionRefused as e:
        return RedirectResponse(f"{run_url(run)}?msg={q(str(e))}", status_code=303)
    return RedirectResponse(f"{run_url(run)}?msg={q('Abort requested')}", status_code=303)


@router.post("/runs/{run}/rerun")
async def rerun(request: Request, run: str, cookie: str | None = Depends(viewer)) -> Response:
    form = await checked_form(request, cookie)
    recover = form.get("recover") == "1"
    try:
        name = await console_source(request).rerun(run, recover)
    except ActionRefused as e:
        return RedirectResponse(f"{run_url(run)}?msg={q(str(e))}", status_code=303)
    how = "recovering" if recover else "rerunning"
    return RedirectResponse(f"{run_url(name)}?msg={q(f'Started, {how} {run}')}", status_code=303)


# -- JSON for console.js -----------------------------------------------------------------------------


@router.get("/ui/api/runs/states")
def runs_states(
    request: Request,
    name: list[str] = Query(default=[]),
    newest: float | None = None,
    q: str | None = None,
    phase: str | None = None,
    task: str | None = None,
    since: str | None = None,
    _cookie: str | None = Depends(viewer),
) -> dict[str, Any]:
    """The rows of a runs page that are still going, and how many newer runs match its filters."""
    source = console_source(request)
    source.refresh()
    states = {n: views.run_state(r) for n, r in source.run_states(name).items()}
    newer = source.newer_runs(_filter(phase, task, since, q), newest) if newest is not None else 0
    return {"runs": states, "newer": newer}


@router.get("/ui/api/runs/{run}/children")
def children(
    request: Request, run: str, parent: str, _cookie: str | None = Depends(viewer)
) -> dict[str, Any]:
    source = console_source(request)
    return {"html": views.groups_html(source.child_groups(run, parent), run, source.parents(run))}


@router.get("/ui/api/runs/{run}/members")
def members(
    request: Request,
    run: str,
    parent: str,
    key: str,
    cursor: str | None = None,
    phase: str | None = None,
    _cookie: str | None = Depends(viewer),
) -> dict[str, Any]:
    """One page of a group's actions, as tree rows, and where the next page starts."""
    source = console_source(request)
    wanted = ActionPhase(phase) if phase in views.PHASES else None
    found, next_cursor = source.group_members(run, parent, key, cursor, wanted)
    parents = source.parents(run) if found else set()
    return {"html": views.members_html(found, run, parents), "next": next_cursor}


@router.get("/ui/api/runs/{run}/live")
def run_live(
    request: Request,
    run: str,
    action: list[str] = Query(default=[]),
    group: list[str] = Query(default=[]),
    top: int = -1,
    _cookie: str | None = Depends(viewer),
) -> Response:
    """The run's state, and the current state of the actions and groups on screen.

    ``top`` is how many rows the page shows under the root (-1: no root yet); when the root's
    children now make another number of groups, the answer carries the tree's first level anew.
    """
    source = console_source(request)
    source.refresh()
    record = source.get_run(run)
    if record is None:
        return JSONResponse({"detail": f"No run named '{run}'"}, status_code=404)
    counts = source.phase_counts(run)
    actions = {a.name: views.action_state(a) for a in source.action_states(run, action)}
    groups: dict[str, str] = {}
    by_parent: dict[str, set[str]] = {}
    for item in group[:200]:
        parent, _, key = item.partition("|")
        by_parent.setdefault(parent, set()).add(key)
    for parent, keys in by_parent.items():
        for g in source.child_groups(run, parent):
            if g.key in keys:
                groups[f"{parent}|{g.key}"] = views.group_state(g)
    state = views.run_state(record)
    state["counts"] = f"{sum(counts.values())} · {views.counts_text(counts)}"
    answer: dict[str, Any] = {"run": state, "actions": actions, "groups": groups}
    root = source.get_action(run, "a0")
    if root is not None:
        first = source.child_groups(run, "a0")
        if top == -1 or len(first[: views.MAX_GROUPS]) != top:
            answer["tree_html"] = views.root_html(run, root, first, source.parents(run))
    return JSONResponse(answer)


@router.get("/ui/api/runs/{run}/actions/{action}/logs")
def action_logs(
    request: Request, run: str, action: str, after: int = 0, _cookie: str | None = Depends(viewer)
) -> dict[str, Any]:
    """Log lines after line id ``after`` and whether the action has ended (console.js tails them)."""
    source = console_source(request)
    found = source.get_action(run, action)
    payload = views.logs_payload(source.logs(run, action, after), after)
    payload["ended"] = found is None or found.phase.is_terminal
    payload["state"] = views.action_state(found) if found else None
    return payload
