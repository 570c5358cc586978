"""``flyte get config``, ``flyte whoami`` and ``flyte start tui``: where the CLI points, and as whom.

``get config`` explains each setting with where it came from (the global ``--endpoint``, a
config file found by the search order of :func:`flyte.config._reader.find_config_file`, an
environment variable), and names the source of the API key without ever printing it.
Importing this module registers ``config`` on ``get`` and ``tui`` on ``start``; ``whoami`` is a
top-level command added by ``main.py``.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from pathlib import Path
from typing import Any

import click

from flyte.cli._errors import fail
from flyte.cli._format import echo_json, output_format_option, print_fields
from flyte.cli._groups import get
from flyte.cli._server import start

__all__ = ["config_report", "whoami"]


def _config_reason(explicit: str | None, path: Path | None) -> str:
    """Why ``path`` is the config file in force (mirrors the order of ``find_config_file``)."""
    from flyte.config._reader import CONFIG_ENV_VARS

    if path is None:
        return "no config file (-c, $FLYTE_CONFIG, ./.flyte/config.yaml, ~/.flyte/config.yaml): local mode"
    if explicit is not None:
        return "given with -c/--config"
    for var in CONFIG_ENV_VARS:
        if os.environ.get(var):
            return f"${var}"
    if path == Path.cwd() / ".flyte" / "config.yaml":
        return "./.flyte/config.yaml in the current directory"
    return "~/.flyte/config.yaml in the home directory"


def _entry(cfg: Any, key: str) -> tuple[Any, str | None]:
    """A config entry and where it came from: its environment variable or the file."""
    from flyte.config._reader import env_name

    var = env_name(key)
    if os.environ.get(var) is not None:
        return os.environ[var], f"${var}"
    value = cfg.get(key) if cfg is not None else None
    return (value, f"config file {key}") if value not in (None, "") else (None, None)


def _key_id(token: str) -> str:
    """The printable id of an API key, as the server logs it (never the key)."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


def config_report(ctx: click.Context) -> dict[str, Any]:
    """What ``flyte`` would use for a command run with this context's global options."""
    from flyte.config._reader import find_config_file, get_config_file

    meta = ctx.find_root().meta
    explicit = meta.get("flyte.config")
    path = find_config_file(explicit)  # an explicit or $FLYTE_CONFIG path that is missing fails here
    cfg = get_config_file(path) if path is not None else None
    endpoint, endpoint_source = _entry(cfg, "admin.endpoint") if cfg is not None else (None, None)
    if meta.get("flyte.endpoint"):
        endpoint, endpoint_source = meta["flyte.endpoint"], "--endpoint"
    file_insecure = str(_entry(cfg, "admin.insecure")[0]).lower() in ("1", "true", "yes", "on")
    insecure = bool(meta.get("flyte.insecure")) or file_insecure
    if endpoint:
        from flyte.remote._client import normalize_endpoint

        endpoint = normalize_endpoint(str(endpoint), insecure)

    token: Any = os.environ.get("FLYTE_API_KEY") or None
    key_source: str | None = "$FLYTE_API_KEY"
    if token is None and cfg is not None:
        token, key_source = _entry(cfg, "admin.api_key")
    if not token:
        token, key_source = None, None
    task: dict[str, Any] = {}
    for name in ("org", "project", "domain"):
        value, source = _entry(cfg, f"task.{name}") if cfg is not None else (None, None)
        if name == "org" and meta.get("flyte.org"):
            value, source = meta["flyte.org"], "--org"
        task[name] = {"value": value, "source": source}
    return {
        "mode": "remote" if endpoint else "local",
        "config_file": str(path) if path is not None else None,
        "config_reason": _config_reason(explicit, path),
        "endpoint": endpoint,
        "endpoint_source": endpoint_source,
        **{name: entry["value"] for name, entry in task.items()},
        "sources": {name: entry["source"] for name, entry in task.items()},
        "api_key_source": key_source,
        "api_key_id": _key_id(str(token)) if token else None,
    }


def _with_source(value: Any, source: str | None, default: str = "-") -> str:
    if value in (None, ""):
        return default
    return f"{value}  (from {source})" if source else str(value)


