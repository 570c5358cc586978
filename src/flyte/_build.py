"""``flyte.build`` and ``flyte.build_images``: build images, skipping those their registry already has.

The work is done by :mod:`flyte._internal.imagebuild`; this module holds the public, syncified API
(``flyte.build(image)`` blocks, ``await flyte.build.aio(image)`` does not).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from flyte._image import Image
from flyte._internal.imagebuild import engine
from flyte._internal.imagebuild.engine import ImageBuild, ImageCache, image_uri_for
from flyte.syncify import syncify

if TYPE_CHECKING:
    from flyte._environment import Environment

__all__ = ["ImageBuild", "ImageCache", "build", "build_images", "image_uri_for"]


@syncify
async def build(image: Image, dry_run: bool = False, force: bool = False, wait: bool = True) -> ImageBuild:
    """Build ``image`` and push it to its registry, unless the registry already has its tag.

    The tag is a content hash of the image definition (``image.uri``), so a tag that exists is this
    very image: it is not rebuilt (``result.status == "exists"``).

    Args:
        image: the image to build.
        dry_run: only write the Dockerfile and build context (``result.context_dir``); build nothing
            and skip the registry check.
        force: build even when the registry has the tag.
        wait: accepted for compatibility; local builds always finish before this returns.

    Returns:
        An :class:`ImageBuild` with the image's ``uri``.

    Raises:
        flyte.errors.ImageBuildError: no local builder (docker buildx, podman, buildah) works here,
            or the build failed; the message says where the Dockerfile and context were written.
    """
    return await engine.build_image(image, dry_run=dry_run, force=force, wait=wait)


@syncify
async def build_images(
    *envs: Environment, copy_style: str = "loaded_modules", seed_cache: Optional[ImageCache] = None
) -> ImageCache:
    """Build the images of ``envs`` and of the environments they depend on (each distinct image once).

    Args:
        envs: the environments.
        copy_style: accepted for compatibility; a ``with_code_bundle`` layer carries its own copy style.
        seed_cache: environments already listed here keep their recorded URI and are not built.

    Returns:
        An :class:`ImageCache` mapping each environment's name to its image URI.
    """
    return await engine.build_images(*envs, seed_cache=seed_cache)
