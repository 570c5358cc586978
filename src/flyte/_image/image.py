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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Optional, Union

from flyte._image.checks import (
    _ARCHITECTURES,
    Architecture,
    _abs,
    _bad_name,
    _check_install_mode,
    _check_name,
    _check_platform,
    _check_python_version,
    _check_registry,
    _check_strings,
    _detect_python_version,
    _dst,
    _ensure_tuple,
    _opt_str,
    _pip_options,
    _registry_secret,
    _secret_mounts,
)
from flyte._image.hashing import hash_path_into
from flyte._image.layers import (
    AptPackages,
    CodeBundleLayer,
    Commands,
    CopyConfig,
    DockerIgnore,
    Env,
    InstallFlyte,
    Layer,
    PipPackages,
    PoetryProject,
    Requirements,
    UVProject,
    UVScript,
    WorkDir,
    _require_file,
)
from flyte._image.uv_script import parse_uv_script_metadata
from flyte._secret import Secret, SecretRequest

_BASE_REGISTRY = "ghcr.io/flyteorg"
_DEFAULT_IMAGE_NAME = "flyte"


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
            hash_path_into(self.dockerfile, hasher)
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
