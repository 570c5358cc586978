"""The console's Tasks and Triggers pages: what ``flyte deploy`` registered on this control plane.

They plug in at the console's extension point (``flyte.server.ui.mount``): guarded by the same
sign-in (``viewer``), laid out by ``page``, linked from the header. They read the server's task
registry (``app.state.registry``), so only a control plane has them; ``flyte start ui`` over a local
store has no deployed tasks and no such links. The trigger buttons change state through the same
registry calls as ``flyte update trigger``, after the console's CSRF and origin checks.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from flyte.server.ui.html import button_form, esc, q, timestamp, with_query
from flyte.server.ui.routes import checked_form, page, sessions, viewer

if TYPE_CHECKING:
    from flyte.server.triggers.models import AutomationSpec, DeployedTask, TriggerState
    from flyte.server.triggers.registry import Registry

router = APIRouter()


def install(app: FastAPI) -> None:
    """Add the Tasks and Triggers pages and their header links to a control plane's console."""
    app.include_router(router)
    app.state.console_nav.extend([("Tasks", "/tasks"), ("Triggers", "/triggers")])


def _registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def automation_text(a: AutomationSpec) -> str:
    """``cron '0 * * * *' (Europe/Paris)`` or ``every 5 min``: a trigger's schedule in words."""
    if a.kind == "cron":
        return f"cron '{a.expression}' ({a.timezone})"
    return f"every {a.interval_minutes} min"


def task_url(name: str, version: str | None = None) -> str:
    return with_query(f"/tasks/{q(name)}", version=version)


# -- pages -------------------------------------------------------------------------------------------


@router.get("/tasks")
async def tasks_page(request: Request, cookie: str | None = Depends(viewer)) -> Response:
    tasks = await asyncio.to_thread(_registry(request).latest)
    rows = "".join(
        f'<tr><td class="c-name"><a href="{esc(task_url(t.name))}">{esc(t.name)}</a></td>'
        f"<td><code>{esc(t.version)}</code></td><td>{esc(t.spec.environment or '-')}</td>"
        f'<td class="c-err">{esc(t.spec.image or "-")}</td><td>{len(t.spec.triggers)}</td>'
        f"<td>{timestamp(t.created_at)}</td></tr>"
        for t in tasks
    )
    empty = '<p class="muted empty">No task is deployed here yet: <code>flyte deploy FILE ENV</code>.</p>'
    body = f"""
<h1>Tasks</h1>
<table class="runs" id="tasks">
<thead><tr><th>Task</th><th>Latest version</th><th>Environment</th><th class="c-err">Image</th><th>Triggers</th><th>Deployed</th></tr></thead>
<tbody>{rows}</tbody>
</table>
{"" if tasks else empty}"""
    return page(request, "Tasks", body, cookie)


@router.get("/tasks/{name}")
async def task_page(
    request: Request, name: str, version: str | None = None, cookie: str | None = Depends(viewer)
) -> Response:
    registry = _registry(request)
    versions = await asyncio.to_thread(registry.versions, name)
    if not versions:
        body = f'<h1>No such task</h1><p class="flash error">No deployed task named {esc(name)}</p>'
        return page(request, "No such task", body, cookie, status=404)
    shown = next((v for v in versions if v.version == version), versions[0])
    body = f"<h1>{esc(name)}</h1>{_task_detail(shown)}{_versions_table(name, versions, shown.version)}"
    return page(request, f"Task {name}", body, cookie)


def _task_detail(t: DeployedTask) -> str:
    spec, ref = t.spec, t.spec.task
    inputs = "".join(
        f"<tr><td><code>{esc(i.name)}</code></td><td>{esc(i.type.repr or i.type.kind)}</td>"
        f"<td>{'required' if i.required else esc(i.default_repr or '')}</td></tr>"
        for i in spec.interface.inputs
    )
    outputs = ", ".join(f"{o.name}: {o.type.repr or o.type.kind}" for o in spec.interface.outputs)
    cache = ref.cache.behavior if ref.cache is not None else "disable"
    fields = [
        ("Version", f"<code>{esc(t.version)}</code>"),
        ("Environment", esc(spec.environment or "-")),
        ("Image", esc(spec.image or "-")),
        ("Resources", esc(_resources_text(ref.resources))),
        ("Retries", esc(ref.retries)),
        ("Timeout", esc(f"{ref.timeout:g}s" if ref.timeout else "-")),
        ("Cache", esc(cache)),
        ("Secrets", esc(", ".join(s.key for s in ref.secrets) or "-")),
        ("Outputs", esc(outputs or "-")),
        ("Runs", f'<a href="{esc(with_query("/runs", task=t.name))}">runs of this task</a>'),
    ]
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in fields)
    docs = f'<p class="muted">{esc(spec.docs)}</p>' if spec.docs else ""
    triggers = "".join(
        f'<li><a href="/triggers#{esc(t.name)}/{esc(tr.name)}">{esc(tr.name)}</a>: '
        f"{esc(automation_text(tr.automation))}</li>"
        for tr in spec.triggers
    )
    return (
        f'{docs}<section class="panel"><h2>Settings</h2><table class="fields">{rows}</table></section>'
        f'<section class="panel"><h2>Inputs</h2><table class="runs"><thead><tr><th>Name</th><th>Type</th>'
        f"<th>Default</th></tr></thead><tbody>{inputs}</tbody></table></section>"
        + (f'<section class="panel"><h2>Triggers</h2><ul>{triggers}</ul></section>' if triggers else "")
    )


