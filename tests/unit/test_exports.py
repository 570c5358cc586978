"""The public surface of `flyte`: an export appearing or disappearing must be deliberate."""

from __future__ import annotations

import subprocess
import sys

import flyte

EXPECTED = {
    "AMD_GPU", "Backoff", "Cache", "CachePolicy", "CacheRequest", "Checkpoint", "Cron", "Device", "DeviceClass",
    "Documentation", "Environment", "FixedRate", "GPU", "HABANA_GAUDI", "Image", "Link", "Neuron",
    "PodTemplate", "Resources", "RetryStrategy", "ReusePolicy", "Secret", "SecretRequest", "TPU",
    "TaskEnvironment", "Timeout", "TimeoutType", "Trigger", "TriggerTime", "__version__", "ctx",
    "current_domain", "current_project", "custom_context", "get_custom_context", "group", "init", "init_from_config", "init_from_api_key", "latest_checkpoint",
    "logger", "map", "rerun", "run", "system_logger", "trace", "version", "with_runcontext",
    "ConditionWebhook", "Deployment", "DeploymentPlan", "deploy", "new_condition", "build", "build_images",
}  # fmt: skip


def test_exported_names():
    assert set(flyte.__all__) == EXPECTED
    assert flyte.__all__ == sorted(flyte.__all__)


def test_every_export_resolves():
    for name in flyte.__all__:
        assert getattr(flyte, name) is not None, name


def test_import_flyte_is_lazy():
    heavy = "('asyncio', 'msgpack', 'click', 'rich', 'pydantic', 'yaml')"
    code = f"import sys, flyte; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
