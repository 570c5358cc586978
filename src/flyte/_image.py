"""``flyte.Image``: a container image described as a base plus an ordered list of layers.

An ``Image`` is only a definition; nothing is built here. Images are immutable: every ``with_*``
method and :meth:`Image.clone` return a new ``Image`` and leave the original untouched.

The :attr:`Image.uri` tag is a content hash of everything that goes into the image (base, layers,
and the *contents* of referenced files and folders, not their location on disk), so equal
definitions give equal URIs and any change gives a different one.

Creating an image never touches the file system beyond resolving relative paths: an image may have
been built elsewhere already. Call :meth:`Image.validate` to check that referenced files exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Optional, TypeVar, Union

from flyte._secret import Secret, SecretRequest, secrets_from_request
from flyte.errors import InvalidImageNameError

__all__ = [
    "AptPackages",
    "Architecture",
    "CodeBundleLayer",
    "Commands",
    "CopyConfig",
    "DockerIgnore",
    "Env",
    "Image",
    "InstallFlyte",
    "Layer",
    "PipPackages",
    "PoetryProject",
    "PythonWheels",
    "Requirements",
    "UVProject",
    "UVScript",
    "WorkDir",
]

Architecture = Literal["linux/amd64", "linux/arm64"]
_ARCHITECTURES: tuple[str, ...] = ("linux/amd64", "linux/arm64")
_BASE_REGISTRY = "ghcr.io/flyteorg"
_DEFAULT_IMAGE_NAME = "flyte"
_MIN_PYTHON = (3, 10)
_SKIP_NAMES = frozenset({".git", "__pycache__", ".DS_Store", ".mypy_cache", ".pytest_cache", ".ruff_cache"})

T = TypeVar("T")

# --------------------------------------------------------------------------------------------------
# hashing helpers
# --------------------------------------------------------------------------------------------------


def _hash_file_into(path: Path, hasher: Any) -> None:
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            hasher.update(chunk)


def _hash_path_into(path: Path, hasher: Any) -> None:
    """Feed the content of a file, or of every file under a folder (by relative path), into ``hasher``.

    Where the path lives does not matter; a missing path hashes as a marker plus its name, so the
    identifier of a definition that was built elsewhere can still be computed.
    """
    if path.is_file():
        hasher.update(b"F\x00")
        _hash_file_into(path, hasher)
    elif path.is_dir():
        hasher.update(b"D\x00")
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_NAMES)
            for name in sorted(files):
                if name in _SKIP_NAMES or name.endswith((".pyc", ".pyo")):
                    continue
                full = Path(root, name)
                hasher.update(full.relative_to(path).as_posix().encode("utf-8") + b"\x00")
                if full.is_file():
                    _hash_file_into(full, hasher)
                hasher.update(b"\x00")
    else:
        hasher.update(b"M\x00" + path.name.encode("utf-8"))


def _ensure_tuple(value: Union[T, list[T], tuple[T, ...], None]) -> tuple[T, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _abs(path: Union[str, Path], what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what}: expected a path (str or Path), got {path!r}")
    text = os.fspath(path)
    if not text:
        raise ValueError(f"{what}: the path is empty")
    return Path(text).expanduser().absolute()


def _secret_mounts(value: Optional[SecretRequest], what: str) -> Optional[tuple[Secret, ...]]:
    if value is None:
        return None
    try:
        found = secrets_from_request(value)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what} secret_mounts: {e}") from None
    return found or None


def _check_strings(values: Iterable[Any], what: str, hint: str) -> tuple[str, ...]:
    out = []
    for value in values:
        if isinstance(value, (list, tuple)):
            raise TypeError(f"{what}: got a {type(value).__name__} {value!r}; {hint}")
        if not isinstance(value, str) or not value.strip():
            raise TypeError(f"{what}: every entry must be a non-empty string, got {value!r}")
        out.append(value.strip())
    return tuple(out)


# --------------------------------------------------------------------------------------------------
# layers
# --------------------------------------------------------------------------------------------------


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
            _hash_path_into(path, hasher)

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


# --------------------------------------------------------------------------------------------------
# uv script metadata
# --------------------------------------------------------------------------------------------------

_UV_BLOCK = re.compile(r"(?m)^# /// script\s*$\n((?:^#(?:| .*)$\n)+?)^# ///\s*$")


@dataclass(frozen=True)
class UVScriptMetadata:
    """What a script's ``# /// script`` block declares."""

    requires_python: Optional[str] = None
    dependencies: tuple[str, ...] = ()