def _resources_text(resources: dict[str, Any] | None) -> str:
    if not resources:
        return "-"
    shown = {k: v for k, v in resources.items() if v not in (None, 0, 0.0)}
    return ", ".join(f"{k}={_quantity(k, v)}" for k, v in shown.items()) or "-"


def _quantity(key: str, value: Any) -> str:
    """Bytes as Ki/Mi/Gi (``memory=512Mi``), cores without a needless ``.0``."""
    if isinstance(value, (int, float)) and key in ("memory", "memory_limit", "disk", "shm"):
        for unit, size in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
            if value >= size and value % size == 0:
                return f"{int(value // size)}{unit}"
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _versions_table(name: str, versions: list[DeployedTask], current: str) -> str:
    rows = "".join(
        f'<tr{" class=current" if v.version == current else ""}><td><a href="{esc(task_url(name, v.version))}">'
        f"<code>{esc(v.version)}</code></a></td><td>{timestamp(v.created_at)}</td></tr>"
        for v in versions
    )
    return (
        '<section class="panel"><h2>Versions</h2><table class="runs" id="versions"><thead><tr>'
        f"<th>Version</th><th>Deployed</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


@router.get("/triggers")
async def triggers_page(
    request: Request, msg: str | None = None, cookie: str | None = Depends(viewer)
) -> Response:
    triggers = await asyncio.to_thread(_registry(request).triggers)
    csrf = sessions(request).csrf(cookie)
    rows = "".join(_trigger_row(t, csrf) for t in triggers)
    flash = f'<p class="flash">{esc(msg)}</p>' if msg else ""
    empty = '<p class="muted empty">No triggers: declare them on a task (<code>triggers=...</code>) and deploy it.</p>'
    body = f"""
<h1>Triggers</h1>
{flash}
<table class="runs" id="triggers">
<thead><tr><th>Trigger</th><th>Task</th><th>Schedule</th><th>State</th><th>Last tick</th><th>Next tick</th><th></th></tr></thead>
<tbody>{rows}</tbody>
</table>
{"" if triggers else empty}"""
    return page(request, "Triggers", body, cookie)


def _trigger_row(t: TriggerState, csrf: str) -> str:
    runs = with_query("/runs", q=None, task=t.task_name)
    verb, label = ("deactivate", "Deactivate") if t.active else ("activate", "Activate")
    button = button_form(
        f"/triggers/{q(t.task_name)}/{q(t.name)}/{verb}", label, csrf,
        f"{label} trigger {t.name} of {t.task_name}?",
    )  # fmt: skip
    state = '<span class="phase" data-phase="running">active</span>' if t.active else "inactive"
    return (
        f'<tr id="{esc(t.task_name)}/{esc(t.name)}" data-active="{"1" if t.active else "0"}">'
        f'<td class="c-name">{esc(t.name)}</td>'
        f'<td><a href="{esc(task_url(t.task_name, t.task_version))}">{esc(t.task_name)}</a> '
        f'(<a href="{esc(runs)}">runs</a>)</td><td>{esc(automation_text(t.automation))}</td>'
        f"<td>{state}</td><td>{timestamp(t.last_scheduled)}</td><td>{timestamp(t.next_scheduled)}</td>"
        f"<td>{button}</td></tr>"
    )


@router.post("/triggers/{task_name}/{name}/{verb}")
async def set_trigger(
    request: Request, task_name: str, name: str, verb: str, cookie: str | None = Depends(viewer)
) -> Response:
    await checked_form(request, cookie)
    if verb not in ("activate", "deactivate"):
        return RedirectResponse(with_query("/triggers", msg=f"unknown action '{verb}'"), status_code=303)
    try:
        await asyncio.to_thread(_registry(request).set_active, task_name, name, verb == "activate")
    except Exception as e:  # an unknown trigger: said on the page, nothing changed
        return RedirectResponse(with_query("/triggers", msg=str(e)), status_code=303)
    done = f"Trigger {name} of {task_name} is now {'active' if verb == 'activate' else 'inactive'}"
    return RedirectResponse(with_query("/triggers", msg=done), status_code=303)
