"""The parts of ``flyte.extend`` that concern a Flyte cluster rather than the engine.

``pod_spec_from_resources`` works here. Building images, fetching code bundles in a container
entrypoint and producing protobuf resources belong to the reference backend; flyte-engine keeps
the names so that plugins importing them load, and raises :class:`UnsupportedExtensionError`
when one is used.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Protocol

from flyte._pod import _PRIMARY_CONTAINER_DEFAULT_NAME
from flyte._resources import Resources
from flyte.errors import RuntimeUserError

PRIMARY_CONTAINER_DEFAULT_NAME = _PRIMARY_CONTAINER_DEFAULT_NAME


class UnsupportedExtensionError(RuntimeUserError):
    """A ``flyte.extend`` feature was used that needs infrastructure flyte-engine does not run."""

    def __init__(self, message: str):
        super().__init__("UnsupportedExtension", message)


def _unsupported(name: str, why: str) -> UnsupportedExtensionError:
    return UnsupportedExtensionError(f"flyte.extend.{name} is not supported by flyte-engine: {why}")


_K8S_NAMES = {"cpu": "cpu", "memory": "memory", "ephemeral_storage": "ephemeral-storage"}


def _k8s_resources(resources: Resources | None, gpu_key: str) -> dict[str, Any] | None:
    if resources is None:
        return None
    out: dict[str, Any] = {}
    for f in fields(resources):
        value = getattr(resources, f.name)
        if value is None:
            continue
        if isinstance(value, (tuple, list)):
            raise ValueError(
                f"pod_spec_from_resources: {f.name}={value!r} is a range; pass the requests and the "
                "limits as two Resources with single values"
            )
        if f.name == "gpu":
            device = resources.get_device()
            if device is not None:
                out[gpu_key] = str(device.quantity)
        elif f.name in _K8S_NAMES:
            out[_K8S_NAMES[f.name]] = str(value)  # Kubernetes quantities are strings
    return out


def pod_spec_from_resources(
    primary_container_name: str = PRIMARY_CONTAINER_DEFAULT_NAME,
    requests: Resources | None = None,
    limits: Resources | None = None,
    k8s_gpu_resource_key: str = "nvidia.com/gpu",
) -> Any:
    """A pod spec with one container (``primary_container_name``) asking for these resources.

    Requests default to the limits and limits to the requests. Returns a
    ``kubernetes.client.V1PodSpec`` when the ``kubernetes`` package is installed, otherwise the
    same spec as a plain dict (which ``flyte.PodTemplate`` accepts too).
    """
    req = _k8s_resources(requests, k8s_gpu_resource_key)
    lim = _k8s_resources(limits, k8s_gpu_resource_key)
    req, lim = req or lim, lim or req
    try:
        from kubernetes.client import V1Container, V1PodSpec, V1ResourceRequirements  # optional
    except ImportError:
        return {
            "containers": [{"name": primary_container_name, "resources": {"requests": req, "limits": lim}}]
        }
    return V1PodSpec(
        containers=[
            V1Container(
                name=primary_container_name, resources=V1ResourceRequirements(requests=req, limits=lim)
            )
        ]
    )


def get_proto_resources(resources: Resources | None) -> Any:
    """The reference backend's protobuf form of ``resources`` (not available here)."""
    raise _unsupported(
        "get_proto_resources",
        "it builds flyteidl protobuf messages, which this engine does not use; read the values from "
        "the Resources object instead",
    )


async def download_code_bundle(code_bundle: Any) -> Any:
    """Fetch and unpack a code bundle inside a task container (not available here)."""
    raise _unsupported(
        "download_code_bundle",
        "code bundles are fetched by the engine's own workers (flyte deploy / the devbox); a plugin "
        "does not need to download them",
    )


class ImageChecker(Protocol):
    """Tells whether an image already exists in a registry (the reference's image-builder API)."""

    @classmethod
    async def image_exists(cls, repository: str, tag: str, arch: tuple[str, ...] = ...) -> str | None: ...


class ImageBuilder(Protocol):
    """Builds a ``flyte.Image`` and returns its URI (the reference's image-builder API)."""

    def get_checkers(self) -> list[type[ImageChecker]] | None: ...

    async def build_image(self, image: Any, dry_run: bool = False) -> str: ...


class ImageBuildEngine:
    """The reference SDK's image build front end; flyte-engine does not build images itself."""

    @staticmethod
    async def image_exists(image: Any) -> str | None:
        raise _unsupported(
            "ImageBuildEngine.image_exists", "flyte-engine does not check or build container images"
        )

    @classmethod
    async def build(
        cls, image: Any, builder: str | None = None, dry_run: bool = False, force: bool = False
    ) -> str:
        raise _unsupported("ImageBuildEngine.build", "flyte-engine does not build container images")
