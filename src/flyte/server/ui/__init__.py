"""The web console: the pages behind every run URL, for the control plane and for local runs.

``mount(app)`` adds it to a FastAPI app: the control plane mounts it in ``create_app`` (pages
read its store, buttons go through its scheduler), and ``flyte start ui`` builds an app of its own
around the local run store (:mod:`flyte.server.ui.local`). Pages are rendered on the server from
plain Python strings; ``static/`` holds the only other assets (one CSS and one JS file, written by
hand), so the console needs no network and no build step. See docs/console.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from flyte.server.ui.html import STATIC, esc, layout
from flyte.server.ui.routes import Refused, SignInNeeded, router
from flyte.server.ui.session import COOKIE

__all__ = ["STATIC_DIR", "mount"]

STATIC_DIR = Path(__file__).parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/ui/api/")


def _sign_in_needed(request: Request, _error: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": "sign in to the console first"}, status_code=401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    if COOKIE in request.cookies:  # expired or revoked: drop it
        response.delete_cookie(COOKIE, path="/")
    return response


def _refused(request: Request, error: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(error)}, status_code=403)
    body = (
        f'<h1>Refused</h1><p class="flash error">{esc(error)}</p><p><a href="/runs">Back to the runs</a></p>'
    )
    return HTMLResponse(layout("Refused", body), status_code=403)


def mount(app: FastAPI) -> None:
    """Serve the console from ``app``: pages at ``/``, ``/runs/...``, static files under ``/ui/static``.

    More pages (Tasks, Triggers, once deployment exists) plug in with a router of their own whose
    routes depend on :func:`flyte.server.ui.routes.viewer` and answer
    :func:`flyte.server.ui.routes.page`, plus ``app.state.console_nav.append((label, path))`` for
    their link in the header.
    """
    app.state.console_nav = []
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(Refused, _refused)
    app.include_router(router)
    app.mount(STATIC, StaticFiles(directory=STATIC_DIR), name="console-static")
