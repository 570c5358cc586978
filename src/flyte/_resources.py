"""Compute resources a task asks for: CPU, memory, accelerators, disk and shared memory.

Public API (``flyte.Resources``, ``flyte.GPU``, ``flyte.TPU``, ``flyte.Neuron``, ``flyte.AMD_GPU``,
``flyte.HABANA_GAUDI``, ``flyte.Device``, ``flyte.DeviceClass``) follows the Flyte 2 SDK.

Engine-side helpers (ours, not part of the SDK contract) turn the user's loose forms into numbers the
local scheduler can compare: :func:`parse_quantity`, :func:`parse_cpu` and the ``Resources``
methods ``cpu_request_cores``/``cpu_limit_cores``/``memory_request_bytes``/``memory_limit_bytes``/
``disk_bytes``/``shm_bytes``/``gpu_count``/``device``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Optional, Union, get_args

__all__ = [
    "AMD_GPU",
    "GPU",
    "HABANA_GAUDI",
    "TPU",
    "Accelerators",
    "Device",
    "DeviceClass",
    "GPUType",
    "Neuron",
    "Resources",
    "parse_cpu",
    "parse_quantity",
]

# --------------------------------------------------------------------------------------------------
# Device vocabulary
# --------------------------------------------------------------------------------------------------

GPUType = Literal[
    "A2",
    "A10",
    "A10G",
    "A100",
    "A100 80G",
    "B200",
    "H100",
    "H200",
    "L4",
    "L40s",
    "T4",
    "V100",
    "RTX PRO 6000",
    "GB10",
]
GPUQuantity = Literal[1, 2, 3, 4, 5, 6, 7, 8]
A100Parts = Literal["1g.5gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"]
A100_80GBParts = Literal["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
H100Parts = Literal["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"]
H200Parts = Literal["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"]

TPUType = Literal["V5P", "V6E"]
V5PParts = Literal[
    "2x2x1", "2x2x2", "2x4x4", "4x4x4", "4x4x8", "4x8x8", "8x8x8", "8x8x16", "8x16x16", "16x16x16", "16x16x24"
]
V6EParts = Literal["1x1", "2x2", "2x4", "4x4", "4x8", "8x8", "8x16", "16x16"]

NeuronType = Literal["Inf1", "Inf2", "Trn1", "Trn1n", "Trn2", "Trn2u"]
AMD_GPUType = Literal["MI100", "MI210", "MI250", "MI250X", "MI300A", "MI300X", "MI325X", "MI350X", "MI355X"]
HABANA_GAUDIType = Literal["Gaudi1"]

DeviceClass = Literal["GPU", "TPU", "NEURON", "AMD_GPU", "HABANA_GAUDI"]

_ONE_TO_EIGHT = tuple(range(1, 9))
_TRAINIUM_COUNTS = (1, 4, 8, 16)

# Quantities accepted in the "<device>:<count>" accelerator strings, per device name.
_ACCELERATOR_COUNTS: dict[str, tuple[int, ...]] = {
    "A2": (1,),
    **{name: _ONE_TO_EIGHT for name in ("A10", "A10G", "A100", "A100 80G", "B200", "H100", "H200")},
    **{name: _ONE_TO_EIGHT for name in ("L4", "L40s", "V100", "T4")},
    "RTX PRO 6000": (1,),
    "GB10": (1,),
    **{name: _TRAINIUM_COUNTS for name in ("Trn1", "Trn1n", "Trn2", "Trn2u")},
    "Inf1": tuple(range(1, 17)),
    "Inf2": tuple(range(1, 13)),
    **{name: (1,) for name in get_args(AMD_GPUType)},
    "Gaudi1": (1,),
}

# Kept as a Literal so type checkers see the same accepted strings the SDK documents.
Accelerators = Literal[
    "A2:1",
    "A10:1", "A10:2", "A10:3", "A10:4", "A10:5", "A10:6", "A10:7", "A10:8",
    "A10G:1", "A10G:2", "A10G:3", "A10G:4", "A10G:5", "A10G:6", "A10G:7", "A10G:8",
    "A100:1", "A100:2", "A100:3", "A100:4", "A100:5", "A100:6", "A100:7", "A100:8",
    "A100 80G:1", "A100 80G:2", "A100 80G:3", "A100 80G:4",
    "A100 80G:5", "A100 80G:6", "A100 80G:7", "A100 80G:8",
    "B200:1", "B200:2", "B200:3", "B200:4", "B200:5", "B200:6", "B200:7", "B200:8",
    "H100:1", "H100:2", "H100:3", "H100:4", "H100:5", "H100:6", "H100:7", "H100:8",
    "H200:1", "H200:2", "H200:3", "H200:4", "H200:5", "H200:6", "H200:7", "H200:8",
    "L4:1", "L4:2", "L4:3", "L4:4", "L4:5", "L4:6", "L4:7", "L4:8",
    "L40s:1", "L40s:2", "L40s:3", "L40s:4", "L40s:5", "L40s:6", "L40s:7", "L40s:8",
    "V100:1", "V100:2", "V100:3", "V100:4", "V100:5", "V100:6", "V100:7", "V100:8",
    "RTX PRO 6000:1",
    "GB10:1",
    "T4:1", "T4:2", "T4:3", "T4:4", "T4:5", "T4:6", "T4:7", "T4:8",
    "Trn1:1", "Trn1:4", "Trn1:8", "Trn1:16",
    "Trn1n:1", "Trn1n:4", "Trn1n:8", "Trn1n:16",
    "Trn2:1", "Trn2:4", "Trn2:8", "Trn2:16",
    "Trn2u:1", "Trn2u:4", "Trn2u:8", "Trn2u:16",
    "Inf1:1", "Inf1:2", "Inf1:3", "Inf1:4", "Inf1:5", "Inf1:6", "Inf1:7", "Inf1:8",
    "Inf1:9", "Inf1:10", "Inf1:11", "Inf1:12", "Inf1:13", "Inf1:14", "Inf1:15", "Inf1:16",
    "Inf2:1", "Inf2:2", "Inf2:3", "Inf2:4", "Inf2:5", "Inf2:6", "Inf2:7", "Inf2:8",
    "Inf2:9", "Inf2:10", "Inf2:11", "Inf2:12",
    "MI100:1", "MI210:1", "MI250:1", "MI250X:1", "MI300A:1", "MI300X:1", "MI325X:1", "MI350X:1", "MI355X:1",
    "Gaudi1:1",
]  # fmt: skip

_CLASS_OF_DEVICE: dict[str, str] = {
    **{name: "GPU" for name in get_args(GPUType)},
    **{name: "TPU" for name in get_args(TPUType)},
    **{name: "NEURON" for name in get_args(NeuronType)},
    **{name: "AMD_GPU" for name in get_args(AMD_GPUType)},
    **{name: "HABANA_GAUDI" for name in get_args(HABANA_GAUDIType)},
}
_CANONICAL_DEVICE = {name.lower(): name for name in _CLASS_OF_DEVICE}

_GPU_PARTITIONS: dict[str, tuple[str, ...]] = {
    "A100": get_args(A100Parts),
    "A100 80G": get_args(A100_80GBParts),
    "H100": get_args(H100Parts),
    "H200": get_args(H200Parts),
}
_TPU_PARTITIONS: dict[str, tuple[str, ...]] = {
    "V5P": get_args(V5PParts),
    "V6E": get_args(V6EParts),
}


def _choices(values) -> str:
    return ", ".join(repr(v) for v in values)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Device:
    """One kind of accelerator and how many of it a task needs.

    Usually built with :func:`GPU`, :func:`TPU`, :func:`Neuron`, :func:`AMD_GPU` or
    :func:`HABANA_GAUDI`; construct it directly for device names the helpers do not know.

    Args:
        quantity: how many devices (at least 1).
        device_class: the family: ``"GPU"``, ``"TPU"``, ``"NEURON"``, ``"AMD_GPU"`` or ``"HABANA_GAUDI"``.
        device: the model name, e.g. ``"A100"``; ``None`` means any model of the class.
        partition: a slice of one device, e.g. a MIG profile ``"1g.5gb"`` or a TPU topology ``"2x2x1"``.
    """

    quantity: int
    device_class: DeviceClass
    device: Optional[str] = None
    partition: Optional[str] = None

    def __post_init__(self) -> None:
        if not _is_int(self.quantity):
            raise TypeError(f"Device quantity: expected an int, got {self.quantity!r}")
        if self.quantity < 1:
            raise ValueError(f"Device quantity: {self.quantity!r} is not allowed; it must be at least 1")
        if self.device_class not in get_args(DeviceClass):
            raise ValueError(
                f"Device device_class: {self.device_class!r} is not known; use one of "
                f"{_choices(get_args(DeviceClass))}"
            )
        if self.device is not None and not isinstance(self.device, str):
            raise TypeError(f"Device device: expected a string name or None, got {self.device!r}")
        if self.partition is not None and not isinstance(self.partition, str):
            raise TypeError(f"Device partition: expected a string or None, got {self.partition!r}")


def GPU(
    device: GPUType,
    quantity: GPUQuantity,
    partition: Union[A100Parts, A100_80GBParts, H100Parts, H200Parts, None] = None,
) -> Device:
    """Request ``quantity`` NVIDIA GPUs of model ``device``, optionally a MIG ``partition`` of each.

    Partitions exist for ``A100``, ``A100 80G``, ``H100`` and ``H200`` only.
    """
    if device not in get_args(GPUType):
        raise ValueError(
            f"GPU device: {device!r} is not a known GPU; use one of {_choices(get_args(GPUType))}"
        )
    if not _is_int(quantity) or quantity not in _ONE_TO_EIGHT:
        raise ValueError(f"GPU quantity: {quantity!r} is not allowed; use an int from 1 to 8")
    if partition is not None:
        allowed = _GPU_PARTITIONS.get(device)
        if allowed is None:
            raise ValueError(
                f"GPU partition: {device!r} cannot be partitioned (got partition={partition!r}); "
                f"partitions exist for {_choices(_GPU_PARTITIONS)}"
            )
        if partition not in allowed:
            raise ValueError(
                f"GPU partition: {partition!r} is not a valid partition of {device!r}; use one of "
                f"{_choices(allowed)}"
            )
    return Device(quantity=quantity, device_class="GPU", device=device, partition=partition)


def TPU(device: TPUType, partition: Union[V5PParts, V6EParts, None] = None) -> Device:
    """Request one Google Cloud TPU of type ``device`` (``"V5P"`` or ``"V6E"``), optionally a slice shape."""
    if device not in get_args(TPUType):
        raise ValueError(
            f"TPU device: {device!r} is not a known TPU; use one of {_choices(get_args(TPUType))}"
        )
    if partition is not None and partition not in _TPU_PARTITIONS[device]:
        raise ValueError(
            f"TPU partition: {partition!r} is not a valid slice of {device!r}; "
            f"use one of {_choices(_TPU_PARTITIONS[device])}"
        )
    return Device(quantity=1, device_class="TPU", device=device, partition=partition)


def Neuron(device: NeuronType) -> Device:
    """Request one AWS Neuron device (Inferentia or Trainium) of type ``device``."""
    if device not in get_args(NeuronType):
        raise ValueError(
            f"Neuron device: {device!r} is not a known Neuron device; use one of "
            f"{_choices(get_args(NeuronType))}"
        )
    return Device(quantity=1, device_class="NEURON", device=device)


def AMD_GPU(device: AMD_GPUType) -> Device:
    """Request one AMD Instinct GPU of model ``device``."""
    if device not in get_args(AMD_GPUType):
        raise ValueError(
            f"AMD_GPU device: {device!r} is not a known AMD GPU; use one of {_choices(get_args(AMD_GPUType))}"
        )
    return Device(quantity=1, device_class="AMD_GPU", device=device)


def HABANA_GAUDI(device: HABANA_GAUDIType) -> Device:
    """Request one Intel Habana Gaudi accelerator of type ``device``."""
    if device not in get_args(HABANA_GAUDIType):
        raise ValueError(
            f"HABANA_GAUDI device: {device!r} is not a known Gaudi device; "
            f"use one of {_choices(get_args(HABANA_GAUDIType))}"
        )
    return Device(quantity=1, device_class="HABANA_GAUDI", device=device)


def _device_from_string(text: str, what: str = "Resources gpu") -> Device:
    """Parse an accelerator string ``"<device>:<count>"`` (``"A100:2"``) into a Device.

    As in the reference SDK the string must be exactly one of ``Accelerators``: the count is
    required (``"A100"`` alone is refused) and the device name is case-sensitive. Errors suggest
    the string that would have been accepted.
    """
    name, sep, count_text = text.rpartition(":")
    if not sep:
        name, count_text = text, ""
    canonical = _CANONICAL_DEVICE.get(name.strip().lower())
    if canonical is None:
        raise ValueError(
            f"{what}: {text!r} names no known accelerator; use '<device>:<count>' such as 'A100:2', 'T4:1' "
            "or "
            f"'H100:8', with a device among {_choices(_ACCELERATOR_COUNTS)}"
        )
    allowed = _ACCELERATOR_COUNTS.get(canonical)
    if allowed is None:  # TPUs are only requested through TPU()
        raise ValueError(
            f"{what}: {text!r} cannot be given as a string; use flyte.TPU({canonical!r}, partition=...)"
        )
    if not sep:
        raise ValueError(
            f"{what}: {text!r} has no count; write '<device>:<count>', "
            f"e.g. '{canonical}:1' for one {canonical}"
        )
    try:
        count = int(count_text.strip())
    except ValueError:
        count = -1
    if count not in allowed:
        raise ValueError(
            f"{what}: {text!r} asks for a count of {canonical} that is not offered; "
            f"allowed counts for {canonical} are {', '.join(str(c) for c in allowed)}"
        )
    if text != f"{canonical}:{count}":
        raise ValueError(
            f"{what}: {text!r} is not written as the SDK spells it; use '{canonical}:{count}' "
            "(device names are case-sensitive, no spaces around ':')"
        )
    return Device(quantity=count, device_class=_CLASS_OF_DEVICE[canonical], device=canonical)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Quantities
# --------------------------------------------------------------------------------------------------

_QUANTITY_RE = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")

_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}

_QUANTITY_HELP = "use bytes (an int) or a Kubernetes quantity like '512Mi', '1Gi', '100M' or '1G'"


def _suffix_multiplier(suffix: str) -> Optional[int]:
    """Bytes per unit for a size suffix; None when the suffix is not a known unit."""
    if suffix in ("", "b", "B"):
        return 1
    if suffix == "m":  # Kubernetes reads this as milli-bytes, Docker as MiB: too ambiguous to guess.
        return None
    low = suffix.lower()
    if low.endswith("ib") and len(low) == 3:
        return _BINARY.get(low[0])
    if low.endswith("i") and len(low) == 2:
        return _BINARY.get(low[0])
    if low.endswith("b") and len(low) == 2:
        return _DECIMAL.get(low[0])
    if len(low) == 1:
        return _DECIMAL.get(low)
    return None


def parse_quantity(text: Union[str, int, float], what: str = "quantity") -> int:
    """Turn a size such as ``"1Gi"``, ``"512Mi"``, ``"1G"``, ``"100M"`` or ``1024`` into whole bytes.

    Binary suffixes (``Ki``, ``Mi``, ``Gi``, ``Ti``, ``Pi``, ``Ei``, also written ``KiB``...) are powers of
    1024, decimal ones (``k``/``K``, ``M``, ``G``, ``T``, ``P``, ``E``, also ``KB``...) powers of 1000;
    fractions round up to the next byte. ``what`` names the setting in error messages. A lone
    lowercase ``m`` is refused because Kubernetes and Docker read it differently.

    Raises:
        TypeError: the value is neither a string nor a number.
        ValueError: the text is not a quantity, uses an unknown unit, or is negative.
    """
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise TypeError(f"{what}: expected a size such as '1Gi' or a number of bytes, got {text!r}")
    if isinstance(text, (int, float)):
        if isinstance(text, float) and not math.isfinite(text):
            raise ValueError(f"{what}: {text!r} is not a valid size; {_QUANTITY_HELP}")
        amount = Fraction(text)
        multiplier = 1
    else:
        match = _QUANTITY_RE.match(text)
        if match is None:
            raise ValueError(f"{what}: {text!r} is not a valid size; {_QUANTITY_HELP}")
        number, suffix = match.groups()
        found = _suffix_multiplier(suffix)
        if found is None:
            hint = " ('m' is ambiguous: write 'M' or 'Mi')" if suffix == "m" else ""
            raise ValueError(f"{what}: {text!r} has an unknown unit {suffix!r}{hint}; {_QUANTITY_HELP}")
        amount = Fraction(number)
        multiplier = found
    if amount < 0:
        raise ValueError(f"{what}: {text!r} is negative; sizes must be zero or more")
    return math.ceil(amount * multiplier)


_CPU_HELP = "use a number of cores (1, 0.5) or a Kubernetes quantity like '500m'"
_CPU_RE = re.compile(r"^\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(m?)\s*$")


def parse_cpu(value: Union[str, int, float], what: str = "cpu") -> float:
    """Turn a CPU amount (``2``, ``0.5``, ``"2"``, ``"1.5"``, ``"500m"``) into a float number of cores.

    Raises:
        TypeError: the value is neither a string nor a number.
        ValueError: the text is not a CPU quantity or the amount is negative.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"{what}: expected a number of cores or a string like '500m', got {value!r}")
    if isinstance(value, str):
        match = _CPU_RE.match(value)
        if match is None:
            raise ValueError(f"{what}: {value!r} is not a valid CPU quantity; {_CPU_HELP}")
        cores = float(match.group(1))
        if match.group(2) == "m":
            cores /= 1000.0
    else:
        cores = float(value)
        if not math.isfinite(cores):
            raise ValueError(f"{what}: {value!r} is not a valid CPU quantity; {_CPU_HELP}")
        if cores < 0:
            raise ValueError(f"{what}: {value!r} is negative; CPU must be zero or more")
    return cores


