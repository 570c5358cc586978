"""Turn a ``flyte.Image`` into a Dockerfile and a build context directory.

Rules kept by this module:

- The context holds only what the Dockerfile refers to: every local file or folder a layer names is
  copied under ``_flyte/`` in the context, so a build never reads outside it.
- Every value that reaches a shell is quoted (``numpy>=2`` must not become a redirection).
- Python packages go into a virtual environment at ``/opt/venv`` created with ``uv`` for the
  image's ``python_version``; ``PATH`` puts it first, so ``python`` and ``pip`` are the venv's.
- Build-time secrets (``secret_mounts=``) are BuildKit secret mounts: they are visible to the one
  ``RUN`` that needs them and never stored in a layer.
- The same image gives the same Dockerfile byte for byte (the registry tag is the image's content
  hash; the Dockerfile is derived from the same definition).
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Optional

from flyte._image import (
    AptPackages,
    CodeBundleLayer,
    Commands,
    CopyConfig,
    DockerIgnore,
    Env,
    Image,
    InstallFlyte,
    Layer,
    PipOption,
    PipPackages,
    PoetryProject,
    PythonWheels,
    Requirements,
    UVProject,
    UVScript,
    WorkDir,
    parse_uv_script_metadata,
)
from flyte._secret import Secret
from flyte.errors import ImageBuildError

__all__ = ["BuildContext", "SecretUse", "render_context", "render_dockerfile"]

UV_IMAGE = "ghcr.io/astral-sh/uv:0.8.13"
"""Where the ``uv`` binary is copied from (a pinned tag, so the Dockerfile is reproducible)."""

VENV = "/opt/venv"
_CTX = "_flyte"  # everything copied into the context lives under this folder
_UV_CACHE = "--mount=type=cache,target=/root/.cache/uv,sharing=locked"
_ALWAYS_IGNORED = (".git", "__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache", ".ruff_cache")


@dataclass(frozen=True)
class SecretUse:
    """One build-time secret: the BuildKit id the Dockerfile mounts and the flyte.Secret behind it."""

    id: str
    secret: Secret


@dataclass
class BuildContext:
    """A rendered build: the Dockerfile text, the context folder (when written) and the secrets it mounts."""

    image: Image
    dockerfile: str
    context_dir: Optional[Path] = None
    dockerfile_path: Optional[Path] = None
    secrets: list[SecretUse] = field(default_factory=list)


class _Writer:
    """Collects Dockerfile lines and copies layer inputs into the context (or only names them)."""

    def __init__(self, image: Image, context_dir: Optional[Path], root_dir: Path):
        self.image = image
        self.context_dir = context_dir
        self.root_dir = root_dir
        self.lines: list[str] = []
        self.secrets: dict[str, SecretUse] = {}
        self.ignore: tuple[str, ...] = _ALWAYS_IGNORED
        self._counter = 0

    # ---- context ------------------------------------------------------------------------------

    def add_to_context(self, src: Path, kind: str) -> str:
        """Copy ``src`` (a file or folder) into the context; return its context-relative POSIX path.

        Names are numbered in layer order, so two sources with the same name never collide.
        """
        self._counter += 1
        rel = PurePosixPath(_CTX, kind, f"{self._counter:02d}", src.name or "root")
        if self.context_dir is not None:
            dest = self.context_dir.joinpath(*rel.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dest, ignore=self._ignore_for(src), dirs_exist_ok=True)
            elif src.is_file():
                shutil.copy2(src, dest)
            else:
                raise ImageBuildError(
                    f"Image {self.image.uri}: {str(src)!r} does not exist, so it cannot be copied into "
                    "the build context"
                )
        return rel.as_posix()

    def add_files(self, files: Iterable[str], root: Path, kind: str) -> str:
        """Copy ``files`` (relative to ``root``) into one context folder; return its path."""
        self._counter += 1
        rel = PurePosixPath(_CTX, kind, f"{self._counter:02d}")
        if self.context_dir is not None:
            base = self.context_dir.joinpath(*rel.parts)
            base.mkdir(parents=True, exist_ok=True)
            for name in files:
                target = base / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, target)
        return rel.as_posix()

    def _ignore_for(self, top: Path) -> Callable[[str, list[str]], set[str]]:
        patterns = self.ignore

        def ignore(directory: str, names: list[str]) -> set[str]:
            rel_dir = Path(directory).relative_to(top).as_posix()
            out = set()
            for name in names:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(rel, p.strip("/")) for p in patterns):
                    out.add(name)
            return out

        return ignore

    # ---- Dockerfile ---------------------------------------------------------------------------

    def emit(self, *lines: str) -> None:
        self.lines.extend(lines)

    def secret_flags(self, secrets: Optional[tuple[Secret, ...]]) -> list[str]:
        """BuildKit ``--mount=type=secret`` flags for one RUN; the secrets are recorded for the builder."""
        flags = []
        for secret in secrets or ():
            use = SecretUse(id=_secret_id(secret), secret=secret)
            self.secrets[use.id] = use
            if secret.mount is not None:
                target = PurePosixPath(
                    str(secret.mount), *([secret.group] if secret.group else []), secret.key
                )
                flags.append(f"--mount=type=secret,id={use.id},target={target}")
            else:
                flags.append(f"--mount=type=secret,id={use.id},env={secret.as_env_var}")
        return flags

    def run(self, command: str, mounts: Iterable[str] = ()) -> None:
        """One ``RUN``: mounts first, each on its own continuation line."""
        parts = [*mounts]
        if not parts:
            self.emit(f"RUN {command}")
            return
        self.emit("RUN " + " \\\n    ".join([*parts, command]))


def _secret_id(secret: Secret) -> str:
    return "flyte-" + "-".join(p for p in (secret.group, secret.key) if p).replace("/", "-")


def _q(values: Iterable[str]) -> str:
    return " ".join(shlex.quote(v) for v in values)


def _pip_args(layer: PipOption) -> list[str]:
    """Installer options as argv words (``extra_args`` is the user's own text and split as a shell would)."""
    args: list[str] = []
    if layer.index_url:
        args += ["--index-url", layer.index_url]
    for url in layer.extra_index_urls or ():
        args += ["--extra-index-url", url]
    if layer.pre:
        args.append("--prerelease=allow")
    if layer.extra_args:
        args += shlex.split(layer.extra_args)
    return args


def _uv_pip_install(w: _Writer, layer: PipOption, words: list[str], mounts: Iterable[str] = ()) -> None:
    w.run(
        f"uv pip install --python {VENV}/bin/python {_q([*_pip_args(layer), *words])}",
        [_UV_CACHE, *mounts, *w.secret_flags(layer.secret_mounts)],
    )


# ---- one function per layer kind ------------------------------------------------------------------


def _apt(w: _Writer, layer: AptPackages) -> None:
    w.run(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
        f"{_q(layer.packages)} && rm -rf /var/lib/apt/lists/*",
        ["--mount=type=cache,target=/var/cache/apt,sharing=locked", *w.secret_flags(layer.secret_mounts)],
    )


def _pip(w: _Writer, layer: PipPackages) -> None:
    _uv_pip_install(w, layer, list(layer.packages))


def _requirements(w: _Writer, layer: Requirements) -> None:
    src = w.add_to_context(layer.file, "requirements")
    target = f"/tmp/flyte-requirements/{layer.file.name}"
    _uv_pip_install(w, layer, ["-r", target], [f"--mount=type=bind,source={src},target={target}"])


def _wheels(w: _Writer, layer: PythonWheels) -> None:
    src = w.add_to_context(layer.wheel_dir, "wheels")
    target = "/tmp/flyte-wheels"
    # The named distribution comes from the folder; its dependencies from the index.
    if layer.package_name:
        words = ["--find-links", target, layer.package_name]
        _uv_pip_install(w, layer, words, [f"--mount=type=bind,source={src},target={target}"])
    else:
        mounts = [f"--mount=type=bind,source={src},target={target}"]
        w.run(
            f"uv pip install --python {VENV}/bin/python {_q(_pip_args(layer))} {target}/*.whl",
            [_UV_CACHE, *mounts, *w.secret_flags(layer.secret_mounts)],
        )


def _uv_script(w: _Writer, layer: UVScript) -> None:
    deps = parse_uv_script_metadata(layer.script).dependencies
    if deps:
        _uv_pip_install(w, layer, list(deps))


def _uv_project(w: _Writer, layer: UVProject) -> None:
    env = f"UV_PROJECT_ENVIRONMENT={VENV}"
    sync = f"{env} uv sync --frozen --no-dev {_q(_pip_args(layer))}".rstrip()
    secrets = w.secret_flags(layer.secret_mounts)
    if layer.project_install_mode == "dependencies_only":
        pyproject = w.add_to_context(layer.pyproject, "uv")
        lock = w.add_to_context(layer.uvlock, "uv")
        w.run(
            f"cd /tmp/flyte-uv && {sync} --no-install-project",
            [
                _UV_CACHE,
                f"--mount=type=bind,source={pyproject},target=/tmp/flyte-uv/pyproject.toml",
                f"--mount=type=bind,source={lock},target=/tmp/flyte-uv/uv.lock",
                *secrets,
            ],
        )
        return
    project = w.add_to_context(layer.pyproject.parent, "uv")
    dest = f"/opt/flyte-projects/{layer.pyproject.parent.name}"
    w.emit(f"COPY {project} {dest}")
    if layer.uvlock.parent != layer.pyproject.parent:
        lock = w.add_to_context(layer.uvlock, "uv")
        w.emit(f"COPY {lock} {dest}/uv.lock")
    w.run(f"cd {dest} && {sync}", [_UV_CACHE, *secrets])


def _poetry(w: _Writer, layer: PoetryProject) -> None:
    secrets = w.secret_flags(layer.secret_mounts)
    w.run(f"uv pip install --python {VENV}/bin/python poetry", [_UV_CACHE])
    extra = _q(shlex.split(layer.extra_args)) if layer.extra_args else ""
    # Poetry installs into the active venv (/opt/venv) instead of making one of its own.
    install = f"POETRY_VIRTUALENVS_CREATE=false poetry install --no-interaction {extra}".rstrip()
    if layer.project_install_mode == "dependencies_only":
        pyproject = w.add_to_context(layer.pyproject, "poetry")
        lock = w.add_to_context(layer.poetry_lock, "poetry")
        w.run(
            f"cd /tmp/flyte-poetry && {install} --no-root",
            [
                f"--mount=type=bind,source={pyproject},target=/tmp/flyte-poetry/pyproject.toml",
                f"--mount=type=bind,source={lock},target=/tmp/flyte-poetry/poetry.lock",
                *secrets,
            ],
        )
        return
    project = w.add_to_context(layer.pyproject.parent, "poetry")
    dest = f"/opt/flyte-projects/{layer.pyproject.parent.name}"
    w.emit(f"COPY {project} {dest}")
    w.run(f"cd {dest} && {install}", secrets)


def _commands(w: _Writer, layer: Commands) -> None:
    flags = w.secret_flags(layer.secret_mounts)
    for command in layer.commands:
        w.run(command, flags)


def _workdir(w: _Writer, layer: WorkDir) -> None:
    w.emit(f"WORKDIR {layer.workdir}")


def _env(w: _Writer, layer: Env) -> None:
    # JSON string quoting is valid Dockerfile quoting for ENV values (spaces, quotes, '$').
    pairs = " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False).replace('$', chr(92) + '$')}" for k, v in layer.env_vars
    )
    if pairs:
        w.emit(f"ENV {pairs}")


