"""What a deployed task runs as on Kubernetes: a pod spec built from the task's settings.

:func:`pod_spec_for` (the spec) and :func:`pod_manifest_for` (a whole ``v1/Pod``) take a task and
return plain dicts in the Kubernetes API shape (camelCase keys), after a round trip through the
``kubernetes`` client's models, which rejects unknown fields and wrong types. The ``kubernetes``
package is optional (``pip install 'flyte-engine[kubernetes]'``) and imported only here, when used.

How the task's settings map (our mapping, modeled on Flyte's Kubernetes plugin defaults):

- the image: the primary container's ``image`` (:func:`flyte._build.image_uri_for`);
- ``Resources``: ``cpu``/``memory`` requests and limits (a single value is both), ``disk`` as
  ``ephemeral-storage``, ``shm`` as a memory-backed ``emptyDir`` mounted at ``/dev/shm``;
- the accelerator: its extended resource (``nvidia.com/gpu``, ``google.com/tpu``,
  ``aws.amazon.com/neuron``, ``amd.com/gpu``, ``habana.ai/gaudi``) as request and limit, a node
  selector on the accelerator label (``k8s.amazonaws.com/accelerator``; TPUs use GKE's
  ``cloud.google.com/gke-tpu-accelerator`` and ``-topology`` labels), the GPU partition (MIG
  profile) label, and a ``NoSchedule`` toleration for the resource's taint;
- secrets: an environment variable from a ``secretKeyRef``, or, for ``Secret(mount=...)``, a
  secret volume mounted at ``<mount>[/<group>]`` with a file named after the key. The Kubernetes
  Secret read is named after the group (or the key when there is none), lower-cased with ``_``
  turned into ``-``;
- ``env_vars``: container environment variables (after the template's own, which they override);
- a ``flyte.PodTemplate``: its spec is the starting point; the primary container (added when
  missing) gets the image, resources and environment; its labels and annotations go on the pod.
  A template given by name is recorded in the ``flyte.org/pod-template`` annotation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Optional

from flyte._internal.k8s_models import KubernetesSpecError, from_api_dict, require_kubernetes, to_api_dict
from flyte._pod import PodTemplate
from flyte._resources import Device, Resources
from flyte._secret import Secret

__all__ = [
    "KubernetesSpecError",
    "k8s_secret_name",
    "pod_manifest_for",
    "pod_spec_for",
    "resources_for",
]

GPU_NODE_LABEL = "k8s.amazonaws.com/accelerator"
GPU_PARTITION_LABEL = "k8s.amazonaws.com/gpu-partition-size"
TPU_ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TPU_TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"

_DEVICE_RESOURCE = {
    "GPU": "nvidia.com/gpu",
    "TPU": "google.com/tpu",
    "NEURON": "aws.amazon.com/neuron",
    "AMD_GPU": "amd.com/gpu",
    "HABANA_GAUDI": "habana.ai/gaudi",
}
# The accelerator label values, in the spelling cloud providers label their GPU nodes with.
_GPU_LABEL_VALUE = {
    "A100": "nvidia-tesla-a100",
    "A100 80G": "nvidia-a100-80gb",
    "V100": "nvidia-tesla-v100",
    "T4": "nvidia-tesla-t4",
    "A10G": "nvidia-a10g",
    "L40s": "nvidia-l40s",
    "RTX PRO 6000": "nvidia-rtx-pro-6000",
}
_TPU_LABEL_VALUE = {"V5P": "tpu-v5p-slice", "V6E": "tpu-v6e-slice"}


# --------------------------------------------------------------------------------------------------
# task settings -> pieces of a pod spec
# --------------------------------------------------------------------------------------------------


def _pair(value: Any) -> tuple[Any, Any]:
    return (value[0], value[1]) if isinstance(value, tuple) else (value, value)


def resources_for(resources: Optional[Resources]) -> dict[str, dict[str, str]]:
    """``{"requests": {...}, "limits": {...}}`` for a task's Resources (accelerators included)."""
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    if resources is None:
        return {}
    for name, value in (("cpu", resources.cpu), ("memory", resources.memory)):
        if value is not None:
            request, limit = _pair(value)
            requests[name], limits[name] = str(request), str(limit)
    if resources.disk is not None:
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = str(resources.disk)
    device = resources.get_device()
    if device is not None:
        resource = _DEVICE_RESOURCE[device.device_class]
        requests[resource] = limits[resource] = str(device.quantity)
    out: dict[str, dict[str, str]] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def _accelerator_placement(device: Device) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Node selector and tolerations that put a pod on a node with ``device``."""
    selector: dict[str, str] = {}
    resource = _DEVICE_RESOURCE[device.device_class]
    if device.device_class == "TPU":
        if device.device:
            selector[TPU_ACCELERATOR_LABEL] = _TPU_LABEL_VALUE.get(device.device, device.device.lower())
        if device.partition:
            selector[TPU_TOPOLOGY_LABEL] = device.partition
    else:
        if device.device:
            name = device.device
            default = name.lower().replace(" ", "-")
            if device.device_class == "GPU":
                value = _GPU_LABEL_VALUE.get(name, f"nvidia-{default}")
            else:
                value = f"{device.device_class.lower().replace('_', '-')}-{default}"
            selector[GPU_NODE_LABEL] = value
        if device.partition:
            selector[GPU_PARTITION_LABEL] = device.partition
    tolerations = [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]
    return selector, tolerations


def k8s_secret_name(secret: Secret) -> str:
    """The Kubernetes Secret a flyte.Secret is read from: its group, or its key, as a DNS-1123 name."""
    raw = (secret.group or secret.key).lower()
    return re.sub(r"[^a-z0-9.-]+", "-", raw).strip("-.") or "flyte-secret"


def _secrets_for(secrets: tuple[Secret, ...]) -> tuple[list[dict], list[dict], list[dict]]:
    """(env entries, volumes, volume mounts) for a task's secrets."""
    env: list[dict] = []
    volumes: list[dict] = []
    mounts: list[dict] = []
    for index, secret in enumerate(secrets):
        ref = {"name": k8s_secret_name(secret), "key": secret.key}
        if secret.mount is None:
            env.append({"name": secret.as_env_var, "valueFrom": {"secretKeyRef": ref}})
            continue
        volume = f"flyte-secret-{index}"
        volumes.append(
            {
                "name": volume,
                "secret": {"secretName": ref["name"], "items": [{"key": secret.key, "path": secret.key}]},
            }
        )
        directory = str(secret.mount).rstrip("/") + (f"/{secret.group}" if secret.group else "")
        mounts.append({"name": volume, "mountPath": directory, "readOnly": True})
    return env, volumes, mounts


