"""How a task's ``flyte.Resources`` become Ray scheduling options, and whether a cluster can ever
hold them.

The mapping (the ``resources`` of a task reference, see ``flyte._internal.controllers._wire``):

================================  ==================================================================
``Resources``                     Ray
================================  ==================================================================
``cpu`` (the request)             ``num_cpus`` (unset: ``default_cpus``, 1 like Ray's own default)
``memory`` (the request)          ``memory`` in bytes
``gpu=N`` / ``GPU("T4", N)``      ``num_gpus=N``; the model as ``accelerator_type="T4"``
``AMD_GPU("MI300X")``             ``num_gpus=1``, ``accelerator_type="MI300X"``
``TPU(...)``                      the custom resource ``TPU``
``Neuron(...)``                   the custom resource ``neuron_cores``
``HABANA_GAUDI(...)``             the custom resource ``HPU``
================================  ==================================================================

Limits, disk and shared memory are not Ray scheduling resources and are left to the attempt
runner (a memory limit is enforced by it, as on the process executor). A GPU partition (MIG) is
scheduled as one whole device.

This module imports nothing from Ray: it is pure data, tested without a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACCELERATOR_PREFIX = "accelerator_type:"
"""Ray's resource name for an accelerator model; ``accelerator_type=X`` asks for a sliver of it."""

_CUSTOM_DEVICE_RESOURCE = {"TPU": "TPU", "NEURON": "neuron_cores", "HABANA_GAUDI": "HPU"}
"""Accelerator classes Ray schedules as custom resources (the names Ray's own detection uses)."""


def ray_options(resources: Mapping[str, Any] | None, default_cpus: float = 1.0) -> dict[str, Any]:
    """The ``.options(...)`` of the Ray task that runs an action asking for ``resources``."""
    resources = resources or {}
    cpu = resources.get("cpu")
    options: dict[str, Any] = {"num_cpus": float(default_cpus if cpu is None else cpu)}
    memory = resources.get("memory")
    if memory:
        options["memory"] = int(memory)
    accelerator = resources.get("accelerator")
    if isinstance(accelerator, Mapping):
        quantity = int(accelerator.get("quantity") or 1)
        custom = _CUSTOM_DEVICE_RESOURCE.get(str(accelerator.get("class")))
        if custom is not None:
            options["resources"] = {custom: float(quantity)}
        else:  # GPU, AMD_GPU
            options["num_gpus"] = float(quantity)
            if accelerator.get("device"):
                options["accelerator_type"] = str(accelerator["device"])
    elif resources.get("gpu"):
        options["num_gpus"] = float(resources["gpu"])
    return options


def demand(options: Mapping[str, Any]) -> dict[str, float]:
    """The Ray resources (by Ray's names) that ``options`` ask a node for."""
    wanted: dict[str, float] = {}
    if options.get("num_cpus"):
        wanted["CPU"] = float(options["num_cpus"])
    if options.get("num_gpus"):
        wanted["GPU"] = float(options["num_gpus"])
    if options.get("memory"):
        wanted["memory"] = float(options["memory"])
    for name, amount in (options.get("resources") or {}).items():
        if amount:
            wanted[name] = float(amount)
    if options.get("accelerator_type"):
        wanted[ACCELERATOR_PREFIX + str(options["accelerator_type"])] = 0.001
    return wanted


def _show(name: str, amount: float) -> str:
    if name == "memory":
        return f"memory {amount / 2**30:.3g} GiB"
    if name.startswith(ACCELERATOR_PREFIX):
        return f"accelerator {name[len(ACCELERATOR_PREFIX) :]!r}"
    return f"{name} {amount:g}"


def unfit(wanted: Mapping[str, float], nodes: Iterable[Mapping[str, float]]) -> str | None:
    """Why no node (given by its total resources) can ever run a task wanting ``wanted``, or None
    when one can (it may still have to wait for room)."""
    totals = list(nodes)
    if any(all(node.get(name, 0.0) >= amount for name, amount in wanted.items()) for node in totals):
        return None
    if not totals:
        return "the Ray cluster has no live node"
    short = []
    for name, amount in wanted.items():
        most = max(n.get(name, 0.0) for n in totals)
        if most >= amount:
            continue
        if name.startswith(ACCELERATOR_PREFIX):
            short.append(f"{_show(name, amount)} (no node has one)")
        else:
            short.append(f"{_show(name, amount)} (the most a node has: {_show(name, most)})")
    if short:
        return "no node of the Ray cluster has " + ", ".join(short)
    asked = ", ".join(_show(name, amount) for name, amount in wanted.items())
    return f"no single node of the Ray cluster has all of {asked} (each is on some node, never together)"


def slots(wanted: Mapping[str, float], nodes: Iterable[Mapping[str, float]]) -> int | None:
    """How many tasks wanting ``wanted`` the nodes (given by their total resources) can run at
    once; None when unbounded (a task that asks for nothing)."""
    asks = {name: amount for name, amount in wanted.items() if amount > 0}
    if not asks:
        return None
    return sum(int(min(node.get(name, 0.0) / amount for name, amount in asks.items())) for node in nodes)