def _dockerignore(w: _Writer, layer: DockerIgnore) -> None:
    patterns = []
    for line in layer.path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    w.ignore = (*w.ignore, *patterns)


def _as_dir(dst: str) -> str:
    """``dst`` with exactly one trailing ``/`` (COPY then treats it as a folder)."""
    return dst.rstrip("/") + "/"


def _copy(w: _Writer, layer: CopyConfig) -> None:
    src = w.add_to_context(layer.src, "src")
    if layer.path_type == 0 or layer.copy_contents_only:
        w.emit(f"COPY {src} {_as_dir(layer.dst)}")
    else:
        w.emit(f"COPY {src} {_as_dir(layer.dst)}{layer.src.name}")


def _code_bundle(w: _Writer, layer: CodeBundleLayer) -> None:
    from flyte._internal.bundle import module_files

    root = w.root_dir
    if layer.copy_style == "all":
        src = w.add_to_context(root, "code")
    else:
        src = w.add_files(module_files(root), root, "code")
    w.emit(f"COPY {src} {_as_dir(layer.dst)}")


def _install_flyte(w: _Writer, layer: InstallFlyte) -> None:
    from flyte import __version__

    version = layer.version or __version__
    flags = ["--prerelease=allow"] if layer.pre else []
    w.run(
        f"uv pip install --python {VENV}/bin/python {_q([*flags, f'flyte-engine=={version}'])}", [_UV_CACHE]
    )


