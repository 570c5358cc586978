"""``ImageSpec``: flytekit's description of a task image, recorded with the task.

A task's ``container_image=ImageSpec(...)`` is kept on the task (``task.container_image``) and
turned into the equivalent ``flyte.Image`` (``to_flyte_image()``), whose content-hash URI is the
task's image; where the engine builds images it builds that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImageSpec:
    name: str = "flytekit"
    python_version: str | None = None
    builder: str | None = None
    source_root: str | None = None
    env: dict[str, str] | None = None
    registry: str | None = None
    packages: list[str] | None = None
    conda_packages: list[str] | None = None
    conda_channels: list[str] | None = None
    requirements: str | None = None
    apt_packages: list[str] | None = None
    cuda: str | None = None
    cudnn: str | None = None
    base_image: Any = None
    platform: str = "linux/amd64"
    pip_index: str | None = None
    pip_extra_index_url: list[str] | None = None
    commands: list[str] | None = None
    tag_format: str | None = None
    source_copy_mode: Any = None
    copy: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_flyte_image(self) -> Any:
        """The equivalent ``flyte.Image`` (Debian base with the requested Python, then layers)."""
        import flyte

        version: tuple[int, int] | None = None
        if self.python_version:
            major, minor = self.python_version.split(".")[:2]
            version = (int(major), int(minor))
        if isinstance(self.base_image, str):
            image = flyte.Image.from_base(self.base_image)
        else:
            image = (
                flyte.Image.from_debian_base(python_version=version)
                if version
                else flyte.Image.from_debian_base()
            )
        if self.apt_packages:
            image = image.with_apt_packages(*self.apt_packages)
        if self.packages:
            image = image.with_pip_packages(*self.packages)
        if self.requirements:
            image = image.with_requirements(self.requirements)
        if self.env:
            image = image.with_env_vars(dict(self.env))
        if self.commands:
            image = image.with_commands(list(self.commands))
        return image

    def image_name(self) -> str:
        """The image URI: the registry/name with the content-hash tag of the equivalent flyte.Image."""
        uri = str(self.to_flyte_image().uri)
        tag = uri.rsplit(":", 1)[-1]
        repo = f"{self.registry}/{self.name}" if self.registry else self.name
        return f"{repo}:{tag}"

    def exist(self) -> bool | None:
        return None

    def with_packages(self, packages: str | list[str]) -> ImageSpec:
        extra = [packages] if isinstance(packages, str) else list(packages)
        return _replace(self, packages=[*(self.packages or []), *extra])

    def with_apt_packages(self, apt_packages: str | list[str]) -> ImageSpec:
        extra = [apt_packages] if isinstance(apt_packages, str) else list(apt_packages)
        return _replace(self, apt_packages=[*(self.apt_packages or []), *extra])

    def with_commands(self, commands: str | list[str]) -> ImageSpec:
        extra = [commands] if isinstance(commands, str) else list(commands)
        return _replace(self, commands=[*(self.commands or []), *extra])


def _replace(spec: ImageSpec, **changes: Any) -> ImageSpec:
    import dataclasses

    return dataclasses.replace(spec, **changes)


__all__ = ["ImageSpec"]
