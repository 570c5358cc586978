"""Local image builders: find one that works here, then build and push a rendered context with it.

Detection asks each tool's engine to answer, not only whether its command exists: a ``docker``
client without a running engine (or without buildx) is not a builder. The order is docker buildx,
podman, buildah; ``FLYTE_IMAGE_BUILDER=docker|podman|buildah`` picks one (and fails clearly if that
one does not work).

Build-time secrets are passed as BuildKit ``--secret id=...`` flags, read from the variable the
secret names (``as_env_var``) when it is set, else from the local secret store through a private
temporary file that is deleted after the build.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flyte.errors import ImageBuildError

from .dockerfile import BuildContext

__all__ = ["BUILDER_NAMES", "Builder", "detect_builder", "why_no_builder"]

BUILDER_NAMES = ("docker", "podman", "buildah")


def _answers(*argv: str) -> tuple[bool, str]:
    """Whether ``argv`` runs and exits 0 within a few seconds; the reason when it does not."""
    if shutil.which(argv[0]) is None:
        return False, "not installed"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, f"`{' '.join(argv)}` failed ({type(e).__name__})"
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        return False, f"`{' '.join(argv)}` failed: {last[-1] if last else f'exit {done.returncode}'}"
    return True, ""


@dataclass(frozen=True)
class Builder:
    """One usable build tool."""

    name: str

    def commands(self, ctx: BuildContext, push: bool, secret_flags: list[str]) -> list[list[str]]:
        """The commands that build (and, with ``push``, publish) ``ctx``'s image, in order."""
        assert ctx.context_dir is not None and ctx.dockerfile_path is not None
        image = ctx.image
        # A multi-platform image can only be pushed; one loaded into the local store has one platform.
        uri, platforms = image.uri, ",".join(image.platform if push else image.platform[:1])
        base = ["-f", str(ctx.dockerfile_path), *secret_flags]
        if self.name == "docker":
            return [
                [
                    "docker",
                    "buildx",
                    "build",
                    "--platform",
                    platforms,
                    "-t",
                    uri,
                    *base,
                    "--push" if push else "--load",
                    str(ctx.context_dir),
                ]
            ]
        tool = self.name  # podman and buildah take the same build and manifest commands
        build = [tool, "build", "--platform", platforms, "--manifest", uri, *base, str(ctx.context_dir)]
        if not push:
            return [build]
        target = uri if tool == "podman" else f"docker://{uri}"
        return [build, [tool, "manifest", "push", "--all", uri, target]]


def _probe(name: str) -> tuple[bool, str]:
    if name == "docker":
        ok, why = _answers("docker", "info")
        if not ok:
            return False, "the docker client is installed but its engine does not answer" if (
                shutil.which("docker") and why != "not installed"
            ) else why
        ok, why = _answers("docker", "buildx", "version")
        return (True, "") if ok else (False, "docker has no buildx plugin")
    if name == "podman":
        return _answers("podman", "info")
    return _answers("buildah", "version")


def detect_builder() -> tuple[Optional[Builder], dict[str, str]]:
    """The first builder that works here, and for each tool tried, why it is not usable."""
    wanted = os.environ.get("FLYTE_IMAGE_BUILDER", "").strip().lower()
    if wanted and wanted not in BUILDER_NAMES:
        raise ImageBuildError(
            f"FLYTE_IMAGE_BUILDER={wanted!r} is not a known builder; use one of {', '.join(BUILDER_NAMES)}"
        )
    reasons: dict[str, str] = {}
    for name in (wanted,) if wanted else BUILDER_NAMES:
        ok, why = _probe(name)
        if ok:
            return Builder(name), reasons
        reasons[name] = why
    return None, reasons


def why_no_builder(reasons: dict[str, str]) -> str:
    """One clause per tool tried: ``docker: ..., podman: not installed, ...``."""
    return "; ".join(f"{name}: {why}" for name, why in reasons.items())


@contextmanager
def secret_flags(ctx: BuildContext) -> Iterator[list[str]]:
    """``--secret`` flags for the secrets ``ctx`` mounts; temporary files are removed afterwards."""
    flags: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flyte-build-secrets-") as tmp:
        for use in ctx.secrets:
            env_name = use.secret.as_env_var
            if env_name and env_name in os.environ:
                flags += ["--secret", f"id={use.id},env={env_name}"]
                continue
            from flyte._internal.secrets import SecretStore

            try:
                value = SecretStore().get(use.secret.key, use.secret.group)
            except Exception as e:
                raise ImageBuildError(
                    f"Image {ctx.image.uri}: the build-time secret {use.secret.key!r} is neither in the "
                    f"environment{f' as {env_name}' if env_name else ''} nor in the local secret store "
                    f"(flyte create secret {use.secret.key})"
                ) from e
            path = Path(tmp, use.id)
            path.write_bytes(value)
            path.chmod(0o600)
            flags += ["--secret", f"id={use.id},src={path}"]
        yield flags


async def run_build(builder: Builder, ctx: BuildContext, push: bool) -> None:
    """Build (and push) ``ctx`` with ``builder``; output goes to this process's stdout/stderr.

    Raises:
        ImageBuildError: a command failed; the message names it and the context folder.
    """
    with secret_flags(ctx) as flags:
        for argv in builder.commands(ctx, push, flags):
            proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
            code = await proc.wait()
            if code != 0:
                raise ImageBuildError(
                    f"Building image {ctx.image.uri} with {builder.name} failed (exit {code}) in "
                    f"`{' '.join(argv[:3])} ...`; the Dockerfile and context are in {ctx.context_dir}"
                )
