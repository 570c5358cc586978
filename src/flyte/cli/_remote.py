"""The CLI against a control plane: ``flyte create config`` and the remote side of ``run``
(``abort`` and ``rerun`` read and act through a ``RunSource``, the same code for both sides).

Importing this module registers ``config`` on the ``create`` group. ``flyte run`` without
``--local`` calls :func:`execute_remote` when :func:`remote_configured` finds an endpoint (from
``flyte.init``, ``-c/--config``, ``$FLYTE_CONFIG`` or ``./.flyte/config.yaml``); it submits the run,
prints its URL, and with ``--follow`` shows the live action tree a local run shows
(``flyte.cli._follow``) until the run ends, then reports it the way a local run is reported.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flyte._initialize import get_init_config, init_from_config, is_initialized, read_config
from flyte._internal.run_config import flyte_home
from flyte.cli._errors import fail, note
from flyte.cli._follow import follow
from flyte.cli._groups import create
from flyte.cli._run import report_run
from flyte.errors import BaseRuntimeError

if TYPE_CHECKING:
    pass

__all__ = ["create", "execute_remote", "remote_configured"]

DEVBOX_FILE = "devbox.json"
"""Written by ``flyte start devbox`` under FLYTE_HOME: ``{"endpoint": ..., "api_key": ...}``."""


# -- flyte create config ----------------------------------------------------------------------------


def _devbox() -> dict[str, Any]:
    path = flyte_home() / DEVBOX_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"No devbox found: {path} does not exist. Start one with `flyte start devbox`.")
    except (OSError, ValueError) as e:
        fail(f"Cannot read {path}: {e}")
    if not isinstance(data, dict) or not data.get("endpoint"):
        fail(f"{path} does not name an endpoint; restart the devbox with `flyte start devbox`.")
    return data


def write_config(
    path: Path, admin: dict[str, Any], task: dict[str, Any], image: dict[str, Any] | None = None
) -> None:
    """Write (or update) a config file, readable by its owner only: it may hold an API key."""
    import yaml

    data = read_config(path) if path.is_file() else {}
    data.setdefault("admin", {})
    if not isinstance(data["admin"], dict):
        data["admin"] = {}
    data["admin"].update(admin)
    if "api_key" in admin and admin["api_key"] is None:
        data["admin"].pop("api_key")
    if task:
        data.setdefault("task", {}).update(task)
    if image:
        data.setdefault("image", {}).update(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)  # also when the file existed with wider permissions
        yaml.safe_dump(data, f, sort_keys=False)


@create.command("config")
@click.option("--devbox", is_flag=True, help="Use the local devbox started by `flyte start devbox`.")
@click.option("--endpoint", default=None, help="URL of the control plane, e.g. http://127.0.0.1:8080.")
@click.option("--api-key", default=None, help="API key for the endpoint (stored in the file, mode 0600).")
@click.option("--insecure", is_flag=True, help="Use plain http for an endpoint given without a scheme.")
@click.option("--org", default=None, help="Default organization.")
@click.option("--project", default=None, help="Default project.")
@click.option("--domain", default=None, help="Default domain.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".flyte") / "config.yaml",
    show_default=True,
    help="Where to write the config.",
)
@click.option("--force", is_flag=True, help="Replace an existing config file instead of updating it.")
@click.option(
    "--image-builder", "--builder", type=click.Choice(["local", "remote"]), default=None, hidden=True
)
@click.option("--registry", default=None, help="Base registry for built images (image.registry).")
@click.option("--auth-type", default=None, hidden=True)
@click.option("--local-persistence", is_flag=True, default=None, hidden=True)
def create_config(
    devbox: bool,
    endpoint: str | None,
    api_key: str | None,
    insecure: bool,
    org: str | None,
    project: str | None,
    domain: str | None,
    output: Path,
    force: bool,
    image_builder: str | None,
    registry: str | None,
    auth_type: str | None,
    local_persistence: bool | None,
) -> None:
    """Write a config file that points `flyte` at a control plane.

    \b
    Examples:
      flyte create config --devbox
      flyte create config --endpoint https://flyte.example.com --api-key "$KEY"
    """
    if devbox == (endpoint is not None):
        fail("Give either --devbox or --endpoint URL")
    if auth_type:
        note(f"--auth-type {auth_type} applies to the reference's hosted backend; API keys are used here")
    if local_persistence:
        note("--local-persistence: local runs are always recorded here")
    if force and output.exists():
        output.unlink()  # start afresh; without --force the settings given are merged into the file
    if devbox:
        found = _devbox()
        endpoint, api_key = found["endpoint"], api_key or found.get("api_key")
    admin: dict[str, Any] = {"endpoint": endpoint, "api_key": api_key}
    if insecure:
        admin["insecure"] = True
    task = {k: v for k, v in (("org", org), ("project", project), ("domain", domain)) if v}
    image = {k: v for k, v in (("builder", image_builder), ("registry", registry)) if v}
    write_config(output, admin, task, image)
    click.echo(f"Wrote {output}: endpoint {endpoint}" + (" with an API key" if api_key else ""))


# -- flyte run (remote) --------------------------------------------------------------------------


def remote_configured() -> bool:
    """Whether runs should go to a control plane: ``flyte.init`` named one, or a config does."""
    if is_initialized() and get_init_config().is_remote:
        return True
    ctx = click.get_current_context(silent=True)
    meta = ctx.find_root().meta if ctx else {}
    try:
        init_from_config(meta.get("flyte.config"))
        endpoint = meta.get("flyte.endpoint")
        if endpoint:  # `flyte --endpoint URL ...` wins over the config file's endpoint
            import os

            import flyte

            found = get_init_config()
            flyte.init(
                endpoint=endpoint,
                api_key=os.environ.get("FLYTE_API_KEY") or found.api_key,
                insecure=bool(meta.get("flyte.insecure")) or found.insecure,
                project=found.project,
                domain=found.domain,
                root_dir=found.root_dir,
            )
    except BaseRuntimeError as e:
        fail(str(e), e)
    return get_init_config().is_remote


def execute_remote(task: Any, run_opts: dict[str, Any], inputs: dict[str, Any]) -> None:
    """``flyte run FILE TASK`` against the configured control plane."""
    from flyte.cli._run import runner_for
    from flyte.remote._remote_run import submit_run

    runner = runner_for("remote", run_opts)
    started = time.monotonic()
    try:
        run = submit_run(task, (), inputs, runner._config())
    except BaseRuntimeError as e:
        fail(str(e), e)
    click.echo(f"Run {run.name} submitted: {run.url}")
    if not run_opts.get("follow"):
        click.echo(f"Follow it with `flyte get run {run.name}`, or pass --follow next time.")
        return
    try:
        follow(run)
    except KeyboardInterrupt:
        click.echo(f"Stopped following; run {run.name} goes on (abort it with `flyte abort run {run.name}`).")
        raise SystemExit(130) from None
    report_run(run, time.monotonic() - started)
