"""Where the Tasks and Triggers pages plug in: a router of their own, guarded and laid out like the
console's pages, with a link in the header."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from flyte.server.ui.local import create_local_app
from flyte.server.ui.routes import page, viewer


def test_a_new_page_gets_the_console_layout_checks_and_a_header_link(tmp_path: Path) -> None:
    app = create_local_app(tmp_path / "home")
    tasks = APIRouter()

    @tasks.get("/tasks")
    def tasks_page(request: Request, cookie: str | None = Depends(viewer)) -> HTMLResponse:
        return page(request, "Tasks", "<h1>Tasks</h1><p>none deployed</p>", cookie)

    app.include_router(tasks)
    app.state.console_nav.append(("Tasks", "/tasks"))

    async def fetch() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8090") as client:
            return (
                await client.get("/tasks"),
                await client.get("/runs"),
                await client.get("/tasks", headers={"Host": "evil.example"}),
            )

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API may hold this thread's event loop
        own, runs, foreign = pool.submit(asyncio.run, fetch()).result()
    assert own.status_code == 200 and "none deployed" in own.text and "console.css" in own.text
    assert '<a href="/tasks">Tasks</a>' in runs.text
    assert foreign.status_code == 403