def parse_uv_script_metadata(script: Path) -> UVScriptMetadata:
    """Read the inline metadata block (PEP 723) of ``script``.

    Raises:
        ValueError: there is no ``# /// script`` block or it is not valid TOML.
    """
    text = script.read_text(encoding="utf-8")
    match = _UV_BLOCK.search(text if text.endswith("\n") else text + "\n")
    if match is None:
        raise ValueError(
            f"Image.from_uv_script script: {str(script)!r} has no '# /// script' metadata block; "
            "start the file with '# /// script', 'dependencies = [...]', '# ///'"
        )
    body = "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in match.group(1).splitlines())
    try:
        data = _load_toml(body)
    except Exception as e:
        raise ValueError(
            f"Image.from_uv_script script: the metadata block of {str(script)!r} is not valid TOML: {e}"
        ) from e
    deps = data.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
        raise ValueError(
            f"Image.from_uv_script script: 'dependencies' in {str(script)!r} must be a list of strings"
        )
    requires = data.get("requires-python")
    return UVScriptMetadata(
        requires_python=requires if isinstance(requires, str) else None, dependencies=tuple(deps)
    )


def _load_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            return _load_simple_toml(text)
    return tomllib.loads(text)


def _load_simple_toml(text: str) -> dict[str, Any]:
    """Enough TOML for script metadata (``key = "str"`` and ``key = [..]``) when no TOML parser exists."""
    import ast

    data: dict[str, Any] = {}
    for match in re.finditer(r'(?ms)^([A-Za-z0-9_-]+)\s*=\s*(\[.*?\]|"[^"\n]*"|\'[^\'\n]*\')\s*$', text):
        data[match.group(1)] = ast.literal_eval(match.group(2))
    return data


# --------------------------------------------------------------------------------------------------
# name checks
# --------------------------------------------------------------------------------------------------

_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(rf"^{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*$")
_REGISTRY_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$"
)


def _bad_name(message: str) -> InvalidImageNameError:
    return InvalidImageNameError("InvalidImageName", message)


def _check_name(name: Optional[str], what: str) -> Optional[str]:
    if name is None:
        return None
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise _bad_name(
            f"{what} name: {name!r} is not a valid image name; use lowercase letters, digits and '.', '_', "
            "'-' "
            "separators (and '/' between path parts), e.g. 'my-image'"
        )
    return name


def _check_registry(registry: Optional[str], what: str) -> Optional[str]:
    if registry is None:
        return None
    if not isinstance(registry, str):
        raise _bad_name(f"{what} registry: expected a string such as 'ghcr.io/my-org', got {registry!r}")
    cleaned = registry.strip().rstrip("/")
    if "://" in cleaned:
        raise _bad_name(
            f"{what} registry: {registry!r} must not include a scheme; write e.g. 'ghcr.io/my-org'"
        )
    if not _REGISTRY_RE.match(cleaned):
        raise _bad_name(
            f"{what} registry: {registry!r} is not a valid registry; use 'host[:port][/path]', "
            "e.g. 'ghcr.io/my-org' or 'localhost:5000'"
        )
    return cleaned


def _check_python_version(version: Any, what: str) -> tuple[int, int]:
    if (
        not isinstance(version, (tuple, list))
        or len(version) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in version)
    ):
        raise TypeError(
            f"{what} python_version: expected a (major, minor) pair such as (3, 12), got {version!r}"
        )
    pair = (int(version[0]), int(version[1]))
    if pair[0] != 3 or pair < _MIN_PYTHON:
        raise ValueError(
            f"{what} python_version: {pair!r} is not supported; use (3, 10) or newer, e.g. (3, 12)"
        )
    return pair


def _check_platform(platform: Any, what: str) -> tuple[str, ...]:
    values = _ensure_tuple(platform)
    if not values:
        raise ValueError(f"{what} platform: give at least one of {', '.join(map(repr, _ARCHITECTURES))}")
    for value in values:
        if value not in _ARCHITECTURES:
            raise ValueError(
                f"{what} platform: {value!r} is not supported; use {' or '.join(map(repr, _ARCHITECTURES))}"
            )
    return tuple(dict.fromkeys(values))


