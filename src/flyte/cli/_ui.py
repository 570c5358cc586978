"""``flyte start ui``: the web console over this machine's runs (``$FLYTE_HOME``).

Importing this module registers ``ui`` on the ``start`` group; the server's modules (FastAPI,
uvicorn) load only when the command runs.
"""

from __future__ import annotations

import errno

import click

from flyte._internal.run_config import flyte_home
from flyte.cli._errors import fail
from flyte.cli._server import start

__all__ = ["start"]


@start.command("ui")
@click.option(
    "--port", type=int, default=8090, show_default=True, help="Port on 127.0.0.1 (0: any free port)."
)
def start_ui(port: int) -> None:
    """Serve the web console for the runs recorded on this machine, until Ctrl-C.

    \b
    It listens on 127.0.0.1 only, so only this machine can open it; the
    runs are those of $FLYTE_HOME (flyte run --local, python wf.py). The
    control plane (flyte start devbox) serves the same console itself.
    \b
    Examples:
      flyte start ui
      flyte start ui --port 9000
    """
    try:
        from flyte.server.ui.local import bind, serve
    except ImportError as e:
        fail(
            f"the console needs the server's extra dependencies: pip install 'flyte-engine[server]' ({e})", e
        )
    home = flyte_home()
    try:
        sock = bind(port)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            fail(f"Port {port} on 127.0.0.1 is in use by another program; choose another with --port", e)
        fail(str(e), e)

    def ready(url: str) -> None:
        click.echo(f"Flyte console for the runs in {home}: {url}/", err=False)
        click.echo("Press Ctrl-C to stop.", err=True)

    try:
        serve(home, sock, ready)
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
