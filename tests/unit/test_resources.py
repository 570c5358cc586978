"""flyte.Resources and the accelerator helpers: accepted forms, normalized numbers, errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from flyte._resources import (
    AMD_GPU,
    GPU,
    HABANA_GAUDI,
    TPU,
    Device,
    Neuron,
    Resources,
    parse_cpu,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("value", "cores"),
    [(1, 1.0), (0.5, 0.5), ("2", 2.0), ("1.5", 1.5), ("500m", 0.5), ("250m", 0.25), (0, 0.0)],
)
def test_cpu_forms(value, cores):
    assert parse_cpu(value) == cores
    r = Resources(cpu=value)
    assert r.cpu_request_cores() == cores
    assert r.cpu_limit_cores() == cores  # a single value is both request and limit


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1Gi", 2**30),
        ("512Mi", 512 * 2**20),
        ("1G", 10**9),
        ("100M", 10**8),
        ("1Ki", 1024),
        ("1k", 1000),
        ("1.5Gi", 3 * 2**29),
        ("1GiB", 2**30),
        ("2GB", 2 * 10**9),
        (4096, 4096),
        ("4096", 4096),
        ("1Ti", 2**40),
    ],
)
def test_quantity_forms(text, size):
    assert parse_quantity(text) == size
    assert Resources(memory=text).memory_request_bytes() == size


def test_request_limit_pairs():
    r = Resources(cpu=(1, "2"), memory=("512Mi", "1Gi"))
    assert (r.cpu_request_cores(), r.cpu_limit_cores()) == (1.0, 2.0)
    assert (r.memory_request_bytes(), r.memory_limit_bytes()) == (512 * 2**20, 2**30)
    assert Resources(cpu=[1, 2]).cpu == (1, 2)  # lists become tuples


def test_unset_accessors():
    r = Resources()
    assert r.cpu_request_cores() is None and r.cpu_limit_cores() is None
    assert r.memory_request_bytes() is None and r.memory_limit_bytes() is None
    assert r.gpu_count() == 0 and r.device() is None and r.get_device() is None
    assert r.disk_bytes() is None and r.shm_bytes() is None and r.get_shared_memory() is None


def test_disk_and_shm():
    r = Resources(disk="10Gi", shm="1Gi")
    assert r.disk_bytes() == 10 * 2**30
    assert r.shm_bytes() == 2**30
    assert r.get_shared_memory() == "1Gi"
    auto = Resources(shm="auto")
    assert auto.get_shared_memory() == "" and auto.shm_bytes() is None


def test_invalid_cpu_message():
    with pytest.raises(ValueError) as e:
        Resources(cpu="abc")
    msg = str(e.value)
    assert "Resources cpu" in msg and "'abc'" in msg and "500m" in msg


@pytest.mark.parametrize("bad", [True, {"cores": 1}, [1, 2, 3]])
def test_cpu_wrong_shapes(bad):
    with pytest.raises((TypeError, ValueError)):
        Resources(cpu=bad)


def test_negative_values_rejected():
    with pytest.raises(ValueError, match="negative"):
        Resources(cpu=-1)
    with pytest.raises(ValueError, match="negative"):
        Resources(memory="-1Gi")
    with pytest.raises(ValueError, match="negative"):
        Resources(gpu=-1)


def test_request_above_limit():
    with pytest.raises(ValueError, match="request .* more than limit"):
        Resources(cpu=(4, 2))
    with pytest.raises(ValueError, match="request .* more than limit"):
        Resources(memory=("2Gi", "1Gi"))


@pytest.mark.parametrize("bad", ["1Gx", "lots", "1.2.3Gi", "Gi"])
def test_unknown_memory_units(bad):
    with pytest.raises(ValueError, match="Resources memory"):
        Resources(memory=bad)


def test_lowercase_m_is_ambiguous_for_memory():
    with pytest.raises(ValueError, match="ambiguous"):
        Resources(memory="512m")


def test_disk_must_be_single():
    with pytest.raises(ValueError, match="disk"):
        Resources(disk=("1Gi", "2Gi"))


def test_gpu_int_forms():
    assert Resources(gpu=2).gpu_count() == 2
    assert Resources(gpu=2).device() == Device(quantity=2, device_class="GPU")
    assert Resources(gpu=0).device() is None
    assert Resources(gpu=0).gpu_count() == 0


@pytest.mark.parametrize(
    ("text", "name", "count", "klass"),
    [
        ("A100:2", "A100", 2, "GPU"),
        ("T4:1", "T4", 1, "GPU"),
        ("H100:8", "H100", 8, "GPU"),
        ("A100 80G:4", "A100 80G", 4, "GPU"),
        ("Trn1:16", "Trn1", 16, "NEURON"),
        ("MI300X:1", "MI300X", 1, "AMD_GPU"),
        ("Gaudi1:1", "Gaudi1", 1, "HABANA_GAUDI"),
    ],
)
def test_gpu_string_forms(text, name, count, klass):
    d = Resources(gpu=text).device()
    assert (d.device, d.quantity, d.device_class) == (name, count, klass)
    assert Resources(gpu=text).gpu_count() == count


def test_gpu_string_errors_list_what_is_allowed():
    with pytest.raises(ValueError) as e:
        Resources(gpu="Z9:1")
    assert "A100" in str(e.value) and "T4" in str(e.value)
    with pytest.raises(ValueError) as e:
        Resources(gpu="A100:9")
    assert "allowed counts for A100" in str(e.value) and "8" in str(e.value)
    with pytest.raises(ValueError, match="Trn1"):
        Resources(gpu="Trn1:3")


def test_gpu_wrong_type():
    with pytest.raises(ValueError, match="Resources gpu"):
        Resources(gpu=("A100", 2))


def test_gpu_helper():
    d = GPU("A100", 2, partition="1g.5gb")
    assert d == Device(quantity=2, device_class="GPU", device="A100", partition="1g.5gb")
    assert Resources(gpu=d).device() is d
    assert Resources(gpu=d).gpu_count() == 2


def test_gpu_helper_errors():
    with pytest.raises(ValueError, match="GPU device"):
        GPU("X1", 1)
    with pytest.raises(ValueError, match="1 to 8"):
        GPU("T4", 9)
    with pytest.raises(ValueError, match="1g.5gb"):
        GPU("A100", 1, partition="nope")
    with pytest.raises(ValueError, match="cannot be partitioned"):
        GPU("T4", 1, partition="1g.5gb")


def test_other_device_helpers():
    assert TPU("V5P", "2x2x1") == Device(quantity=1, device_class="TPU", device="V5P", partition="2x2x1")
    assert Neuron("Inf2").device_class == "NEURON"
    assert AMD_GPU("MI300X").device_class == "AMD_GPU"
    assert HABANA_GAUDI("Gaudi1").device_class == "HABANA_GAUDI"
    with pytest.raises(ValueError, match="V5P"):
        TPU("V9")
    with pytest.raises(ValueError, match="2x2x1"):
        TPU("V5P", "9x9")
    with pytest.raises(ValueError, match="Inf1"):
        Neuron("Inf9")
    with pytest.raises(ValueError, match="MI300X"):
        AMD_GPU("MI1")
    with pytest.raises(ValueError, match="Gaudi1"):
        HABANA_GAUDI("Gaudi9")


def test_device_validation():
    with pytest.raises(ValueError, match="at least 1"):
        Device(quantity=0, device_class="GPU")
    with pytest.raises(ValueError, match="device_class"):
        Device(quantity=1, device_class="FPGA")


def test_frozen_and_hashable():
    r = Resources(cpu=1, memory="1Gi", gpu="T4:1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.cpu = 2  # type: ignore[misc]
    assert hash(r) == hash(Resources(cpu=1, memory="1Gi", gpu="T4:1"))
    assert r == Resources(cpu=1, memory="1Gi", gpu="T4:1")


def test_import_is_cheap():
    code = (
        "import sys, flyte._resources; "
        "bad = [m for m in ('pydantic', 'asyncio', 'croniter', 'rich', 'kubernetes') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    ("text", "hint"),
    [("A100", "'A100:1'"), ("T4", "'T4:1'"), ("t4:2", "'T4:2'"), ("A100 : 2", "'A100:2'")],
)
def test_gpu_strings_need_the_reference_spelling(text, hint):
    with pytest.raises(ValueError) as e:
        Resources(gpu=text)
    assert "Resources gpu" in str(e.value) and hint in str(e.value)