def _detect_python_version() -> tuple[int, int]:
    return sys.version_info.major, sys.version_info.minor


# --------------------------------------------------------------------------------------------------
# Image
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """A container image definition: a base (a registry image, the default Debian base, or a Dockerfile)
    plus layers added with the ``with_*`` methods.

    Do not call ``Image(...)``; start from :meth:`from_debian_base`, :meth:`from_base`,
    :meth:`from_dockerfile`, :meth:`from_uv_script` or :meth:`from_ref_name`.

    Example::

        image = (
            flyte.Image.from_debian_base(python_version=(3, 12))
            .with_apt_packages("git")
            .with_pip_packages("numpy", "pandas>=2")
        )
    """

    base_image: Optional[str] = None
    dockerfile: Optional[Path] = None
    registry: Optional[str] = None
    name: Optional[str] = None
    platform: tuple[Architecture, ...] = ("linux/amd64",)
    python_version: tuple[int, int] = field(default_factory=_detect_python_version)
    extendable: bool = False
    _ref_name: Optional[str] = None
    _layers: tuple[Layer, ...] = ()
    _image_registry_secret: Optional[Secret] = None

    _token: ClassVar[object] = object()

    def __post_init__(self) -> None:
        if self.__dict__.pop("_guard", None) is not Image._token:
            raise TypeError(
                "flyte.Image cannot be created with Image(...); start from one of the classmethods: "
                "Image.from_debian_base(), Image.from_base('<registry>/<name>:<tag>'), "
                "Image.from_dockerfile(path, registry, name), Image.from_uv_script(path, name=...) or "
                "Image.from_ref_name(name), then add layers with the with_*() methods"
            )

    @classmethod
    def _new(cls, **kwargs: Any) -> Image:
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_guard", cls._token)
        cls.__init__(obj, **kwargs)  # type: ignore[misc]
        return obj

    # ---- base constructors --------------------------------------------------------------------

    @classmethod
    def from_debian_base(
        cls,
        python_version: Optional[tuple[int, int]] = None,
        flyte_version: Optional[str] = None,
        install_flyte: bool = True,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, Secret]] = None,
        name: Optional[str] = None,
        platform: Optional[tuple[Architecture, ...]] = None,
    ) -> Image:
        """The default image: ``python:<version>-slim-bookworm`` with build tools and, by default, flyte.

        Args:
            python_version: ``(major, minor)``; defaults to the interpreter running this code.
            flyte_version: the flyte version to install; by default the one running this engine.
            install_flyte: set False to leave flyte out (e.g. when your own layers install it).
            registry: where the image is pushed; defaults to ``ghcr.io/flyteorg``.
            registry_secret: a secret (key or :class:`flyte.Secret`) to pull/push with.
            name: the image name; defaults to ``flyte``.
            platform: target architectures; defaults to both ``linux/amd64`` and ``linux/arm64``.
        """
        what = "Image.from_debian_base"
        version = _check_python_version(python_version or _detect_python_version(), what)
        if flyte_version is not None and (not isinstance(flyte_version, str) or not flyte_version.strip()):
            raise ValueError(
                f"{what} flyte_version: expected a version string such as '2.0.0', got {flyte_version!r}"
            )
        layers: list[Layer] = [AptPackages(packages=("build-essential", "ca-certificates"))]
        if install_flyte:
            pinned = flyte_version.lstrip("v") if flyte_version else None
            layers.append(
                InstallFlyte(version=pinned, pre=bool(pinned and re.search(r"(a|b|rc|dev)\d*", pinned)))
            )
        return cls._new(
            base_image=f"python:{version[0]}.{version[1]}-slim-bookworm",
            registry=_check_registry(registry, what) or _BASE_REGISTRY,
            name=_check_name(name, what) or _DEFAULT_IMAGE_NAME,
            platform=_check_platform(platform, what) if platform else _ARCHITECTURES,
            python_version=version,
            extendable=True,
            _layers=tuple(layers),
            _image_registry_secret=_registry_secret(registry_secret, what),
        )

    @classmethod
    def from_base(cls, image_uri: str) -> Image:
        """An existing image, used as is: ``uri`` is ``image_uri``.

        To add layers on top, first give it a name: ``.clone(name="my-image", extendable=True)``.
        """
        if (
            not isinstance(image_uri, str)
            or not image_uri.strip()
            or any(c.isspace() for c in image_uri.strip())
        ):
            raise _bad_name(
                f"Image.from_base image_uri: {image_uri!r} is not an image reference; "
                "use e.g. 'python:3.12-slim' or 'ghcr.io/org/image:tag'"
            )
        return cls._new(base_image=image_uri.strip())

    @classmethod
    def from_ref_name(cls, name: str) -> Image:
        """An image known by a reference name that the configuration maps to a real URI."""
        if not isinstance(name, str) or not name.strip():
            raise _bad_name(f"Image.from_ref_name name: expected a non-empty reference name, got {name!r}")
        return cls._new(name=name, _ref_name=name, extendable=True)

    @classmethod
    def from_dockerfile(
        cls,
        file: Union[Path, str],
        registry: str,
        name: str,
        platform: Union[Architecture, tuple[Architecture, ...], None] = None,
    ) -> Image:
        """An image built from a Dockerfile (its folder is the build context). No layers can be added."""
        what = "Image.from_dockerfile"
        kwargs: dict[str, Any] = {
            "dockerfile": _abs(file, f"{what} file"),
            "registry": _check_registry(registry, what),
            "name": _check_name(name, what),
        }
        if platform:
            kwargs["platform"] = _check_platform(platform, what)
        return cls._new(**kwargs)

    @classmethod
    def from_uv_script(
        cls,
        script: Union[Path, str],
        *,
        name: str,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, Secret]] = None,
        python_version: Optional[tuple[int, int]] = None,
        index_url: Optional[str] = None,
        extra_index_urls: Union[str, list[str], tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        platform: Optional[tuple[Architecture, ...]] = None,
        secret_mounts: Optional[SecretRequest] = None,
    ) -> Image:
        """The default base plus the dependencies declared in a script's ``# /// script`` header (PEP 723).

        The script is read now: it must exist, end in ``.py`` and carry a valid metadata block.
        """
        what = "Image.from_uv_script"
        path = _abs(script, f"{what} script")
        _require_file(path, f"{what} script")
        if path.suffix != ".py":
            raise ValueError(f"{what} script: {str(path)!r} must be a .py file")
        parse_uv_script_metadata(path)
        base = cls.from_debian_base(
            python_version=python_version,
            install_flyte=False,
            registry=registry,
            registry_secret=registry_secret,
            name=name,
            platform=platform,
        )
        layer = UVScript(
            script=path,
            **_pip_options(what, index_url, extra_index_urls, pre, extra_args),
            secret_mounts=_secret_mounts(secret_mounts, what),
        )
        return base.clone(addl_layer=layer)

    # ---- identity -----------------------------------------------------------------------------

    def _get_hash_digest(self) -> str:
        hasher = hashlib.sha256()
        header = {
            "base_image": self.base_image,
            "platform": list(self.platform),
            "python_version": list(self.python_version),
        }
        hasher.update(json.dumps(header, sort_keys=True).encode("utf-8"))
        if self.dockerfile is not None:
            hasher.update(b"dockerfile\x00")
            _hash_path_into(self.dockerfile, hasher)
        for layer in self._layers:
            hasher.update(b"\x00layer\x00")
            layer.update_hash(hasher)
        return hasher.hexdigest()[:32]

    @property
    def uri(self) -> str:
        """``<registry>/<name>:<tag>`` where the tag is a content hash of the definition.

        An image with a name but no registry is ``<name>:<tag>``; an image from :meth:`from_base`
        without a name is its base URI unchanged. File and folder layers contribute their contents,
        so the URI changes when those files change.
        """
        if self.name:
            tag = self._get_hash_digest()
            return f"{self.registry}/{self.name}:{tag}" if self.registry else f"{self.name}:{tag}"
        if self.base_image:
            return self.base_image
        raise _bad_name("Image.uri: the image has neither a name nor a base image")

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Engine helper (ours): the layers on top of the base, in order."""
        return self._layers

    def validate(self) -> None:
        """Check that everything the definition refers to exists (files, folders, script headers).

        Raises:
            FileNotFoundError: a referenced file or folder is missing.
            ValueError: a path has the wrong kind (file vs folder) or a script header is invalid.
        """
        if self.dockerfile is not None:
            _require_file(self.dockerfile, "Image.from_dockerfile file")
        for layer in self._layers:
            layer.validate()

    # ---- derived images -----------------------------------------------------------------------

    def clone(
        self,
        registry: Optional[str] = None,
        registry_secret: Optional[Union[str, Secret]] = None,
        name: Optional[str] = None,
        base_image: Optional[str] = None,
        python_version: Optional[tuple[int, int]] = None,
        addl_layer: Optional[Layer] = None,
        extendable: Optional[bool] = None,
        platform: Optional[tuple[Architecture, ...]] = None,
    ) -> Image:
        """A copy with some settings replaced and, optionally, one more layer at the end.

        Args:
            registry: a new registry.
            registry_secret: a new secret (key or :class:`flyte.Secret`) for pulling/pushing.
            name: a new image name.
            base_image: a new base image reference.
            python_version: a new ``(major, minor)``.
            addl_layer: a :class:`Layer` appended to the layers.
            extendable: whether more layers may be added to the result (unchanged when ``None``).
            platform: new target architectures.

        Raises:
            ValueError: a layer is added to a Dockerfile image, a non-extendable image, or one without a name.
        """
        what = "Image.clone"
        if addl_layer is not None:
            if not isinstance(addl_layer, Layer):
                raise TypeError(f"{what} addl_layer: expected an image Layer, got {addl_layer!r}")
            if not self.extendable:
                hint = (
                    "a Dockerfile image cannot take layers; put the steps in the Dockerfile"
                    if self.dockerfile is not None
                    else "give it a name and allow layers first: .clone(name='my-image', extendable=True)"
                )
                raise ValueError(f"Cannot add layers to the non-extendable image {self.uri!r}; {hint}")
            if self.dockerfile is not None:
                raise ValueError(
                    "Cannot add layers to a Dockerfile-based image; put the steps in the Dockerfile"
                )
        new_name = _check_name(name, what) or self.name
        if addl_layer is not None and not new_name:
            raise ValueError(
                f"Cannot add a layer to the unnamed image {self.uri!r}; first .clone(name='my-image', "
                "extendable=True)"
            )
        if base_image is not None and (not isinstance(base_image, str) or not base_image.strip()):
            raise _bad_name(f"{what} base_image: expected an image reference, got {base_image!r}")
        return Image._new(
            base_image=base_image or self.base_image,
            dockerfile=self.dockerfile,
            registry=_check_registry(registry, what) or self.registry,
            name=new_name,
            platform=_check_platform(platform, what) if platform else self.platform,
            python_version=_check_python_version(python_version, what)
            if python_version
            else self.python_version,
            extendable=self.extendable if extendable is None else bool(extendable),
            _ref_name=self._ref_name,
            _layers=(*self._layers, addl_layer) if addl_layer is not None else self._layers,
            _image_registry_secret=_registry_secret(registry_secret, what) or self._image_registry_secret,
        )

    def with_pip_packages(
        self,
        *packages: str,
        index_url: Optional[str] = None,
        extra_index_urls: Union[str, list[str], tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        secret_mounts: Optional[SecretRequest] = None,
    ) -> Image:
        """A new image that also pip-installs ``packages`` (requirement specifiers such as ``"numpy>=2"``).

        Args:
            packages: one or more requirement specifiers.
            index_url: a package index replacing PyPI.
            extra_index_urls: further indexes to search.
            pre: allow pre-release versions.
            extra_args: extra text passed to the installer.
            secret_mounts: secrets available during the install (e.g. a token for a private index).
        """
        what = "Image.with_pip_packages"
        names = _check_strings(
            packages, what, "pass packages as separate arguments: with_pip_packages('a', 'b')"
        )
        if not names:
            return self
        layer = PipPackages(
            packages=names,
            **_pip_options(what, index_url, extra_index_urls, pre, extra_args),
            secret_mounts=_secret_mounts(secret_mounts, what),
        )
        return self.clone(addl_layer=layer)

    def with_requirements(
        self, file: Union[str, Path], secret_mounts: Optional[SecretRequest] = None
    ) -> Image:
        """A new image that installs a ``requirements.txt``-style file; its content is part of the ``uri``."""
        what = "Image.with_requirements"
        path = _abs(file, f"{what} file")
        if path.suffix != ".txt":
            raise ValueError(f"{what} file: {str(file)!r} must be a .txt requirements file")
        return self.clone(
            addl_layer=Requirements(file=path, secret_mounts=_secret_mounts(secret_mounts, what))
        )

    def with_uv_project(
        self,
        pyproject_file: Union[str, Path],
        uvlock: Optional[Path] = None,
        index_url: Optional[str] = None,
        extra_index_urls: Union[list[str], tuple[str, ...], None] = None,
        pre: bool = False,
        extra_args: Optional[str] = None,
        secret_mounts: Optional[SecretRequest] = None,
        project_install_mode: Literal["dependencies_only", "install_project"] = "dependencies_only",
    ) -> Image:
        """A new image that installs a uv project's locked dependencies.

        ``uvlock`` defaults to ``uv.lock`` next to ``pyproject_file``. With
        ``project_install_mode="install_project"`` the project itself is installed as well and its
        whole folder becomes part of the ``uri``.
        """
        what = "Image.with_uv_project"
        pyproject = _abs(pyproject_file, f"{what} pyproject_file")
        _check_install_mode(project_install_mode, what)
        layer = UVProject(
            pyproject=pyproject,
            uvlock=_abs(uvlock, f"{what} uvlock") if uvlock is not None else pyproject.parent / "uv.lock",
            project_install_mode=project_install_mode,
            **_pip_options(what, index_url, extra_index_urls, pre, extra_args),
            secret_mounts=_secret_mounts(secret_mounts, what),
        )
        return self.clone(addl_layer=layer)

    def with_poetry_project(
        self,
        pyproject_file: Union[str, Path],
        poetry_lock: Optional[Path] = None,
        extra_args: Optional[str] = None,
        secret_mounts: Optional[SecretRequest] = None,
        project_install_mode: Literal["dependencies_only", "install_project"] = "dependencies_only",
    ) -> Image:
        """A new image that installs a Poetry project's locked dependencies (``poetry.lock`` beside it)."""
        what = "Image.with_poetry_project"
        pyproject = _abs(pyproject_file, f"{what} pyproject_file")
        _check_install_mode(project_install_mode, what)
        layer = PoetryProject(
            pyproject=pyproject,
            poetry_lock=_abs(poetry_lock, f"{what} poetry_lock")
            if poetry_lock
            else pyproject.parent / "poetry.lock",
            extra_args=_opt_str(extra_args, what, "extra_args"),
            project_install_mode=project_install_mode,
            secret_mounts=_secret_mounts(secret_mounts, what),
        )
        return self.clone(addl_layer=layer)

    def with_apt_packages(self, *packages: str, secret_mounts: Optional[SecretRequest] = None) -> Image:
        """A new image that also apt-installs ``packages``."""
        what = "Image.with_apt_packages"
        names = _check_strings(
            packages, what, "pass packages as separate arguments: with_apt_packages('git', 'curl')"
        )
        if not names:
            return self
        return self.clone(
            addl_layer=AptPackages(packages=names, secret_mounts=_secret_mounts(secret_mounts, what))
        )

    def with_commands(
        self, commands: Union[list[str], str], secret_mounts: Optional[SecretRequest] = None
    ) -> Image:
        """A new image that runs shell ``commands`` at build time, in order (without a ``RUN`` prefix)."""
        what = "Image.with_commands"
        cmds = _check_strings(_ensure_tuple(commands), what, "give a flat list of command strings")
        if not cmds:
            return self
        return self.clone(
            addl_layer=Commands(commands=cmds, secret_mounts=_secret_mounts(secret_mounts, what))
        )

    def with_env_vars(self, env_vars: dict[str, str]) -> Image:
        """A new image with environment variables set (numbers are turned into strings)."""
        what = "Image.with_env_vars"
        if not isinstance(env_vars, dict):
            raise TypeError(f"{what} env_vars: expected a dict of name to value, got {env_vars!r}")
        clean: dict[str, str] = {}
        for key, value in env_vars.items():
            if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise ValueError(
                    f"{what} env_vars: {key!r} is not a valid variable name; use [A-Za-z_][A-Za-z0-9_]*"
                )
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise TypeError(f"{what} env_vars: the value of {key!r} must be a string, got {value!r}")
            clean[key] = str(value)
        if not clean:
            return self
        return self.clone(addl_layer=Env.from_dict(clean))

    def with_workdir(self, workdir: str) -> Image:
        """A new image whose working directory is ``workdir``."""
        if not isinstance(workdir, str) or not workdir.strip():
            raise ValueError(
                f"Image.with_workdir workdir: expected a directory path such as '/app', got {workdir!r}"
            )
        return self.clone(addl_layer=WorkDir(workdir=workdir.strip()))

    def with_source_folder(
        self, src: Union[Path, str], dst: str = ".", copy_contents_only: bool = False
    ) -> Image:
        """A new image with the local folder ``src`` copied to ``dst`` (the working directory by default).

        With ``copy_contents_only=True`` the folder's contents go directly into ``dst``.
        The folder's contents are part of the ``uri``.
        """
        what = "Image.with_source_folder"
        layer = CopyConfig(
            path_type=1,
            src=_abs(src, f"{what} src"),
            dst=_dst(dst, what),
            copy_contents_only=bool(copy_contents_only),
        )
        return self.clone(addl_layer=layer)

    def with_source_file(self, src: Union[Path, str, list[Path]], dst: str = ".") -> Image:
        """A new image with the local file(s) ``src`` copied into ``dst`` (default: the working directory)."""
        what = "Image.with_source_file"
        sources = _ensure_tuple(src)
        if not sources:
            raise ValueError(f"{what} src: give at least one file")
        image = self
        for one in sources:
            image = image.clone(
                addl_layer=CopyConfig(path_type=0, src=_abs(one, f"{what} src"), dst=_dst(dst, what))  # type: ignore[arg-type]
            )
        return image

    def with_dockerignore(self, path: Union[Path, str]) -> Image:
        """A new image whose copy layers honour the patterns of the given ``.dockerignore`` file."""
        return self.clone(addl_layer=DockerIgnore(path=_abs(path, "Image.with_dockerignore path")))

    def with_code_bundle(
        self, copy_style: Literal["loaded_modules", "all"] = "loaded_modules", dst: str = "."
    ) -> Image:
        """A new image that carries the task code itself, used when runs ship no code bundle.

        ``copy_style="loaded_modules"`` copies only the imported modules, ``"all"`` the whole project.
        """
        what = "Image.with_code_bundle"
        if copy_style not in ("loaded_modules", "all"):
            raise ValueError(
                f"{what} copy_style: {copy_style!r} is not allowed; use 'loaded_modules' or 'all'"
            )
        return self.clone(addl_layer=CodeBundleLayer(copy_style=copy_style, dst=_dst(dst, what)))

    def with_local_v2(self) -> Image:
        """A new image that installs the flyte package running this engine (instead of a released version)."""
        return self.clone(addl_layer=InstallFlyte(version=None))


