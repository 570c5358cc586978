"""``flyte build FILE [ENV]``: build the images of a file's environments, skipping those already pushed.

::

    flyte build wf.py env                # the environment bound to the name `env` in wf.py
    flyte build --all wf.py              # every environment the file defines
    flyte build --dry-run wf.py env      # print the Dockerfile and write the context, build nothing
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from flyte._environment import Environment
from flyte._internal.loader import load_module
from flyte.cli._errors import fail
from flyte.cli._format import echo_json, output_format_option, print_table

if TYPE_CHECKING:
    from flyte._internal.imagebuild.engine import ImageBuild

_STATUS_TEXT = {
    "exists": "in registry (not rebuilt)",
    "built": "built and pushed",
    "dry_run": "dry run (context written)",
    "as_is": "used as is",
}


def _environments(module: Any, env_name: str | None, all_envs: bool, target: str) -> list[Environment]:
    found = {name: obj for name, obj in vars(module).items() if isinstance(obj, Environment)}
    if all_envs or env_name is None:
        if not found:
            fail(f"{target} defines no TaskEnvironment")
        if env_name is None and not all_envs and len(found) > 1:
            fail(
                f"{target} defines several environments ({', '.join(sorted(found))}); name one or pass --all"
            )
        return list(found.values())
    if env_name in found:
        return [found[env_name]]
    by_env_name = [env for env in found.values() if env.name == env_name]
    if by_env_name:
        return by_env_name[:1]
    known = ", ".join(sorted(found)) or "none"
    fail(f"{target} has no environment named {env_name!r}; its environments are: {known}")


async def _build_all(envs: list[Environment], dry_run: bool, force: bool) -> list[tuple[str, ImageBuild]]:
    # Imported here, not at the top: the registry client (httpx) would slow down every `flyte` command.
    from flyte._internal.imagebuild import engine

    results: dict[str, ImageBuild] = {}
    rows = []
    for name, env in engine.plan_environments(envs).items():
        resolved = engine.resolve_image(env)
        if isinstance(resolved, str):
            rows.append((name, engine.ImageBuild(uri=resolved, status="as_is")))
            continue
        key = resolved.uri
        if key not in results:
            results[key] = await engine.build_image(resolved, dry_run=dry_run, force=force)
        rows.append((name, results[key]))
    return rows


@click.command("build")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("env", required=False)
@click.option("--all", "all_envs", is_flag=True, help="Build the images of every environment in FILE.")
@click.option("--dry-run", is_flag=True, help="Write the Dockerfile and context, print the Dockerfile.")
@click.option("--force", is_flag=True, help="Build even when the registry already has the image's tag.")
@click.option("--root-dir", default=None, help="Root of the code (what with_code_bundle layers copy).")
@click.option("--copy-style", default="loaded_modules", hidden=True)
@output_format_option
def build(
    file: str,
    env: str | None,
    all_envs: bool,
    dry_run: bool,
    force: bool,
    root_dir: str | None,
    copy_style: str,
    output_format: str,
) -> None:
    """Build the images of the environments in FILE and push them to their registries.

    ENV is the name the environment is bound to in FILE (or its TaskEnvironment name). An image
    whose content-hash tag is already in its registry is not rebuilt. Builds use docker buildx,
    podman or buildah, whichever works here.

    \b
    Examples:
      flyte build wf.py env
      flyte build --all wf.py
      flyte build --dry-run wf.py env
    """
    import flyte

    if root_dir is not None:
        flyte.init(root_dir=root_dir)
    module = load_module(file, Path(root_dir) if root_dir else None)
    envs = _environments(module, env, all_envs, file)
    rows = asyncio.run(_build_all(envs, dry_run, force))
    if output_format == "json":
        echo_json(
            [
                {
                    "environment": name,
                    "image": result.uri,
                    "status": result.status,
                    "context_dir": str(result.context_dir) if result.context_dir else None,
                }
                for name, result in rows
            ]
        )
        return
    if dry_run:
        printed: set[str] = set()
        for _name, result in rows:
            if result.dockerfile and result.uri not in printed:
                printed.add(result.uri or "")
                click.echo(f"# Dockerfile of {result.uri} (context: {result.context_dir})")
                click.echo(result.dockerfile)
    print_table(
        ["Environment", "Image", "Status"],
        [(name, result.uri or "", _STATUS_TEXT[result.status]) for name, result in rows],
    )
