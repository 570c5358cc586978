"""``flyte create project`` and ``flyte get project``: projects kept in ``$FLYTE_HOME/projects.json``.

A project here is a name runs are grouped under (runs carry ``project``/``domain`` labels);
the file holds ``{"projects": [{"id", "name", "description", "labels", "created_at"}]}``.
Importing this module registers ``project`` on the ``create`` and ``get`` groups.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import click

from flyte._internal.run_config import flyte_home
from flyte.cli._errors import fail
from flyte.cli._format import echo_json, iso_time, local_time, output_format_option, print_fields, print_table
from flyte.cli._groups import create, get

__all__ = ["load_projects", "save_projects"]

PROJECTS_FILE = "projects.json"
_ID = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$")


def projects_file() -> Path:
    return flyte_home() / PROJECTS_FILE


def load_projects() -> list[dict[str, Any]]:
    """The projects recorded under FLYTE_HOME, in creation order."""
    path = projects_file()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        fail(f"Cannot read {path}: {e}")
    projects = data.get("projects") if isinstance(data, dict) else None
    return [p for p in projects if isinstance(p, dict) and "id" in p] if isinstance(projects, list) else []


def save_projects(projects: list[dict[str, Any]]) -> None:
    """Write the project list atomically."""
    path = projects_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"projects": projects}, indent=2, ensure_ascii=False))
    os.replace(tmp, path)


def _labels(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}")
        labels[key.strip()] = value.strip()
    return labels


def _to_json(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": project["id"],
        "name": project.get("name", project["id"]),
        "description": project.get("description", ""),
        "labels": dict(project.get("labels") or {}),
        "created_at": iso_time(project.get("created_at")),
    }


@create.command("project")
@click.option("--id", "project_id", required=True, help="Unique, unchangeable id of the project.")
@click.option("--name", required=True, help="Display name of the project.")
@click.option("--description", default="", help="What the project is for.")
@click.option(
    "-l", "--label", "labels", multiple=True, callback=_labels, help="A key=value label (repeatable)."
)
def create_project(project_id: str, name: str, description: str, labels: dict[str, str]) -> None:
    """Create a project (recorded in $FLYTE_HOME/projects.json).

    \b
    Examples:
      flyte create project --id ml --name "Machine learning"
      flyte create project --id ml --name "ML" --description "Models" -l team=ml -l env=dev
    """
    if not _ID.match(project_id):
        fail(
            f"Invalid project id {project_id!r}: use lowercase letters, digits, '-' and '_' "
            "(starting and ending with a letter or digit, at most 63 characters)"
        )
    projects = load_projects()
    if any(p["id"] == project_id for p in projects):
        fail(f"Project '{project_id}' already exists (see `flyte get project {project_id}`)")
    record = {"id": project_id, "name": name, "description": description, "labels": labels}
    projects.append({**record, "created_at": time.time()})
    save_projects(projects)
    click.echo(f"Project {project_id} created.")


@get.command("project")
@click.argument("name", required=False)
@click.option("--archived", is_flag=True, hidden=True, help="Reference option; nothing is archived here.")
@output_format_option
def get_project(name: str | None, archived: bool, output_format: str) -> None:
    """List the projects, or show one by id.

    \b
    Examples:
      flyte get project
      flyte get project ml
      flyte get project -of json
    """
    projects = [] if archived else load_projects()
    if name is not None:
        found = next((p for p in projects if p["id"] == name or p.get("name") == name), None)
        if found is None:
            known = ", ".join(p["id"] for p in projects) or "none yet"
            fail(f"Project '{name}' not found (projects: {known}); create it with `flyte create project`")
        if output_format == "json":
            echo_json(_to_json(found))
            return
        data = _to_json(found)
        print_fields(
            [
                ("Id", data["id"]),
                ("Name", data["name"]),
                ("Description", data["description"] or "-"),
                ("Labels", ", ".join(f"{k}={v}" for k, v in data["labels"].items()) or "-"),
                ("Created", local_time(found.get("created_at"))),
            ]
        )
        return
    if output_format == "json":
        echo_json([_to_json(p) for p in projects])
        return
    if not projects:
        click.echo("No projects yet; create one with `flyte create project --id ID --name NAME`.")
        return
    rows = [
        [
            p["id"],
            p.get("name", p["id"]),
            p.get("description") or "-",
            ", ".join(f"{k}={v}" for k, v in (p.get("labels") or {}).items()) or "-",
            local_time(p.get("created_at")),
        ]
        for p in projects
    ]
    print_table(["ID", "NAME", "DESCRIPTION", "LABELS", "CREATED"], rows)