# --------------------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------------------


def _registry_secret(value: Optional[Union[str, Secret]], what: str) -> Optional[Secret]:
    if value is None:
        return None
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(key=value)
    raise TypeError(f"{what} registry_secret: expected a secret key or a flyte.Secret, got {value!r}")


def _opt_str(value: Optional[str], what: str, param: str) -> Optional[str]:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} {param}: expected a string or None, got {value!r}")
    return value or None


def _pip_options(
    what: str,
    index_url: Optional[str],
    extra_index_urls: Union[str, list[str], tuple[str, ...], None],
    pre: bool,
    extra_args: Optional[str],
) -> dict[str, Any]:
    extras = _check_strings(
        _ensure_tuple(extra_index_urls), f"{what} extra_index_urls", "give a list of URLs"
    )
    return {
        "index_url": _opt_str(index_url, what, "index_url"),
        "extra_index_urls": extras or None,
        "pre": bool(pre),
        "extra_args": _opt_str(extra_args, what, "extra_args"),
    }


def _check_install_mode(mode: str, what: str) -> None:
    if mode not in ("dependencies_only", "install_project"):
        raise ValueError(
            f"{what} project_install_mode: {mode!r} is not allowed; use 'dependencies_only' or "
            "'install_project'"
        )


def _dst(dst: str, what: str) -> str:
    if not isinstance(dst, str) or not dst.strip():
        raise ValueError(
            f"{what} dst: expected a destination path in the image such as '.' or '/app', got {dst!r}"
        )
    return dst.strip()
