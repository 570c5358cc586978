"""Building ``flyte.Image`` definitions into container images.

- :mod:`.dockerfile`: an ``Image`` -> a Dockerfile and a build context folder (one function per layer kind);
- :mod:`.registry`: does a tag exist in its registry? (Registry HTTP API v2, the image cache);
- :mod:`.builders`: find a local builder that works (docker buildx, podman, buildah) and run it;
- :mod:`.engine`: the rules tying them together, behind ``flyte.build`` / ``flyte.build_images``,
  and :func:`image_uri_for`, the URI a task runs with.
"""

from flyte._internal.imagebuild.engine import ImageBuild, ImageCache, image_uri_for

__all__ = ["ImageBuild", "ImageCache", "image_uri_for"]
