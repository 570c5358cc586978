"""The layer kinds an ``Image`` is made of: each is frozen, knows its identity and validates itself."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, Optional

from flyte._image.hashing import hash_path_into
from flyte._image.uv_script import parse_uv_script_metadata
from flyte._secret import Secret


@dataclass(frozen=True)
class Layer:
    """One step applied on top of an image's base. Subclasses describe what the step does."""

    def _identity(self) -> list[Any]:
        """JSON-able values that define this layer (file contents are added by :meth:`update_hash`)."""
        values: list[Any] = [type(self).__name__]
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Path):
                continue
            if isinstance(value, tuple):
                value = [v.stable_hash() if isinstance(v, Secret) else v for v in value]
            values.append([f.name, value])
        return values

    def _content_paths(self) -> tuple[Path, ...]:
        """Files or folders whose content belongs to this layer's identity."""
        return ()

    def update_hash(self, hasher: Any) -> None:
        """Feed this layer's identity, including referenced file contents, into ``hasher``."""
        hasher.update(json.dumps(self._identity(), sort_keys=True, default=str).encode("utf-8"))
        for path in self._content_paths():
            hash_path_into(path, hasher)

    def validate(self) -> None:
        """Raise if the layer cannot be built as defined (e.g. a referenced file is missing)."""


