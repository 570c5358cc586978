"""The FastAPI application of the control plane: routes, authentication, errors, lifecycle.

``create_app(settings)`` builds it; its lifespan opens the run store (unless one is passed in),
starts the scheduler (which queues again whatever was running when the server stopped) and the
executor, and stops them in reverse order. OpenAPI is served at ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from flyte import __version__
from flyte._internal.store import RunStore
from flyte.errors import RuntimeSystemError
from flyte.notify._server import ServerNotifier
from flyte.server import ui
from flyte.server.auth import ApiKeys, UrlSigner, require_api_key
from flyte.server.errors import ApiError, Unauthorized
from flyte.server.executors import Executor
from flyte.server.routes import artifacts, conditions, data, executor, runs, tasks, triggers, whoami
from flyte.server.scheduler import Scheduler
from flyte.server.schema import ensure_server_schema
from flyte.server.settings import ServerSettings
from flyte.server.submit import Submitter
from flyte.server.triggers.clock import Clock, server_clock
from flyte.server.triggers.registry import Registry
from flyte.server.triggers.service import TriggerService
from flyte.server.ui import deployed as ui_deployed

logger = logging.getLogger("flyte.server")

ExecutorFactory = Callable[[Scheduler], Executor]


def _error_response(request: Request, error: Exception) -> JSONResponse:
    """The one place that turns internal errors into HTTP answers."""
    if isinstance(error, ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=headers)
    if isinstance(error, RuntimeSystemError):
        logger.error("flyte server: %s %s failed: %s", request.method, request.url.path, error)
        return JSONResponse({"detail": f"the run store is unavailable: {error}"}, status_code=503)
    logger.exception("flyte server: %s %s failed", request.method, request.url.path, exc_info=error)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def _finite(value: object) -> object:
    """``value`` with non-finite floats (``1e999``, ``NaN``) written as text, so that any error
    about them can itself be sent as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    """A request body the API cannot take: 422 with what was wrong, never a 500."""
    assert isinstance(error, RequestValidationError)
    fields = ("loc", "msg", "type", "input")
    errors = [_finite({k: v for k, v in e.items() if k in fields}) for e in error.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def create_app(
    settings: ServerSettings | None = None,
    *,
    store: RunStore | None = None,
    executor_factory: ExecutorFactory | None = None,
    trigger_clock: Clock | None = None,
) -> FastAPI:
    """The control-plane app. ``store`` defaults to ``settings.open_store()`` (closed on shutdown);
    ``executor_factory(scheduler)`` makes the executor started with the app (none by default);
    ``trigger_clock`` is the time triggers read (default: from ``settings.trigger_time_scale``)."""
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_store = store is None
        db = settings.open_store() if store is None else store
        try:
            ensure_server_schema(db)
            assert settings.storage_dir is not None
            app.state.data_store = settings.data_store()
            if settings.storage_url is None:
                settings.storage_dir.mkdir(parents=True, exist_ok=True)
                settings.raw_data_dir.mkdir(parents=True, exist_ok=True)
            scheduler = Scheduler(db, settings)
            app.state.store = db
            app.state.api_keys = keys = ApiKeys(db)
            settings.check_bind(have_api_key=await asyncio.to_thread(keys.count) > 0)
            app.state.signer = UrlSigner(settings.signing_secret(), settings.url_ttl_seconds)
            app.state.scheduler = scheduler
            app.state.submitter = Submitter(scheduler)
            hub = conditions.install(app, scheduler)
            notifier = ServerNotifier(settings)
            scheduler.listeners.append(notifier.listen)
            clock = trigger_clock or server_clock(db, settings.trigger_time_scale)
            app.state.registry = Registry(db, clock.now)
            app.state.triggers = trigger_service = TriggerService(
                app.state.registry, app.state.submitter, clock
            )
            await scheduler.start()
            await trigger_service.start()
            runner = executor_factory(scheduler) if executor_factory is not None else None
            try:
                if runner is not None:
                    await runner.start()
                yield
            finally:
                await trigger_service.stop()
                if runner is not None:
                    await runner.stop()
                await scheduler.stop()
                await hub.stop()
                await notifier.stop()
        finally:
            if own_store:
                db.close()

    app = FastAPI(
        title="flyte-engine control plane",
        version=__version__,
        description="Runs, actions, the data proxy and the executor protocol (docs/control-plane.md).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ApiError, _error_response)  # type: ignore[arg-type]
    app.add_exception_handler(RuntimeSystemError, _error_response)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _error_response)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness; needs no API key."""
        return {"status": "ok", "version": __version__}

    authed = [Depends(require_api_key)]
    app.include_router(runs.router, prefix="/api/v1", dependencies=authed)
    app.include_router(data.api_router, prefix="/api/v1", dependencies=authed)
    app.include_router(executor.router, prefix="/api/v1", dependencies=authed)
    app.include_router(whoami.router, prefix="/api/v1", dependencies=authed)
    app.include_router(conditions.router, prefix="/api/v1", dependencies=authed)
    app.include_router(tasks.router, prefix="/api/v1", dependencies=authed)
    app.include_router(triggers.router, prefix="/api/v1", dependencies=authed)
    app.include_router(artifacts.router, prefix="/api/v1", dependencies=authed)
    app.include_router(data.signed_router)
    ui.mount(app)  # the web console: /, /runs/{run} (the URL runs print), /ui/...
    ui_deployed.install(app)  # its Tasks and Triggers pages (a control plane's only)
    return app