# --------------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------------

CPUBaseType = Union[int, float, str]
MemoryBaseType = Union[str, int]


def _split_range(value, field: str) -> tuple:
    """Return ``(request, limit)`` from a single value or a two-item tuple/list."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"Resources {field}: {value!r} has {len(value)} items; give one value or a (request, limit) "
                "pair"
            )
        return value[0], value[1]
    return value, value


@dataclass(frozen=True)
class Resources:
    """The CPU, memory, accelerators, disk and shared memory one task needs.

    Each of ``cpu`` and ``memory`` is either one value (used as both request and limit) or a
    ``(request, limit)`` pair; the request may not exceed the limit.

    Args:
        cpu: cores as ``1``, ``0.5``, ``"2"`` or milli-cores ``"500m"``.
        memory: bytes as an int, or a Kubernetes quantity: ``"512Mi"``, ``"1Gi"``, ``"100M"``, ``"1G"``.
        gpu: a count of any GPU (``1``), an accelerator string (``"T4:1"``, ``"A100:2"``, ``"H100:8"``;
            the count is required and names are case-sensitive), or a :class:`Device` from
            :func:`GPU`, :func:`TPU` and friends.
            ``0`` means none.
        disk: ephemeral disk, as a quantity like ``"10Gi"``.
        shm: size of ``/dev/shm`` as a quantity, or ``"auto"`` for as much as the node allows.

    Example::

        Resources(cpu=(1, 2), memory="2Gi", gpu="A100:1", disk="10Gi")
    """

    cpu: Union[CPUBaseType, tuple[CPUBaseType, CPUBaseType], None] = None
    memory: Union[MemoryBaseType, tuple[MemoryBaseType, MemoryBaseType], None] = None
    gpu: Union[Accelerators, str, int, Device, None] = None
    disk: Union[str, int, None] = None
    shm: Union[str, int, Literal["auto"], None] = None

    def __post_init__(self) -> None:
        for name in ("cpu", "memory"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if self.cpu is not None:
            req, lim = _split_range(self.cpu, "cpu")
            req_c, lim_c = parse_cpu(req, "Resources cpu"), parse_cpu(lim, "Resources cpu")
            if req_c > lim_c:
                raise ValueError(
                    f"Resources cpu: request {req!r} is more than limit {lim!r}; "
                    "in (request, limit) the request must not exceed the limit"
                )
        if self.memory is not None:
            req, lim = _split_range(self.memory, "memory")
            req_b, lim_b = parse_quantity(req, "Resources memory"), parse_quantity(lim, "Resources memory")
            if req_b > lim_b:
                raise ValueError(
                    f"Resources memory: request {req!r} is more than limit {lim!r}; "
                    "in (request, limit) the request must not exceed the limit"
                )
        if self.disk is not None:
            if isinstance(self.disk, (tuple, list)):
                raise ValueError(
                    f"Resources disk: {self.disk!r} must be a single size such as '10Gi', not a range"
                )
            parse_quantity(self.disk, "Resources disk")
        if self.shm is not None and self.shm != "auto":
            if isinstance(self.shm, (tuple, list)):
                raise ValueError(f"Resources shm: {self.shm!r} must be a single size such as '1Gi' or 'auto'")
            parse_quantity(self.shm, "Resources shm")
        self._check_gpu()

    def _check_gpu(self) -> None:
        gpu = self.gpu
        if gpu is None or isinstance(gpu, Device):
            return
        if _is_int(gpu):
            if int(gpu) < 0:  # type: ignore[arg-type]
                raise ValueError(f"Resources gpu: {gpu!r} is negative; give a count of 0 or more")
            return
        if isinstance(gpu, str):
            _device_from_string(gpu)
            return
        raise ValueError(  # ValueError, as in the reference SDK
            "Resources gpu: expected a count, an accelerator string such as 'A100:2', or a "
            "GPU()/TPU()/Device(), "
            f"got {type(gpu).__name__}: {gpu!r}"
        )

    # ---- SDK accessors -------------------------------------------------------------------------

    def get_device(self) -> Optional[Device]:
        """The accelerator asked for, as a :class:`Device`; ``None`` if there is none (also for ``gpu=0``)."""
        gpu = self.gpu
        if gpu is None:
            return None
        if isinstance(gpu, Device):
            return gpu
        if isinstance(gpu, str):
            return _device_from_string(gpu)
        if gpu == 0:
            return None
        return Device(quantity=int(gpu), device_class="GPU")

    def get_shared_memory(self) -> Optional[str]:
        """The ``/dev/shm`` size as a string: ``None`` when unset, ``""`` for ``"auto"`` (no fixed size)."""
        if self.shm is None:
            return None
        if self.shm == "auto":
            return ""
        return str(self.shm)

    # ---- engine accessors (ours; not in the SDK contract) ----------------------------------------

    def cpu_request_cores(self) -> Optional[float]:
        """Engine helper: requested cores as a float (``"500m"`` -> ``0.5``), or ``None`` when unset."""
        if self.cpu is None:
            return None
        return parse_cpu(_split_range(self.cpu, "cpu")[0], "Resources cpu")

    def cpu_limit_cores(self) -> Optional[float]:
        """Engine helper: the core limit (equal to the request for a single value), or ``None`` when unset."""
        if self.cpu is None:
            return None
        return parse_cpu(_split_range(self.cpu, "cpu")[1], "Resources cpu")

    def memory_request_bytes(self) -> Optional[int]:
        """Engine helper: requested memory in bytes (``"1Gi"`` -> ``1073741824``), or ``None`` when unset."""
        if self.memory is None:
            return None
        return parse_quantity(_split_range(self.memory, "memory")[0], "Resources memory")

    def memory_limit_bytes(self) -> Optional[int]:
        """Engine helper: the memory limit in bytes (equal to the request for a single value), or ``None``."""
        if self.memory is None:
            return None
        return parse_quantity(_split_range(self.memory, "memory")[1], "Resources memory")

    def disk_bytes(self) -> Optional[int]:
        """Engine helper: ephemeral disk in bytes, or ``None`` when unset."""
        return None if self.disk is None else parse_quantity(self.disk, "Resources disk")

    def shm_bytes(self) -> Optional[int]:
        """Engine helper: ``/dev/shm`` size in bytes; ``None`` when unset or ``"auto"``."""
        if self.shm is None or self.shm == "auto":
            return None
        return parse_quantity(self.shm, "Resources shm")

    def gpu_count(self) -> int:
        """Engine helper: how many accelerator devices are asked for (0 when none)."""
        found = self.get_device()
        return 0 if found is None else found.quantity

    def device(self) -> Optional[Device]:
        """Engine helper: same as :meth:`get_device`, the normalized accelerator or ``None``."""
        return self.get_device()
