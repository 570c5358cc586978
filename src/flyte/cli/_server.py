"""``flyte start devbox`` and ``flyte create api-key``: run and secure the control plane.

Importing this module defines the ``start`` group and registers ``api-key`` on the shared
``create`` group; the server's own modules (FastAPI, uvicorn) load only when a command runs.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Optional

import click

from flyte.cli._errors import fail
from flyte.cli._groups import create
from flyte.errors import InitializationError

__all__ = ["create", "start"]


@click.group(name="start")
def start() -> None:
    """Start services, such as a control plane on this machine (devbox).

    \b
    Examples:
      flyte start devbox
    """


@start.command("devbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=int, default=8080, show_default=True, help="Port to listen on (0: any free port)."
)
@click.option(
    "--db", "db_url", default=None, help="Database URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB)."
)
@click.option(
    "--storage",
    default=None,
    help="Where code and data live: a directory (default $FLYTE_HOME/server/data) or an "
    "object-store URL such as s3://bucket/prefix (credentials from AWS_* variables or flyte secrets).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per CPU)."
)
@click.option(
    "--trigger-time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Run trigger time N times faster (at 60, FixedRate(1) fires every second); for demos and tests.",
)
@click.option(
    "--executor",
    type=click.Choice(["processes", "ray"]),
    default="processes",
    show_default=True,
    help="Where attempts run: worker processes on this host, or a Ray cluster (docs/ray.md).",
)
@click.option(
    "--ray-address",
    default=None,
    help="HOST:PORT of the Ray cluster's head, with --executor ray (default: start a local Ray).",
)
def devbox(
    host: str,
    port: int,
    db_url: Optional[str],
    storage: Optional[str],
    workers: Optional[int],
    trigger_time_scale: float,
    executor: str,
    ray_address: Optional[str],
) -> None:
    """Run the control plane and its worker processes until Ctrl-C.

    \b
    The endpoint and the API key are printed and saved in $FLYTE_HOME/devbox.json;
    the key is made at the first start and reused afterwards. If a devbox is
    already running there, this says where and exits with code 1.
    \b
    Examples:
      flyte start devbox
      flyte start devbox --port 9000 --workers 4
      flyte start devbox --db postgresql://flyte@127.0.0.1:5432/flyte
      flyte start devbox --trigger-time-scale 60
      flyte start devbox --executor ray --ray-address 127.0.0.2:6379
      flyte start devbox --storage s3://my-bucket/flyte
    """
    from flyte.cli._devbox_cli import already_running_message, devbox_status

    status = devbox_status()
    if status.running:  # before binding: a second devbox would fail on the port or take over devbox.json
        fail(already_running_message(status))
    try:
        from flyte.server.devbox import run_devbox
        from flyte.server.settings import ServerSettings
    except ImportError as e:
        fail(f"the server needs its extra dependencies: pip install 'flyte-engine[server]' ({e})", e)
    if ray_address and executor != "ray":
        fail("--ray-address needs --executor ray")
    from flyte.storage import ObjectBlobStore, is_remote

    remote = storage is not None and is_remote(storage)
    try:
        settings = ServerSettings(
            host=host, port=port, db_url=db_url, workers=workers, executor=executor,
            ray_address=ray_address, trigger_time_scale=trigger_time_scale,
            storage_dir=Path(storage) if storage and not remote else None,
            storage_url=storage if remote else None,
        )  # fmt: skip
        if remote:  # an unsupported scheme, a missing extra, no credentials: say so before starting
            settings.data_store()
            _ = ObjectBlobStore(str(storage)).client
    except (ValueError, NotImplementedError, InitializationError) as e:
        fail(f"--storage {storage}: {e}", e)
    try:
        run_devbox(settings)
    except InitializationError as e:
        fail(str(e), e)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            fail(f"Port {port} on {host} is in use by another program; choose another with --port", e)
        fail(str(e), e)
    except ValueError as e:
        fail(str(e), e)
    except KeyboardInterrupt:
        pass


@create.command("api-key")
@click.option("--name", default="default", show_default=True, help="A label to tell keys apart.")
@click.option("--db", "db_url", default=None, help="Database URL of the server (default: the devbox's).")
def create_api_key(name: str, db_url: Optional[str]) -> None:
    """Make an API key for the control plane and print it (it is shown only once).

    \b
    Examples:
      flyte create api-key --name ci
    """
    from flyte.server.auth import ApiKeys, key_id
    from flyte.server.settings import ServerSettings

    settings = ServerSettings(db_url=db_url)
    try:
        store = settings.open_store()
    except (ValueError, RuntimeError, OSError) as e:
        fail(f"cannot open the server database: {e}", e)
    try:
        token = ApiKeys(store).create(name)
    finally:
        store.close()
    click.echo(token)
    click.echo(f"API key '{name}' (id {key_id(token)}) created; it cannot be shown again.", err=True)