_HANDLERS: dict[type[Layer], Callable[[_Writer, Any], None]] = {
    AptPackages: _apt,
    PipPackages: _pip,
    Requirements: _requirements,
    PythonWheels: _wheels,
    UVScript: _uv_script,
    UVProject: _uv_project,
    PoetryProject: _poetry,
    Commands: _commands,
    WorkDir: _workdir,
    Env: _env,
    DockerIgnore: _dockerignore,
    CopyConfig: _copy,
    CodeBundleLayer: _code_bundle,
    InstallFlyte: _install_flyte,
}


def _header(w: _Writer) -> None:
    image = w.image
    major, minor = image.python_version
    w.emit(
        "# syntax=docker/dockerfile:1.10",
        f"# flyte image {image.uri}",
        f"FROM {UV_IMAGE} AS uv",
        f"FROM {image.base_image}",
        "USER root",
        "COPY --from=uv /uv /usr/bin/uv",
        f"ENV VIRTUAL_ENV={VENV} UV_PYTHON={VENV}/bin/python UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 \\",
        f'    PATH="{VENV}/bin:$PATH"',
        f"RUN uv venv {VENV} --python {major}.{minor}",
        "WORKDIR /root",
    )


def render(image: Image, context_dir: Optional[Path] = None, root_dir: Optional[Path] = None) -> BuildContext:
    """The Dockerfile for ``image``; with ``context_dir``, also write it and every input there.

    ``root_dir`` is the project folder a :class:`CodeBundleLayer` copies from (default: the
    ``flyte.init`` root). A Dockerfile image (:meth:`Image.from_dockerfile`) is returned as is, with
    its own folder as the context.

    Raises:
        ImageBuildError: the image has nothing to build (no name), or a layer kind is unknown.
        FileNotFoundError / ValueError: a file a layer refers to is missing (from ``Image.validate``).
    """
    if image.dockerfile is not None:
        image.validate()
        return BuildContext(
            image=image,
            dockerfile=image.dockerfile.read_text(encoding="utf-8"),
            context_dir=image.dockerfile.parent,
            dockerfile_path=image.dockerfile,
        )
    if not image.name or not image.base_image:
        raise ImageBuildError(
            f"Image {image.uri!r} is used as is and has nothing to build; give it a name and layers "
            "(Image.from_debian_base(...) or .clone(name=..., extendable=True))"
        )
    image.validate()
    if root_dir is None:
        from flyte._initialize import get_init_config

        root_dir = get_init_config().root_dir
    if context_dir is not None:
        if context_dir.exists():
            shutil.rmtree(context_dir)
        context_dir.mkdir(parents=True)
    w = _Writer(image, context_dir, Path(root_dir))
    _header(w)
    for layer in image.layers:
        handler = _HANDLERS.get(type(layer))
        if handler is None:
            raise ImageBuildError(
                f"Image {image.uri}: the layer kind {type(layer).__name__} cannot be turned into a Dockerfile"
            )
        handler(w, layer)
    w.emit(f"ENV _F_IMG_ID={image.uri}")
    text = "\n".join(w.lines) + "\n"
    ctx = BuildContext(
        image=image, dockerfile=text, context_dir=context_dir, secrets=list(w.secrets.values())
    )
    if context_dir is not None:
        ctx.dockerfile_path = context_dir / "Dockerfile"
        ctx.dockerfile_path.write_text(text, encoding="utf-8")
    return ctx


def render_dockerfile(image: Image, root_dir: Optional[Path] = None) -> str:
    """Only the Dockerfile text for ``image`` (nothing is written)."""
    return render(image, None, root_dir).dockerfile


def render_context(image: Image, context_dir: Path, root_dir: Optional[Path] = None) -> BuildContext:
    """Write the Dockerfile and build context for ``image`` into ``context_dir`` (replaced if present)."""
    return render(image, context_dir, root_dir)


def default_context_dir(image: Image) -> Path:
    """Where builds of ``image`` are prepared: ``$FLYTE_HOME/image-builds/<name>-<tag>``."""
    from flyte._internal.run_config import flyte_home

    tag = image.uri.rsplit(":", 1)[-1]
    name = (image.name or "image").replace("/", "-")
    return Path(os.environ.get("FLYTE_IMAGE_BUILD_DIR") or flyte_home() / "image-builds") / f"{name}-{tag}"
