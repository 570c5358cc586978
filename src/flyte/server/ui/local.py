"""``flyte start ui``: the console over this machine's run store, on 127.0.0.1 only.

The app holds a :class:`~flyte.server.ui.source.LocalSource` for ``$FLYTE_HOME``; the pages are
those of the control plane's console, without sign-in (only this machine can connect) but with
the same CSRF and Host checks (see :mod:`flyte.server.ui.session`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from flyte import __version__
from flyte._internal.store import open_store
from flyte.server.ui import mount
from flyte.server.ui.session import Sessions
from flyte.server.ui.source import LocalSource

HOST = "127.0.0.1"
DEFAULT_PORT = 8090


def create_local_app(home: Path) -> FastAPI:
    """The console app over the run store of ``home`` (a FLYTE_HOME)."""
    store = open_store(home)
    app = FastAPI(title="flyte console (local)", version=__version__, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.state.console = LocalSource(store, home)
    app.state.console_sessions = Sessions()
    mount(app)
    return app


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:``port`` (0: any free port); OSError when it is taken."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def serve(home: Path, sock: socket.socket, ready: Callable[[str], None] | None = None) -> None:
    """Serve the local console on ``sock`` until interrupted; ``ready(url)`` once it listens."""
    import uvicorn

    app = create_local_app(home)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    url = f"http://{HOST}:{sock.getsockname()[1]}"
    if ready is not None:
        original = server.startup

        async def startup(sockets: list[socket.socket] | None = None) -> None:
            await original(sockets=sockets)
            ready(url)

        server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
