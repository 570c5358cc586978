"""Build an image unless the registry already has it: the image cache.

For one ``flyte.Image`` (rules in order):

1. A reference name (``Image.from_ref_name``) is replaced by the URI ``flyte.init(images=...)`` maps
   it to; without a mapping the build fails naming the known names.
2. An image without a name (``Image.from_base(uri)``) is used as is: nothing is built.
3. Unless ``force`` or ``dry_run`` (or the image has no registry), the registry is asked whether
   the image's tag exists; the tag is a content hash of the definition, so an existing tag *is*
   this image and the build is skipped.
4. Otherwise the Dockerfile and build context are written to
   ``$FLYTE_HOME/image-builds/<name>-<tag>/`` (``FLYTE_IMAGE_BUILD_DIR`` overrides the parent).
5. ``dry_run`` stops there. Otherwise the first local builder that works builds and pushes it (to
   the image's registry; an image without a registry is only loaded locally). No builder is an
   :class:`~flyte.errors.ImageBuildError` naming the options and where the context was written.

:func:`image_uri_for` gives, without any network call, the URI a task or environment runs with:
what ``flyte deploy`` records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

from flyte._image import Image
from flyte._logging import system_logger as logger
from flyte.errors import ImageBuildError, InvalidImageNameError

from . import builders, dockerfile, registry

if TYPE_CHECKING:
    from flyte._environment import Environment

__all__ = ["ImageBuild", "ImageCache", "build_image", "build_images", "image_uri_for", "resolve_image"]

BuildStatus = Literal["exists", "built", "dry_run", "as_is"]


@dataclass
class ImageBuild:
    """The result of :func:`flyte.build`.

    Attributes:
        uri: the image's full URI (registry, name and content-hash tag).
        remote_run: the run of a remote builder (always ``None`` here: builds are local).
        status: ours: ``"exists"`` (found in the registry, not rebuilt), ``"built"``, ``"dry_run"``
            (Dockerfile and context written, nothing built) or ``"as_is"`` (nothing to build).
        context_dir: ours: the build context folder, when one was written.
        dockerfile: ours: the Dockerfile text, when one was rendered.
    """

    uri: Optional[str]
    remote_run: Any = None
    status: BuildStatus = "built"
    context_dir: Optional[Path] = None
    dockerfile: Optional[str] = None


@dataclass
class ImageCache:
    """Environment name -> the image URI its tasks run with, as :func:`flyte.build_images` returns."""

    image_lookup: dict[str, str] = field(default_factory=dict)
    build_run_ids: dict[str, Any] = field(default_factory=dict)

    def repr(self) -> list[list[tuple[str, str]]]:
        """Rows for tables: ``[("Name", env), ("image", uri)]`` per environment."""
        return [[("Name", name), ("image", uri)] for name, uri in self.image_lookup.items()]


def _image_refs() -> dict[str, str]:
    from flyte._initialize import get_init_config

    return dict(get_init_config().images)


def resolve_image(value: Any) -> Any:
    """``value`` as something with an image: an :class:`Image`, or a plain URI string.

    Accepts an Image, a URI string, ``"auto"``/``None`` (the default Debian image), a
    ``TaskEnvironment`` or a task. A reference-name image is resolved through ``flyte.init(images=...)``.
    """
    if hasattr(value, "image") and not isinstance(value, Image):
        value = value.image
    if value is None or value == "auto":
        refs = _image_refs()
        if "default" in refs:
            return refs["default"]
        return Image.from_debian_base()
    if isinstance(value, str):
        return value
    if not isinstance(value, Image):
        raise TypeError(f"image_uri_for: expected an Image, a URI, an environment or a task, got {value!r}")
    ref = getattr(value, "_ref_name", None)
    if ref is None:
        return value
    refs = _image_refs()
    if ref not in refs:
        raise InvalidImageNameError(
            "InvalidImageName",
            f"Image reference name {ref!r} is not mapped to an image; pass flyte.init(images={{{ref!r}: "
            f"'<registry>/<name>:<tag>'}}) or add it under image.image_refs in the config "
            f"(known names: {sorted(refs) or 'none'})",
        )
    if not value.layers:
        return refs[ref]
    return value.clone(base_image=refs[ref])


def image_uri_for(env_or_image: Any) -> str:
    """The image URI a task, an environment or an image stands for (no network call, nothing built).

    This is the URI ``flyte deploy`` records for a task: the content-hash tag of its image, so the
    same image definition always gives the same URI and any change gives a new one.
    """
    resolved = resolve_image(env_or_image)
    return resolved if isinstance(resolved, str) else resolved.uri


async def build_image(
    image: Image, dry_run: bool = False, force: bool = False, wait: bool = True
) -> ImageBuild:
    """Build ``image`` unless its registry has it already (see the module rules)."""
    resolved = resolve_image(image)
    if isinstance(resolved, str):
        return ImageBuild(uri=resolved, status="as_is")
    image = resolved
    if image.dockerfile is None and not image.name:
        return ImageBuild(uri=image.uri, status="as_is")
    uri = image.uri
    note = ""
    # Without a registry there is nowhere to look (and nowhere to push): the image is built locally.
    if not (force or dry_run) and image.registry:
        lookup = await registry.manifest_exists(uri)
        if lookup.exists:
            logger.info(f"Image {uri} is already in its registry; not rebuilding it")
            return ImageBuild(uri=uri, status="exists")
        note = lookup.reason
        if lookup.exists is None:
            logger.warning(f"Could not tell whether {uri} exists ({lookup.reason}); building it")
    ctx = dockerfile.render_context(image, dockerfile.default_context_dir(image))
    if dry_run:
        return ImageBuild(uri=uri, status="dry_run", context_dir=ctx.context_dir, dockerfile=ctx.dockerfile)
    builder, reasons = builders.detect_builder()
    if builder is None:
        where = f"the Dockerfile and build context are in {ctx.context_dir}"
        raise ImageBuildError(
            f"Cannot build image {uri}: no image builder is available here "
            f"({builders.why_no_builder(reasons)}); install and start docker (with buildx), podman or "
            f"buildah, or build it elsewhere: {where}" + (f" [{note}]" if note else "")
        )
    await builders.run_build(builder, ctx, push=bool(image.registry))
    return ImageBuild(uri=uri, status="built", context_dir=ctx.context_dir, dockerfile=ctx.dockerfile)


def plan_environments(envs: Iterable[Environment]) -> dict[str, Environment]:
    """The environments and, recursively, those they depend on, by name (first seen wins)."""
    planned: dict[str, Environment] = {}
    todo = list(envs)
    while todo:
        env = todo.pop(0)
        if env.name in planned:
            if planned[env.name] is not env:
                raise ValueError(
                    f"Two different environments are named {env.name!r}; give each TaskEnvironment "
                    "a unique name"
                )
            continue
        planned[env.name] = env
        todo.extend(getattr(env, "depends_on", ()) or ())
    return planned


async def build_images(*envs: Environment, seed_cache: Optional[ImageCache] = None) -> ImageCache:
    """Build (or find in their registries) the images of ``envs`` and of the environments they depend on.

    Images shared by several environments are built once. An environment whose image is a plain URI
    is recorded as is; one found in ``seed_cache`` keeps the URI recorded there.
    """
    lookup: dict[str, str] = {}
    results: dict[str, ImageBuild] = {}
    for name, env in plan_environments(envs).items():
        if seed_cache is not None and name in seed_cache.image_lookup:
            lookup[name] = seed_cache.image_lookup[name]
            continue
        resolved = resolve_image(env)
        if isinstance(resolved, str):
            lookup[name] = resolved
            continue
        key = resolved.uri
        if key not in results:
            results[key] = await build_image(resolved)
        lookup[name] = results[key].uri or key
    return ImageCache(image_lookup=lookup)