@get.command("config")
@output_format_option
@click.pass_context
def get_config(ctx: click.Context, output_format: str) -> None:
    """Show which config is in force, and why: file, endpoint, org/project/domain, API key source.

    \b
    The API key itself is never printed: only where it comes from and its id.
    \b
    Examples:
      flyte get config
      flyte -c ./prod.yaml get config -of json
      flyte --endpoint http://127.0.0.1:8080 get config
    """
    report = config_report(ctx)
    if output_format == "json":
        echo_json(report)
        return
    local = report["mode"] == "local"
    source = report["api_key_source"]
    key = "none" if source is None else f"from {source} (id {report['api_key_id']})"
    print_fields(
        [
            ("Config file", report["config_file"] or "none"),
            ("Why", report["config_reason"]),
            ("Mode", "local (runs execute on this machine)" if local else "remote (runs go to the endpoint)"),
            ("Endpoint", _with_source(report["endpoint"], report["endpoint_source"], "none")),
            ("Org", _with_source(report["org"], report["sources"]["org"])),
            ("Project", _with_source(report["project"], report["sources"]["project"])),
            ("Domain", _with_source(report["domain"], report["sources"]["domain"])),
            ("API key", key),
        ]
    )


@click.command("whoami")
@output_format_option
@click.pass_context
def whoami(ctx: click.Context, output_format: str) -> None:
    """Show who you are to the control plane: the endpoint and the API key's name; locally, your user.

    \b
    Examples:
      flyte whoami
      flyte --endpoint http://127.0.0.1:8080 whoami -of json
    """
    report = config_report(ctx)
    info: dict[str, Any] = {"user": _os_user(), "endpoint": report["endpoint"]}
    if report["endpoint"] is None:
        info["mode"] = "local (no control plane)"
    else:
        info.update(mode="remote", **_server_identity(report))
    if output_format == "json":
        echo_json(info)
        return
    fields = [("User", info["user"]), ("Mode", info["mode"])]
    if report["endpoint"] is not None:
        fields.append(("Endpoint", info["endpoint"]))
        if info.get("key_name") is not None:
            fields.append(("API key", f"{info['key_name']} (id {info['key_id']})"))
        elif info.get("key_id"):
            fields.append(("API key", f"id {info['key_id']} (the server does not say its name)"))
        if info.get("server_version"):
            fields.append(("Server", f"flyte-engine {info['server_version']}"))
    print_fields(fields)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _server_identity(report: dict[str, Any]) -> dict[str, Any]:
    """The caller's key as the server sees it (``/api/v1/whoami``); an older server that lacks
    the route gives just the key id computed here."""
    from flyte.errors import ActionNotFoundError
    from flyte.remote._client import ApiClient

    token = os.environ.get("FLYTE_API_KEY") or None
    if token is None and report["config_file"] is not None:
        from flyte.config._reader import get_config_file, read_entry

        token = read_entry(get_config_file(report["config_file"]), "admin.api_key") or None
    found: dict[str, Any] = {"key_id": report["api_key_id"], "key_name": None, "server_version": None}
    if token is None:
        fail(
            f"No API key for {report['endpoint']}: set FLYTE_API_KEY or admin.api_key in the config "
            "(`flyte create config --devbox` writes one for a local devbox)"
        )
    client = ApiClient(report["endpoint"], token, retry_for=5.0, first_contact_for=5.0)
    try:
        answer = client.call("GET", "/api/v1/whoami")
    except ActionNotFoundError:  # 404: a server without the route
        return found
    finally:
        client.close()
    if isinstance(answer, dict):
        found.update({k: answer.get(k) for k in ("key_id", "key_name", "server_version")})
    return found


@start.command("tui")
def start_tui() -> None:
    """Point to the commands that show a run's live tree (there is no separate TUI here).

    \b
    Examples:
      flyte start tui
    """
    click.echo(
        "No separate TUI here: `flyte run` shows the live action tree in a terminal, "
        "and `flyte get run NAME` shows a run's tree (`flyte get runs` lists them); "
        "`flyte start ui` serves the web console with live runs in a browser."
    )
