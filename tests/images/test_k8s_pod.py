"""Kubernetes pod specs of tasks and the PodTemplate grants, checked through the kubernetes models."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest

import flyte
from flyte._internal.k8s import KubernetesSpecError, pod_manifest_for, pod_spec_for

kubernetes = pytest.importorskip("kubernetes")
client = kubernetes.client


def _task(**env_settings):
    env = flyte.TaskEnvironment(name="k8s_env", **env_settings)

    @env.task
    def work(x: int) -> int:
        return x

    return work


def _primary(spec: dict, name: str = "primary") -> dict:
    return next(c for c in spec["containers"] if c["name"] == name)


def test_resources_become_requests_and_limits_and_the_gpu_a_node_selector() -> None:
    task = _task(
        image="ghcr.io/org/app:1",
        resources=flyte.Resources(cpu=(1, 2), memory="2Gi", gpu="A100:2", disk="10Gi"),
    )

    spec = pod_spec_for(task)

    container = _primary(spec)
    assert container["image"] == "ghcr.io/org/app:1"
    assert container["resources"]["requests"] == {
        "cpu": "1",
        "memory": "2Gi",
        "ephemeral-storage": "10Gi",
        "nvidia.com/gpu": "2",
    }
    assert container["resources"]["limits"]["cpu"] == "2"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert spec["nodeSelector"] == {"k8s.amazonaws.com/accelerator": "nvidia-tesla-a100"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    # What the function returns is accepted by the client's own model.
    client.V1PodSpec(**{"containers": [client.V1Container(name="primary", image=container["image"])]})


def test_a_gpu_partition_and_a_tpu_slice_select_their_nodes() -> None:
    mig = pod_spec_for(_task(resources=flyte.Resources(gpu=flyte.GPU("H100", 1, partition="1g.10gb"))))
    assert mig["nodeSelector"] == {
        "k8s.amazonaws.com/accelerator": "nvidia-h100",
        "k8s.amazonaws.com/gpu-partition-size": "1g.10gb",
    }

    tpu = pod_spec_for(_task(resources=flyte.Resources(gpu=flyte.TPU("V5P", "2x2x1"))))
    assert _primary(tpu)["resources"]["limits"] == {"google.com/tpu": "1"}
    assert tpu["nodeSelector"] == {
        "cloud.google.com/gke-tpu-accelerator": "tpu-v5p-slice",
        "cloud.google.com/gke-tpu-topology": "2x2x1",
    }


def test_secrets_are_env_vars_or_mounted_files_and_env_vars_are_set() -> None:
    task = _task(
        secrets=[flyte.Secret("api-key"), flyte.Secret("cert", group="tls", mount="/etc/certs")],
        env_vars={"MODE": "prod"},
    )

    spec = pod_spec_for(task)

    env = _primary(spec)["env"]
    assert {"name": "MODE", "value": "prod"} in env
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-key", "key": "api-key"}}} in env
    [volume] = spec["volumes"]
    assert volume["secret"] == {"secretName": "tls", "items": [{"key": "cert", "path": "cert"}]}
    [mount] = _primary(spec)["volumeMounts"]
    assert mount == {"name": volume["name"], "mountPath": "/etc/certs/tls", "readOnly": True}


def test_shared_memory_is_a_memory_backed_volume() -> None:
    spec = pod_spec_for(_task(resources=flyte.Resources(shm="1Gi")))
    assert {"name": "flyte-shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}} in spec["volumes"]
    assert {"name": "flyte-shm", "mountPath": "/dev/shm"} in _primary(spec)["volumeMounts"]


def test_the_image_is_the_content_hash_uri_of_the_task_image() -> None:
    image = flyte.Image.from_debian_base(python_version=(3, 12), registry="localhost:5000", name="app")
    spec = pod_spec_for(_task(image=image))
    assert _primary(spec)["image"] == image.uri
    assert _primary(spec)["image"].startswith("localhost:5000/app:")


def test_a_pod_template_is_the_starting_point_and_task_settings_win() -> None:
    template = flyte.PodTemplate(
        pod_spec={
            "containers": [
                {"name": "main", "env": [{"name": "MODE", "value": "dev"}, {"name": "KEEP", "value": "1"}]},
                {"name": "sidecar", "image": "busybox"},
            ],
            "nodeSelector": {"pool": "batch"},
        },
        primary_container_name="main",
        labels={"team": "ml"},
        annotations={"note": "x"},
    )
    task = _task(image="app:1", pod_template=template, env_vars={"MODE": "prod"})

    manifest = pod_manifest_for(task, version="v7")

    spec = manifest["spec"]
    main = _primary(spec, "main")
    assert main["image"] == "app:1"
    assert {e["name"]: e.get("value") for e in main["env"]} == {"KEEP": "1", "MODE": "prod"}
    assert _primary(spec, "sidecar")["image"] == "busybox"
    assert spec["nodeSelector"] == {"pool": "batch"}
    assert manifest["kind"] == "Pod"
    assert manifest["metadata"]["labels"]["team"] == "ml"
    assert manifest["metadata"]["labels"]["flyte.org/version"] == "v7"
    assert manifest["metadata"]["labels"]["flyte.org/task"] == "k8s_env.work"
    assert manifest["metadata"]["annotations"] == {"note": "x"}


def test_a_v1podspec_template_works_too() -> None:
    template = flyte.PodTemplate(
        pod_spec=client.V1PodSpec(containers=[client.V1Container(name="primary", working_dir="/work")]),
    )
    spec = pod_spec_for(_task(image="app:2", pod_template=template))
    assert _primary(spec)["workingDir"] == "/work"
    assert _primary(spec)["image"] == "app:2"


def test_an_invalid_template_fails_with_the_field_named() -> None:
    typo = flyte.PodTemplate(pod_spec={"containers": [{"name": "primary", "imagee": "x"}]})
    with pytest.raises(KubernetesSpecError, match=r"containers\[0\].*'imagee' is not a field of V1Container"):
        pod_spec_for(_task(pod_template=typo))

    wrong_type = flyte.PodTemplate(
        pod_spec={"containers": [{"name": "primary", "ports": [{"containerPort": "80"}]}]}
    )
    with pytest.raises(KubernetesSpecError, match=r"containerPort: expected int"):
        pod_spec_for(_task(pod_template=wrong_type))


def test_without_the_kubernetes_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    monkeypatch.setitem(sys.modules, "kubernetes.client", None)
    with pytest.raises(KubernetesSpecError, match=r"pip install 'flyte-engine\[kubernetes\]'"):
        pod_spec_for(_task())


# -- PodTemplate grants --------------------------------------------------------------------------------


def test_allow_fuse_requests_the_device_plugin_and_sys_admin_without_privilege() -> None:
    original = flyte.PodTemplate()
    granted = original.allow_fuse()

    assert original.pod_spec is None and original.annotations is None
    primary = _primary(granted.pod_spec)
    assert primary["resources"] == {
        "requests": {"smarter-devices/fuse": "1"},
        "limits": {"smarter-devices/fuse": "1"},
    }
    assert primary["securityContext"]["capabilities"]["add"] == ["SYS_ADMIN"]
    assert "privileged" not in primary["securityContext"]
    assert granted.annotations == {"flyte.org/capability-fuse": "true"}
    assert granted.allow_fuse() == granted  # idempotent
    # Composes with nested sandboxing, and the result is a valid pod.
    both = granted.allow_nested_sandboxing()
    spec = pod_spec_for(_task(pod_template=both))
    assert _primary(spec)["securityContext"]["allowPrivilegeEscalation"] is False


def test_privileged_fuse_mounts_the_device_and_refuses_nested_sandboxing() -> None:
    granted = flyte.PodTemplate().allow_fuse(privileged=True)
    primary = _primary(granted.pod_spec)
    assert primary["securityContext"]["privileged"] is True
    assert {"name": "fuse-device", "mountPath": "/dev/fuse"} in primary["volumeMounts"]
    assert granted.pod_spec["volumes"] == [
        {"name": "fuse-device", "hostPath": {"path": "/dev/fuse", "type": "CharDevice"}}
    ]
    with pytest.raises(ValueError, match="privileged"):
        granted.allow_nested_sandboxing()
    with pytest.raises(ValueError, match="allowPrivilegeEscalation"):
        flyte.PodTemplate().allow_nested_sandboxing().allow_fuse(privileged=True)


def test_allow_nested_sandboxing_sets_apparmor_for_the_primary_container() -> None:
    granted = flyte.PodTemplate(primary_container_name="main").allow_nested_sandboxing()
    assert granted.annotations == {
        "container.apparmor.security.beta.kubernetes.io/main": "unconfined",
        "flyte.org/capability-nested-sandboxing": "true",
    }
    assert _primary(granted.pod_spec, "main")["securityContext"] == {
        "capabilities": {"add": ["SYS_ADMIN"]},
        "allowPrivilegeEscalation": False,
    }
    pinned = flyte.PodTemplate(
        annotations={"container.apparmor.security.beta.kubernetes.io/primary": "runtime/default"}
    )
    with pytest.raises(ValueError, match="unconfined"):
        pinned.allow_nested_sandboxing()


def test_a_v1podspec_template_stays_a_v1podspec() -> None:
    template = flyte.PodTemplate(pod_spec=client.V1PodSpec(containers=[client.V1Container(name="primary")]))
    granted = template.allow_fuse()
    assert isinstance(granted.pod_spec, client.V1PodSpec)
    assert granted.pod_spec.containers[0].security_context.capabilities.add == ["SYS_ADMIN"]


def test_termination_grace_period() -> None:
    template = flyte.PodTemplate().with_termination_grace_period(timedelta(minutes=10))
    assert template.pod_spec["terminationGracePeriodSeconds"] == 600
    assert pod_spec_for(_task(pod_template=template))["terminationGracePeriodSeconds"] == 600
    with pytest.raises(ValueError, match="negative"):
        flyte.PodTemplate().with_termination_grace_period(-1)
    with pytest.raises(TypeError):
        flyte.PodTemplate().with_termination_grace_period(True)


def test_to_k8s_pod_gives_the_reference_message() -> None:
    pytest.importorskip("flyteidl2")
    pod = flyte.PodTemplate(labels={"a": "b"}).allow_fuse().to_k8s_pod()
    assert pod.primary_container_name == "primary"
    assert dict(pod.metadata.labels) == {"a": "b"}
    assert pod.metadata.annotations["flyte.org/capability-fuse"] == "true"
    assert pod.pod_spec["containers"][0]["name"] == "primary"
