"""``flyte.PodTemplate``: a Kubernetes pod spec to run a task's container in.

The pod spec may be a ``kubernetes.client.V1PodSpec`` or a plain dict in the Kubernetes API shape
(camelCase keys). The ``kubernetes`` package is not imported here; the grants (``allow_fuse``,
``allow_nested_sandboxing``, ``with_termination_grace_period``) work on dicts and only convert back
to a ``V1PodSpec`` for a template that held one. What a task's pod looks like in the end is
:func:`flyte._internal.k8s.pod_manifest_for`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Optional, Union

from flyte._internal import k8s_capabilities

__all__ = ["PodTemplate", "TerminationGracePeriod"]

TerminationGracePeriod = Union[int, timedelta]
"""A grace period between SIGTERM and SIGKILL: whole seconds, or a timedelta."""

_PRIMARY_CONTAINER_DEFAULT_NAME = "primary"


def _check_str_mapping(value: Any, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise TypeError(f"PodTemplate {what}: expected a dict of strings to strings, got {value!r}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"PodTemplate {what}: keys and values must be strings, got {k!r}: {v!r}")


def _container_names(pod_spec: Any) -> list[Optional[str]]:
    if isinstance(pod_spec, Mapping):
        containers = pod_spec.get("containers") or []
        return [c.get("name") if isinstance(c, Mapping) else getattr(c, "name", None) for c in containers]
    containers = getattr(pod_spec, "containers", None) or []
    return [c.get("name") if isinstance(c, Mapping) else getattr(c, "name", None) for c in containers]


@dataclass(frozen=True)
class PodTemplate:
    """Customize the pod a task runs in.

    Flyte fills the task's image, command and resources into the container named
    ``primary_container_name`` (added if the spec has none by that name); other containers run as
    sidecars.

    Args:
        pod_spec: a ``kubernetes.client.V1PodSpec`` or an equivalent dict; ``None`` for an empty spec.
        primary_container_name: the container the task runs in.
        labels: labels for the pod.
        annotations: annotations for the pod.
    """

    pod_spec: Optional[Any] = None
    primary_container_name: str = _PRIMARY_CONTAINER_DEFAULT_NAME
    labels: Optional[dict[str, str]] = None
    annotations: Optional[dict[str, str]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.primary_container_name, str) or not self.primary_container_name.strip():
            raise ValueError(
                f"PodTemplate primary_container_name: expected a non-empty container name, "
                f"got {self.primary_container_name!r}"
            )
        if self.pod_spec is not None and not (
            isinstance(self.pod_spec, Mapping) or hasattr(self.pod_spec, "containers")
        ):
            raise TypeError(
                "PodTemplate pod_spec: expected a kubernetes V1PodSpec or a dict, got "
                f"{type(self.pod_spec).__name__}"
            )
        _check_str_mapping(self.labels, "labels")
        _check_str_mapping(self.annotations, "annotations")

    def __hash__(self) -> int:
        return hash(self.primary_container_name)

    @classmethod
    def from_spec(
        cls,
        pod_spec: Any,
        *,
        primary_container_name: Optional[str] = None,
        labels: Optional[dict[str, str]] = None,
        annotations: Optional[dict[str, str]] = None,
    ) -> PodTemplate:
        """Wrap a copy of an existing pod spec, working out which container is the primary one.

        The primary is ``primary_container_name`` if given (it must exist), else a container named
        ``"primary"``, else the only container. With several containers and none of those, a
        ``ValueError`` asks for ``primary_container_name``.
        """
        names = _container_names(pod_spec)
        if primary_container_name is not None:
            if primary_container_name not in names:
                raise ValueError(
                    f"PodTemplate.from_spec primary_container_name: {primary_container_name!r} is not a "
                    "container "
                    f"of the pod spec; its containers are {names}"
                )
            resolved = primary_container_name
        elif _PRIMARY_CONTAINER_DEFAULT_NAME in names:
            resolved = _PRIMARY_CONTAINER_DEFAULT_NAME
        elif len(names) == 1 and names[0]:
            resolved = names[0]
        else:
            raise ValueError(
                f"PodTemplate.from_spec: cannot tell which of the containers {names} runs the task; "
                "pass primary_container_name=..."
            )
        return cls(
            pod_spec=copy.deepcopy(pod_spec),
            primary_container_name=resolved,
            labels=dict(labels) if labels else None,
            annotations=dict(annotations) if annotations else None,
        )

    def pod_spec_dict(self) -> dict[str, Any]:
        """Engine helper (ours): the pod spec as a plain dict (``{}`` when unset).

        Kubernetes model objects are converted with their ``to_dict()`` (snake_case keys).
        """
        if self.pod_spec is None:
            return {}
        if isinstance(self.pod_spec, Mapping):
            return copy.deepcopy(dict(self.pod_spec))
        to_dict = getattr(self.pod_spec, "to_dict", None)
        if callable(to_dict):
            return to_dict()
        return {"containers": list(getattr(self.pod_spec, "containers", None) or [])}

    # ---- grants (each returns a new template; see flyte._internal.k8s_capabilities) ----------------

    def allow_fuse(self, privileged: bool = False) -> PodTemplate:
        """A copy whose primary container can mount FUSE filesystems.

        By default (``privileged=False``) it requests the ``smarter-devices/fuse`` device-plugin
        resource (the cluster must run a FUSE device plugin) and adds ``CAP_SYS_ADMIN``; this composes
        with :meth:`allow_nested_sandboxing`. ``privileged=True`` is for clusters without such a
        plugin: a ``/dev/fuse`` hostPath volume and a privileged container (plus ``CAP_SYS_ADMIN``).
        Both stamp the ``flyte.org/capability-fuse`` annotation.

        Raises:
            ValueError: the template pins a posture this contradicts (with ``privileged=True``:
                ``privileged: false`` or ``allowPrivilegeEscalation: false``).
        """
        return k8s_capabilities.apply_fuse(self, privileged=bool(privileged))

    def allow_nested_sandboxing(self) -> PodTemplate:
        """A copy that may create nested sandboxes (bubblewrap/user namespaces), and nothing more.

        Adds ``CAP_SYS_ADMIN`` with ``allowPrivilegeEscalation: false`` to the primary container, the
        AppArmor ``unconfined`` annotation for it and ``flyte.org/capability-nested-sandboxing``.

        Raises:
            ValueError: the primary container is privileged or allows privilege escalation, or the
                template pins another AppArmor profile.
        """
        return k8s_capabilities.apply_nested_sandboxing(self)

    def with_termination_grace_period(self, termination_grace_period: TerminationGracePeriod) -> PodTemplate:
        """A copy with ``terminationGracePeriodSeconds`` set: how long Kubernetes waits after SIGTERM
        (an abort deletes the pod) before SIGKILL. Accepts seconds or a ``timedelta`` (not negative)."""
        return k8s_capabilities.with_grace_period(self, termination_grace_period)

    def to_k8s_pod(self) -> Any:
        """The template as the reference's ``flyteidl2.core.tasks_pb2.K8sPod`` message.

        Needs ``flyteidl2`` (``pip install 'flyte-engine[flyteidl2]'``) and, for a ``V1PodSpec``
        spec, ``kubernetes``.
        """
        try:
            from flyteidl2.core.tasks_pb2 import K8sObjectMetadata, K8sPod
        except ImportError:
            from flyte._internal.k8s_models import KubernetesSpecError

            raise KubernetesSpecError(
                "PodTemplate.to_k8s_pod needs the flyteidl2 package: pip install 'flyte-engine[flyteidl2]'"
            ) from None
        spec: Any = self.pod_spec or {}
        if not isinstance(spec, Mapping):
            from flyte._internal.k8s_models import to_api_dict

            spec = to_api_dict(spec)
        return K8sPod(
            metadata=K8sObjectMetadata(labels=self.labels or {}, annotations=self.annotations or {}),
            pod_spec=dict(spec),
            primary_container_name=self.primary_container_name,
        )
