"""The ``PodTemplate`` grants: ``allow_fuse``, ``allow_nested_sandboxing`` and the termination grace period.

Each works on the pod spec in API shape (camelCase dicts), so it needs no ``kubernetes`` package
for a template given as a dict or with no spec; a template holding a ``V1PodSpec`` gets a
``V1PodSpec`` back. Rules every grant keeps:

- the original template is never changed: a new one is returned;
- the primary container is added (by name) when the spec has none;
- applying a grant twice gives the same template as applying it once;
- a grant that would contradict a posture the template pins (``privileged: false`` against a
  privileged FUSE mount, ``privileged: true`` against nested sandboxing, ...) is a ``ValueError``;
- every grant stamps ``flyte.org/capability-<name>: "true"`` on the pod, so it can be audited.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from flyte._pod import PodTemplate

__all__ = ["apply_fuse", "apply_nested_sandboxing", "with_grace_period"]

FUSE_RESOURCE = "smarter-devices/fuse"
"""The extended resource a FUSE device plugin advertises; requesting it lets kubelet hand the
container /dev/fuse without making it privileged."""
FUSE_VOLUME = "fuse-device"
FUSE_DEVICE = "/dev/fuse"
CAPABILITY_PREFIX = "flyte.org/capability-"
APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _spec_dict(template: PodTemplate) -> tuple[dict[str, Any], bool]:
    """The spec as an API-shape dict (a copy), and whether the template held a kubernetes model."""
    spec = template.pod_spec
    if spec is None:
        return {"containers": []}, False
    if isinstance(spec, Mapping):
        return copy.deepcopy(dict(spec)), False
    from flyte._internal.k8s_models import to_api_dict

    return to_api_dict(spec), True


def _primary(spec: dict[str, Any], name: str) -> dict[str, Any]:
    containers = spec.setdefault("containers", [])
    for container in containers:
        if isinstance(container, dict) and container.get("name") == name:
            return container
    container = {"name": name}
    containers.append(container)
    return container


def _done(
    template: PodTemplate, spec: dict[str, Any], was_model: bool, annotations: dict[str, str]
) -> PodTemplate:
    new_spec: Any = spec
    if was_model:
        from flyte._internal.k8s_models import from_api_dict

        new_spec = from_api_dict("V1PodSpec", spec, "PodTemplate pod_spec")
    return dataclasses.replace(template, pod_spec=new_spec, annotations=annotations or None)


def _add_sys_admin(container: dict[str, Any]) -> None:
    security = container.setdefault("securityContext", {})
    caps = security.setdefault("capabilities", {})
    add = list(caps.get("add") or [])
    if "SYS_ADMIN" not in add:
        add.append("SYS_ADMIN")
    caps["add"] = add


def apply_fuse(template: PodTemplate, privileged: bool) -> PodTemplate:
    """``PodTemplate.allow_fuse``: what a container needs to mount a FUSE filesystem."""
    spec, was_model = _spec_dict(template)
    primary = _primary(spec, template.primary_container_name)
    security = primary.get("securityContext") or {}
    if privileged:
        if security.get("privileged") is False:
            raise ValueError(
                f"PodTemplate.allow_fuse(privileged=True): the primary container "
                f"{template.primary_container_name!r} sets privileged: false; use allow_fuse() (the "
                "unprivileged device-plugin path) instead"
            )
        if security.get("allowPrivilegeEscalation") is False:
            raise ValueError(
                "PodTemplate.allow_fuse(privileged=True): the primary container sets "
                "allowPrivilegeEscalation: false (e.g. after allow_nested_sandboxing()), which Kubernetes "
                "refuses for a privileged container; use allow_fuse() instead"
            )
        volumes = spec.setdefault("volumes", [])
        if not any(v.get("name") == FUSE_VOLUME for v in volumes):
            volumes.append({"name": FUSE_VOLUME, "hostPath": {"path": FUSE_DEVICE, "type": "CharDevice"}})
        mounts = primary.setdefault("volumeMounts", [])
        if not any(m.get("name") == FUSE_VOLUME for m in mounts):
            mounts.append({"name": FUSE_VOLUME, "mountPath": FUSE_DEVICE})
        primary.setdefault("securityContext", {})["privileged"] = True
    else:
        resources = primary.setdefault("resources", {})
        for kind in ("requests", "limits"):  # extended resources need request == limit
            resources[kind] = {**(resources.get(kind) or {}), FUSE_RESOURCE: "1"}
    _add_sys_admin(primary)
    annotations = {**(template.annotations or {}), f"{CAPABILITY_PREFIX}fuse": "true"}
    return _done(template, spec, was_model, annotations)


def apply_nested_sandboxing(template: PodTemplate) -> PodTemplate:
    """``PodTemplate.allow_nested_sandboxing``: CAP_SYS_ADMIN, no escalation, AppArmor unconfined."""
    spec, was_model = _spec_dict(template)
    primary = _primary(spec, template.primary_container_name)
    security = primary.get("securityContext") or {}
    what = "PodTemplate.allow_nested_sandboxing()"
    if security.get("privileged") is True:
        raise ValueError(
            f"{what} sets allowPrivilegeEscalation: false, which Kubernetes refuses for the privileged "
            "primary container of this template (allow_fuse(privileged=True) makes it privileged; use "
            "allow_fuse() instead)"
        )
    if security.get("allowPrivilegeEscalation") is True:
        raise ValueError(f"{what}: the primary container sets allowPrivilegeEscalation: true")
    key = f"{APPARMOR_PREFIX}{template.primary_container_name}"
    pinned = (template.annotations or {}).get(key)
    if pinned is not None and pinned != "unconfined":
        raise ValueError(
            f"{what} needs the AppArmor profile 'unconfined', but the template sets {key}={pinned!r}"
        )
    _add_sys_admin(primary)
    primary["securityContext"]["allowPrivilegeEscalation"] = False
    annotations = {
        **(template.annotations or {}),
        key: "unconfined",
        f"{CAPABILITY_PREFIX}nested-sandboxing": "true",
    }
    return _done(template, spec, was_model, annotations)


def grace_seconds(value: Union[int, timedelta]) -> int:
    """Whole seconds of a grace period given as an int or a timedelta (never negative)."""
    if isinstance(value, bool) or not isinstance(value, (int, timedelta)):
        raise TypeError(
            f"PodTemplate.with_termination_grace_period: expected seconds (int) or a timedelta, got {value!r}"
        )
    seconds = int(value.total_seconds()) if isinstance(value, timedelta) else value
    if seconds < 0:
        raise ValueError(
            f"PodTemplate.with_termination_grace_period: {seconds} s is negative; give 0 or more seconds"
        )
    return seconds


def with_grace_period(template: PodTemplate, value: Union[int, timedelta]) -> PodTemplate:
    """``PodTemplate.with_termination_grace_period``: set ``terminationGracePeriodSeconds``."""
    seconds = grace_seconds(value)
    spec, was_model = _spec_dict(template)
    _primary(spec, template.primary_container_name)
    spec["terminationGracePeriodSeconds"] = seconds
    return _done(template, spec, was_model, dict(template.annotations or {}))