def _require_file(path: Path, what: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"{what}: {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"{what}: {str(path)!r} is not a file")


@dataclass(frozen=True)
class PipOption:
    """Options shared by the layers that install Python packages."""

    index_url: Optional[str] = None
    extra_index_urls: Optional[tuple[str, ...]] = None
    pre: bool = False
    extra_args: Optional[str] = None
    secret_mounts: Optional[tuple[Secret, ...]] = None

    def get_pip_install_args(self) -> list[str]:
        """The extra ``pip install`` arguments these options stand for."""
        args: list[str] = []
        if self.index_url:
            args.append(f"--index-url {self.index_url}")
        args.extend(f"--extra-index-url {url}" for url in self.extra_index_urls or ())
        if self.pre:
            args.append("--pre")
        if self.extra_args:
            args.append(self.extra_args)
        return args


@dataclass(frozen=True)
class PipPackages(PipOption, Layer):
    """``pip install`` of the given requirement specifiers."""

    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class PythonWheels(PipOption, Layer):
    """``pip install`` of the wheels found in a local folder (their bytes are part of the image identity).

    ``package_name`` names the distribution the wheels provide (e.g. a locally built ``flyte``).
    """

    wheel_dir: Path = Path("dist")
    package_name: str = ""

    @property
    def wheel_dir_name(self) -> str:
        """The folder's own name (where the wheels land inside the build context)."""
        return self.wheel_dir.name

    def _content_paths(self) -> tuple[Path, ...]:
        return tuple(sorted(self.wheel_dir.glob("*.whl"))) if self.wheel_dir.is_dir() else (self.wheel_dir,)

    def validate(self) -> None:
        if not self.wheel_dir.is_dir():
            raise FileNotFoundError(f"PythonWheels wheel_dir: {str(self.wheel_dir)!r} is not a folder")


@dataclass(frozen=True)
class Requirements(PipOption, Layer):
    """``pip install -r`` of a requirements file (its content is part of the image identity)."""

    file: Path = Path("requirements.txt")

    def _content_paths(self) -> tuple[Path, ...]:
        return (self.file,)

    def validate(self) -> None:
        _require_file(self.file, "Image.with_requirements file")


@dataclass(frozen=True)
class UVProject(PipOption, Layer):
    """Install a uv project's locked dependencies (or the whole project) from pyproject.toml + uv.lock."""

    pyproject: Path = Path("pyproject.toml")
    uvlock: Path = Path("uv.lock")
    project_install_mode: Literal["dependencies_only", "install_project"] = "dependencies_only"

    def _content_paths(self) -> tuple[Path, ...]:
        if self.project_install_mode == "install_project":
            return (self.pyproject.parent,)
        return (self.pyproject, self.uvlock)

    def validate(self) -> None:
        _require_file(self.pyproject, "Image.with_uv_project pyproject_file")
        _require_file(self.uvlock, "Image.with_uv_project uvlock")


@dataclass(frozen=True)
class PoetryProject(Layer):
    """Install a Poetry project's locked dependencies (or the whole project)."""

    pyproject: Path = Path("pyproject.toml")
    poetry_lock: Path = Path("poetry.lock")
    extra_args: Optional[str] = None
    project_install_mode: Literal["dependencies_only", "install_project"] = "dependencies_only"
    secret_mounts: Optional[tuple[Secret, ...]] = None

    def _content_paths(self) -> tuple[Path, ...]:
        if self.project_install_mode == "install_project":
            return (self.pyproject.parent,)
        return (self.pyproject, self.poetry_lock)

    def validate(self) -> None:
        _require_file(self.pyproject, "Image.with_poetry_project pyproject_file")
        _require_file(self.poetry_lock, "Image.with_poetry_project poetry_lock")


@dataclass(frozen=True)
class UVScript(PipOption, Layer):
    """Install the dependencies declared in a script's inline ``# /// script`` metadata block."""

    script: Path = Path("script.py")

    def _content_paths(self) -> tuple[Path, ...]:
        return (self.script,)

    def validate(self) -> None:
        _require_file(self.script, "Image.from_uv_script script")
        parse_uv_script_metadata(self.script)


@dataclass(frozen=True)
class AptPackages(Layer):
    """``apt-get install`` of the given packages."""

    packages: tuple[str, ...] = ()
    secret_mounts: Optional[tuple[Secret, ...]] = None


@dataclass(frozen=True)
class Commands(Layer):
    """Shell commands run in order at build time (each as its own ``RUN``)."""

    commands: tuple[str, ...] = ()
    secret_mounts: Optional[tuple[Secret, ...]] = None


@dataclass(frozen=True)
class WorkDir(Layer):
    """Sets the working directory of the image."""

    workdir: str = "/root"


@dataclass(frozen=True)
class Env(Layer):
    """Environment variables set in the image, as ``(name, value)`` pairs sorted by name."""

    env_vars: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_dict(cls, envs: dict[str, str]) -> Env:
        """Build the layer from a mapping."""
        return cls(env_vars=tuple(sorted(envs.items())))


@dataclass(frozen=True)
class DockerIgnore(Layer):
    """A .dockerignore file whose patterns apply to the copy layers (its content is hashed)."""

    path: Path = Path(".dockerignore")

    def _content_paths(self) -> tuple[Path, ...]:
        return (self.path,)

    def validate(self) -> None:
        _require_file(self.path, "Image.with_dockerignore path")


CopyConfigType = Literal[0, 1]


@dataclass(frozen=True)
class CopyConfig(Layer):
    """Copies a local file (``path_type=0``) or folder (``path_type=1``) into the image at ``dst``."""

    path_type: CopyConfigType = 0
    src: Path = Path(".")
    dst: str = "."
    copy_contents_only: bool = False

    def __post_init__(self) -> None:
        if self.path_type not in (0, 1):
            raise ValueError(
                f"CopyConfig path_type: {self.path_type!r} is not allowed; use 0 (file) or 1 (folder)"
            )

    def _identity(self) -> list[Any]:
        # The source's own name decides where it lands under dst, so it is part of the identity.
        return [*super()._identity(), ["src_name", self.src.name]]

    def _content_paths(self) -> tuple[Path, ...]:
        return (self.src,)

    def validate(self) -> None:
        method = "with_source_file" if self.path_type == 0 else "with_source_folder"
        if not self.src.exists():
            raise FileNotFoundError(f"Image.{method} src: {str(self.src)!r} does not exist")
        if self.path_type == 0 and not self.src.is_file():
            raise ValueError(f"Image.{method} src: {str(self.src)!r} is not a file")
        if self.path_type == 1 and not self.src.is_dir():
            raise ValueError(f"Image.{method} src: {str(self.src)!r} is not a folder")


@dataclass(frozen=True)
class CodeBundleLayer(Layer):
    """Bake the task code into the image instead of shipping a code bundle at run time."""

    copy_style: Literal["loaded_modules", "all"] = "loaded_modules"
    dst: str = "."


@dataclass(frozen=True)
class InstallFlyte(Layer):
    """Ours: install the flyte package, at ``version`` or, when ``None``, the one running this engine."""

    version: Optional[str] = None
    pre: bool = False
