"""``flyte get artifact``: artifact names, the versions of one, or one version's details, from the
local run store or the configured control plane (``flyte.remote.Artifact``)."""

from __future__ import annotations

from datetime import datetime

import click

from flyte.cli._format import echo_json, local_time, output_format_option, print_table
from flyte.cli._groups import get
from flyte.cli._remote import remote_configured


def _row(a: object) -> list[str]:
    from flyte.remote._artifact import Artifact

    assert isinstance(a, Artifact)
    parts = ", ".join(f"{k}={v}" for k, v in a.record.get("partitions", {}).items()) or "-"
    return [a.name, a.version, a.kind, parts, a.source, local_time(a.record.get("created_at"))]


@get.command("artifact")
@click.argument("name", required=False)
@click.argument("version", required=False)
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many results.")
@click.option("--search", default=None, help="Only names containing this text (when listing names).")
@click.option(
    "--created-after", type=click.DateTime(), default=None, help="Only versions created after (UTC)."
)
@click.option("--source-run", default=None, help="Only versions produced by this run.")
@click.option("--source-action", default=None, help="Only versions produced by this action.")
@click.option("--source-external-ref", default=None, help="Only versions imported from this reference.")
@click.option("--kind", type=click.Choice(["model", "data", "generic"]), default=None, help="Only this kind.")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE", help="Only versions with this attr.")
@click.option("-p", "--project", default=None, help="Only artifacts of runs of this project.")
@click.option("-d", "--domain", default=None, help="Only artifacts of runs of this domain.")
@output_format_option
def get_artifact(
    name: str | None,
    version: str | None,
    limit: int,
    search: str | None,
    created_after: datetime | None,
    source_run: str | None,
    source_action: str | None,
    source_external_ref: str | None,
    kind: str | None,
    attrs: tuple[str, ...],
    project: str | None,
    domain: str | None,
    output_format: str,
) -> None:
    """Artifact names (latest version and count), every version of NAME, or version VERSION of it.

    \b
    Examples:
      flyte get artifact
      flyte get artifact sentiment-model
      flyte get artifact sentiment-model r1/a0-train
      flyte get artifact --source-run r1 --kind model -of json
    """
    from flyte.remote._artifact import Artifact

    remote_configured()  # reads the config (or --endpoint): artifacts come from there if it names one
    bad = [a for a in attrs if "=" not in a]
    if bad:
        raise click.BadParameter(f"expected KEY=VALUE, got {bad[0]!r}", param_hint="--attr")
    attr_map = dict(a.split("=", 1) for a in attrs)
    if name and version:
        found = [Artifact.get(name, version=version, project=project, domain=domain)]
    elif name or source_run or source_action or source_external_ref or created_after or kind or attr_map:
        found = list(
            Artifact.listall(
                name=name,
                created_after=created_after,
                limit=limit,
                project=project,
                domain=domain,
                source_run=source_run,
                source_action=source_action,
                source_external_ref=source_external_ref,
                kind=kind,  # type: ignore[arg-type]
                attrs=attr_map or None,
            )
        )
    else:
        groups = list(Artifact.list_names(search=search, limit=limit, project=project, domain=domain))
        if output_format == "json":
            echo_json([{**g.latest.record, "versions": g.versions} for g in groups])
            return
        rows = [[g.name, str(g.versions), *_row(g.latest)[1:]] for g in groups]
        print_table(["name", "versions", "latest", "kind", "partitions", "source", "created"], rows)
        return
    if output_format == "json":
        echo_json([a.record for a in found] if not version else found[0].record)
        return
    print_table(["name", "version", "kind", "partitions", "source", "created"], [_row(a) for a in found])
