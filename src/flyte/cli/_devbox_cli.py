"""``flyte get devbox`` and ``flyte stop devbox``: is the local control plane running, and stop it.

A running devbox records ``{"endpoint", "api_key", "pid"}`` in ``$FLYTE_HOME/devbox.json``
(:mod:`flyte.server.devbox`) and drops ``pid`` when it exits. It counts as running when that pid
is alive and its ``/healthz`` answers. Importing this module registers ``devbox`` on the ``get``
group and defines the ``stop`` group; nothing heavy (no httpx, no server code) is imported.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from flyte._internal.run_config import flyte_home
from flyte.cli._errors import fail
from flyte.cli._format import echo_json, output_format_option, print_fields
from flyte.cli._groups import get

__all__ = ["DevboxStatus", "devbox_status", "stop"]

DEVBOX_FILE = "devbox.json"


@dataclass(frozen=True)
class DevboxStatus:
    """What ``devbox.json`` says and whether the devbox it names answers."""

    file: Path
    endpoint: str | None = None
    pid: int | None = None
    process_alive: bool = False
    healthy: bool = False
    version: str | None = None
    key_id: str | None = None

    @property
    def running(self) -> bool:
        """Its endpoint answers, and its pid (when recorded: older devboxes did not) is alive."""
        return self.healthy and (self.process_alive or self.pid is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "endpoint": self.endpoint,
            "pid": self.pid,
            "process_alive": self.process_alive,
            "healthy": self.healthy,
            "server_version": self.version,
            "api_key_id": self.key_id,
            "file": str(self.file),
        }


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, exited but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def health(endpoint: str, timeout: float = 2.0) -> str | None:
    """The server version when ``endpoint``/healthz answers ok, else None."""
    import urllib.error
    import urllib.request  # not at import: it pulls in http.client and ssl

    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/healthz", timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(body, dict) or body.get("status") != "ok":
        return None
    return str(body.get("version") or "")


def devbox_status(home: Path | None = None) -> DevboxStatus:
    """The state of the devbox recorded under ``home`` (default FLYTE_HOME)."""
    path = (home or flyte_home()) / DEVBOX_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return DevboxStatus(file=path)
    if not isinstance(data, dict):
        return DevboxStatus(file=path)
    endpoint = data.get("endpoint") if isinstance(data.get("endpoint"), str) else None
    pid = data.get("pid") if isinstance(data.get("pid"), int) else None
    token = data.get("api_key")
    key = hashlib.sha256(token.encode()).hexdigest()[:12] if isinstance(token, str) and token else None
    alive = pid is not None and pid_alive(pid)
    version = health(endpoint) if endpoint and (alive or pid is None) else None
    return DevboxStatus(
        file=path, endpoint=endpoint, pid=pid, process_alive=alive, healthy=version is not None,
        version=version or None, key_id=key,
    )  # fmt: skip


def already_running_message(status: DevboxStatus) -> str:
    return (
        f"A devbox is already running at {status.endpoint} (pid {status.pid}, {status.file}); "
        "stop it with `flyte stop devbox`."
    )


@get.command("devbox")
@output_format_option
def get_devbox(output_format: str) -> None:
    """Show whether the local devbox is running, and where.

    \b
    Reads $FLYTE_HOME/devbox.json (written by `flyte start devbox`) and asks the
    endpoint's /healthz. The API key is named by its id, never shown.
    \b
    Examples:
      flyte get devbox
      flyte get devbox -of json
    """
    status = devbox_status()
    if output_format == "json":
        echo_json(status.to_dict())
        return
    if status.endpoint is None:
        click.echo(f"No devbox: {status.file} does not exist. Start one with `flyte start devbox`.")
        return
    if status.running:
        state = "running"
    elif status.process_alive:
        state = f"not answering (pid {status.pid} is alive, {status.endpoint}/healthz is not)"
    else:
        state = "not running"
    fields = [("Devbox", state), ("Endpoint", status.endpoint)]
    if status.pid is not None:
        fields.append(("PID", str(status.pid)))
    if status.version:
        fields.append(("Version", status.version))
    if status.key_id:
        fields.append(("API key", f"id {status.key_id} (in {status.file})"))
    fields.append(("File", str(status.file)))
    print_fields(fields)


@click.group(name="stop")
def stop() -> None:
    """Stop services, such as the devbox started by `flyte start devbox`.

    \b
    Examples:
      flyte stop devbox
    """


@stop.command("devbox")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the devbox to finish its shutdown.",
)
def stop_devbox(timeout: float) -> None:
    """Stop the running devbox cleanly (SIGTERM, then wait for it to exit).

    \b
    Runs in flight are picked up again by the next `flyte start devbox`.
    \b
    Examples:
      flyte stop devbox
      flyte stop devbox --timeout 60
    """
    status = devbox_status()
    if status.pid is None and status.healthy:
        fail(
            f"The devbox at {status.endpoint} did not record its pid in {status.file}; "
            "stop it with Ctrl-C where it runs"
        )
    if status.pid is None or not status.process_alive:
        where = f" (last at {status.endpoint})" if status.endpoint else ""
        click.echo(f"No devbox is running{where}.")
        return
    if not status.healthy and not _looks_like_devbox(status.pid):
        fail(
            f"pid {status.pid} in {status.file} does not answer at {status.endpoint}/healthz and does not "
            "look like a devbox; not stopping it"
        )
    try:
        os.kill(status.pid, signal.SIGTERM)
    except ProcessLookupError:
        click.echo("The devbox had already stopped.")
        return
    deadline = time.monotonic() + timeout
    while pid_alive(status.pid):
        if time.monotonic() >= deadline:
            fail(f"The devbox (pid {status.pid}) is still shutting down after {timeout:g}s")
        time.sleep(0.1)
    click.echo(f"Stopped the devbox at {status.endpoint} (pid {status.pid}).")


def _looks_like_devbox(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"devbox" in command
