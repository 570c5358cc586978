"""``flyte create|get|delete secret``: manage the local secret store from the command line.

Values go in (typed at a hidden prompt, given with ``--value`` or read from a file) but never come
back out: ``get secret`` shows names, groups and times only, and no message repeats a value.
Importing this module registers the ``secret`` subcommands on the groups in ``flyte.cli._groups``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Optional

import click

from flyte._internal.secrets import SecretInfo, SecretStore
from flyte._secret import Secret
from flyte.cli._errors import fail, note
from flyte.cli._groups import create, delete, get
from flyte.errors import SecretNotFoundError

__all__ = ["create", "delete", "get"]

_GROUP_HELP = "Group the secret belongs to (optional)."


def _open_store() -> SecretStore:
    try:
        return SecretStore()
    except (ValueError, RuntimeError) as e:
        fail(str(e), e)


def _report(error: Exception) -> NoReturn:
    """Exit with a readable message for the errors the store raises."""
    message = error.message if isinstance(error, SecretNotFoundError) else str(error)
    fail(message, error)


class _ValueOption(click.Option):
    """``--value`` that prompts (hidden input) only when ``--from-file`` was not given either."""

    def prompt_for_value(self, ctx: click.Context) -> Any:
        if ctx.params.get("from_file") is not None or ctx.params.get("secret_type") == "image_pull":
            return None
        return super().prompt_for_value(ctx)


def _how_to_use(key: str, group: Optional[str]) -> str:
    group_arg = f", group={group!r}" if group else ""
    env_name = Secret(key=key, group=group).as_env_var
    return f"Use it in a task with flyte.Secret(key={key!r}{group_arg}); it is read from ${env_name}."


@create.command("secret")
@click.argument("name")
@click.option(
    "--value",
    cls=_ValueOption,
    prompt="Enter secret value",
    hide_input=True,
    default=None,
    help="The secret's value. Left out, it is asked for at a hidden prompt (keeps it out of shell history).",
)
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Read the value (any bytes) from this file instead.",
)
@click.option("--group", default=None, help=_GROUP_HELP)
@click.option(
    "--type",
    "secret_type",
    type=click.Choice(["regular", "image_pull"]),
    default="regular",
    show_default=True,
    help="image_pull: registry credentials (a Docker config JSON) for pulling images.",
)
@click.option("--registry", default=None, help="With --type image_pull: the registry host, e.g. ghcr.io.")
@click.option("--username", default=None, help="With --registry: the user name.")
@click.option("--password", default=None, help="With --registry: the password (asked for when left out).")
@click.option("--from-docker-config", is_flag=True, help="With --type image_pull: use ~/.docker/config.json.")
@click.option("--docker-config-path", type=click.Path(exists=True, path_type=Path), default=None, hidden=True)
@click.option(
    "--registries", default=None, help="With --from-docker-config: comma-separated registries to keep."
)
@click.option("-p", "--project", default=None, hidden=True)
@click.option("-d", "--domain", default=None, hidden=True)
@click.option("--cluster-pool", default=None, hidden=True)
def create_secret(
    name: str,
    value: Optional[str],
    from_file: Optional[Path],
    group: Optional[str],
    secret_type: str,
    registry: Optional[str],
    username: Optional[str],
    password: Optional[str],
    from_docker_config: bool,
    docker_config_path: Optional[Path],
    registries: Optional[str],
    project: Optional[str],
    domain: Optional[str],
    cluster_pool: Optional[str],
) -> None:
    """Store secret NAME in the local secret store, replacing any previous value.

    \b
    Examples:
      flyte create secret my_api_key                 # asks for the value
      flyte create secret my_api_key --value abc123
      flyte create secret tls_cert --from-file cert.pem --group certs
      flyte create secret ghcr --type image_pull --registry ghcr.io --username me
    """
    for option, given in (("--project", project), ("--domain", domain), ("--cluster-pool", cluster_pool)):
        if given:
            note(f"{option} scopes secrets on the reference's hosted backend; the local store has one scope")
    if secret_type == "image_pull":
        value = _docker_config_json(
            registry, username, password, from_docker_config, docker_config_path, registries
        )
    if value is not None and from_file is not None:
        raise click.UsageError("give either --value or --from-file, not both")
    if from_file is not None:
        try:
            data = from_file.read_bytes()
        except OSError as e:
            fail(f"cannot read {from_file}: {e.strerror or e}", e)
    else:
        data = (value or "").encode("utf-8")
    if not data:
        fail("the secret value is empty; nothing was stored")
    store = _open_store()
    try:
        existed = store.exists(name, group)
        store.put(name, data, group)
    except (ValueError, RuntimeError, OSError) as e:
        _report(e)
    label = f"{name!r} in group {group!r}" if group else repr(name)
    click.echo(f"Secret {label} {'updated' if existed else 'created'} in the local secret store.")
    click.echo(_how_to_use(name, group))


def _format_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(rows: list[SecretInfo]) -> str:
    header = ("NAME", "GROUP", "CREATED", "UPDATED")
    cells = [(i.key, i.group or "-", _format_time(i.created_at), _format_time(i.updated_at)) for i in rows]
    widths = [max(len(str(row[c])) for row in [header, *cells]) for c in range(len(header))]
    lines = [
        "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    ]
    return "\n".join(lines)


@get.command("secret")
@click.argument("name", required=False)
@click.option("--group", default=None, help="With NAME: the group of the secret to show.")
@click.option(
    "-of",
    "--output-format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)
def get_secret(name: Optional[str], group: Optional[str], output_format: str) -> None:
    """List the secrets in the local store, or show one secret's details. Values are never shown.

    \b
    Examples:
      flyte get secret
      flyte get secret db_password -of json
    """
    store = _open_store()
    try:
        infos = [store.info(name, group)] if name else store.list()
    except (SecretNotFoundError, ValueError, RuntimeError, OSError) as e:
        _report(e)
    if output_format == "json":
        payload: Any = infos[0].to_dict() if name else [i.to_dict() for i in infos]
        click.echo(json.dumps(payload, indent=2))
    elif not infos:
        click.echo(f"No secrets in the local secret store ({store.root}).")
        click.echo("Create one with: flyte create secret NAME")
    else:
        click.echo(_table(infos))


@delete.command("secret")
@click.argument("name")
@click.option("--group", default=None, help=_GROUP_HELP)
def delete_secret(name: str, group: Optional[str]) -> None:
    """Delete secret NAME from the local secret store.

    \b
    Examples:
      flyte delete secret db_password
      flyte delete secret token --group github
    """
    store = _open_store()
    try:
        store.delete(name, group)
    except (SecretNotFoundError, ValueError, RuntimeError, OSError) as e:
        _report(e)
    label = f"{name!r} in group {group!r}" if group else repr(name)
    click.echo(f"Secret {label} deleted from the local secret store.")


def _docker_config_json(
    registry: Optional[str],
    username: Optional[str],
    password: Optional[str],
    from_docker_config: bool,
    config_path: Optional[Path],
    registries: Optional[str],
) -> str:
    """The value of an image-pull secret: a Docker config JSON with the registries' credentials."""
    import base64
    import json
    import os

    if from_docker_config:
        path = config_path or Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "config.json"
        try:
            auths = dict(json.loads(Path(path).read_text()).get("auths") or {})
        except (OSError, ValueError) as e:
            fail(f"cannot read the Docker config {path}: {e}", e)
        if registries:
            keep = {r.strip() for r in registries.split(",") if r.strip()}
            auths = {host: entry for host, entry in auths.items() if host in keep}
        if not auths:
            fail(f"the Docker config {path} has no credentials for the registries asked for")
        return json.dumps({"auths": auths})
    registry = registry or click.prompt("Registry (e.g. ghcr.io)")
    username = username or click.prompt("Username")
    password = password or click.prompt("Password", hide_input=True)
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {registry: {"auth": token}}})
