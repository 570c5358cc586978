"""The HTTP routes, one module per family (runs, data, executor), and what they share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request

if TYPE_CHECKING:
    from flyte._internal.store import RunStore
    from flyte.server.scheduler import Scheduler
    from flyte.server.settings import ServerSettings
    from flyte.server.submit import Submitter


def scheduler(request: Request) -> Scheduler:
    return request.app.state.scheduler


def submitter(request: Request) -> Submitter:
    return request.app.state.submitter


def store(request: Request) -> RunStore:
    return request.app.state.store


def settings(request: Request) -> ServerSettings:
    return request.app.state.settings


def base_url(request: Request) -> str:
    """How clients reach this server: the configured public URL, else the URL they used."""
    configured = settings(request).public_url
    return (configured or str(request.base_url)).rstrip("/")