def _camel_template_spec(template: PodTemplate) -> dict[str, Any]:
    """The template's spec in API shape (a model is converted; a dict is validated the same way)."""
    if template.pod_spec is None:
        return {"containers": []}
    spec = template.pod_spec
    if isinstance(spec, Mapping) and not spec.get("containers"):
        spec = {**spec, "containers": []}  # the primary container is added by the caller
    return to_api_dict(from_api_dict("V1PodSpec", spec, "PodTemplate pod_spec"))


def _label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:63]
    return value.strip("-_.") or "task"


# --------------------------------------------------------------------------------------------------
# the pod
# --------------------------------------------------------------------------------------------------


def pod_manifest_for(
    task: Any,
    *,
    image_uri: Optional[str] = None,
    version: Optional[str] = None,
    command: Optional[list[str]] = None,
    args: Optional[list[str]] = None,
) -> dict[str, Any]:
    """The ``v1/Pod`` (as a dict in API shape) a deployed ``task`` would run as.

    Args:
        task: a task (``@env.task``) or a ``flyte.remote`` task with the same attributes.
        image_uri: the image to run; defaults to :func:`flyte._build.image_uri_for` of the task.
        version: the deployed version, recorded as the ``flyte.org/version`` label.
        command, args: the primary container's command and arguments (left to the image's
            entrypoint when not given: which program runs a task is the executor's choice).

    Raises:
        KubernetesSpecError: the kubernetes package is missing, or the task's pod template is not
            valid Kubernetes (the message names the field).
    """
    from flyte._internal.imagebuild.engine import image_uri_for

    client = require_kubernetes("pod_spec_for")
    name = getattr(task, "name", "task")
    template = task.pod_template if isinstance(getattr(task, "pod_template", None), PodTemplate) else None
    template_name = task.pod_template if isinstance(getattr(task, "pod_template", None), str) else None
    primary_name = template.primary_container_name if template else "primary"
    spec = _camel_template_spec(template) if template else {"containers": []}

    containers = spec.setdefault("containers", [])
    primary = next((c for c in containers if c.get("name") == primary_name), None)
    if primary is None:
        primary = {"name": primary_name}
        containers.insert(0, primary)
    primary["image"] = image_uri or image_uri_for(task)
    if command is not None:
        primary["command"] = list(command)
    if args is not None:
        primary["args"] = list(args)

    resources: Optional[Resources] = getattr(task, "resources", None)
    task_resources = resources_for(resources)
    if task_resources:
        merged = dict(primary.get("resources") or {})
        for kind, values in task_resources.items():
            merged[kind] = {**(merged.get(kind) or {}), **values}
        primary["resources"] = merged

    secret_env, secret_volumes, secret_mounts = _secrets_for(tuple(getattr(task, "secrets", ()) or ()))
    env_vars: dict[str, str] = dict(getattr(task, "env_vars", None) or {})
    env = [e for e in primary.get("env") or [] if e.get("name") not in env_vars]
    env += [{"name": k, "value": str(v)} for k, v in sorted(env_vars.items())]
    env += [e for e in secret_env if e["name"] not in env_vars]
    if env:
        primary["env"] = env

    volumes = list(spec.get("volumes") or []) + secret_volumes
    mounts = list(primary.get("volumeMounts") or []) + secret_mounts
    shm = resources.get_shared_memory() if resources is not None else None
    if shm is not None:
        empty_dir: dict[str, str] = {"medium": "Memory"}
        if shm:
            empty_dir["sizeLimit"] = shm
        volumes.append({"name": "flyte-shm", "emptyDir": empty_dir})
        mounts.append({"name": "flyte-shm", "mountPath": "/dev/shm"})
    if volumes:
        spec["volumes"] = volumes
    if mounts:
        primary["volumeMounts"] = mounts

    device = resources.get_device() if resources is not None else None
    if device is not None:
        selector, tolerations = _accelerator_placement(device)
        if selector:
            spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), **selector}
        known = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations") or []}
        spec["tolerations"] = list(spec.get("tolerations") or []) + [
            t for t in tolerations if (t["key"], t["effect"]) not in known
        ]
    spec.setdefault("restartPolicy", "Never")

    labels = {
        "flyte.org/task": _label_value(name),
        "flyte.org/environment": _label_value(getattr(task, "env_name", "") or name.split(".")[0]),
    }
    if version:
        labels["flyte.org/version"] = _label_value(version)
    if getattr(task, "interruptible", False):
        labels["flyte.org/interruptible"] = "true"
    if template and template.labels:
        labels.update(template.labels)
    annotations = dict(template.annotations or {}) if template else {}
    if template_name:
        annotations["flyte.org/pod-template"] = template_name
    metadata: dict[str, Any] = {"labels": labels}
    if annotations:
        metadata["annotations"] = annotations
    manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}
    # The round trip through the client's models is the validation: a wrong field fails here.
    return client.ApiClient().sanitize_for_serialization(
        from_api_dict("V1Pod", manifest, f"pod of task {name}")
    )


def pod_spec_for(
    task: Any,
    *,
    image_uri: Optional[str] = None,
    version: Optional[str] = None,
    command: Optional[list[str]] = None,
    args: Optional[list[str]] = None,
) -> dict[str, Any]:
    """The pod spec (``spec`` of :func:`pod_manifest_for`, same arguments) a deployed ``task`` runs with."""
    manifest = pod_manifest_for(task, image_uri=image_uri, version=version, command=command, args=args)
    spec: dict[str, Any] = manifest["spec"]
    return spec
