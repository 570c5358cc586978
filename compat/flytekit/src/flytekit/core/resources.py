"""flytekit's ``Resources`` and how task requests/limits become a ``flyte.Resources``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resources:
    """CPU, memory, GPU and storage of a task, as flytekit spells them (``mem``, not ``memory``).

    Each field is a quantity (``"1"``, ``"500m"``, ``"2Gi"``) or, in flytekit 1.16, a
    ``(request, limit)`` tuple when the object is given as ``resources=``.
    """

    cpu: Any = None
    mem: Any = None
    gpu: Any = None
    ephemeral_storage: Any = None

    def __post_init__(self) -> None:
        for name in ("cpu", "mem", "gpu", "ephemeral_storage"):
            value = getattr(self, name)
            parts = value if isinstance(value, (tuple, list)) else (value,)
            for part in parts:
                if part is not None and not isinstance(part, (str, int, float)):
                    raise TypeError(
                        f"Resources {name}: expected a quantity such as '1' or '2Gi', got {part!r}"
                    )


def _pair(request: Any, limit: Any) -> Any:
    if request is None:
        return limit
    if limit is None or limit == request:
        return request
    return (request, limit)


def to_flyte_resources(
    requests: Resources | None, limits: Resources | None, resources: Resources | None
) -> Any:
    """One ``flyte.Resources`` from flytekit's ``requests=``/``limits=`` or ``resources=``.

    A request and a different limit become flyte's ``(request, limit)`` pair; a limit alone is
    taken as the request too (Kubernetes does the same). GPU counts keep the larger value.
    """
    if requests is None and limits is None and resources is None:
        return None
    import flyte

    req: dict[str, Any] = {}
    lim: dict[str, Any] = {}
    if resources is not None:
        for name in ("cpu", "mem", "gpu", "ephemeral_storage"):
            value = getattr(resources, name)
            if isinstance(value, (tuple, list)):
                req[name], lim[name] = value[0], value[1]
            elif value is not None:
                req[name] = value
    for source, target in ((requests, req), (limits, lim)):
        if source is not None:
            for name in ("cpu", "mem", "gpu", "ephemeral_storage"):
                value = getattr(source, name)
                if value is not None:
                    target[name] = value
    gpu = lim.get("gpu") or req.get("gpu")
    kwargs: dict[str, Any] = {
        "cpu": _pair(req.get("cpu"), lim.get("cpu")),
        "memory": _pair(req.get("mem"), lim.get("mem")),
        "disk": req.get("ephemeral_storage") or lim.get("ephemeral_storage"),
    }
    if gpu is not None:
        kwargs["gpu"] = int(gpu) if isinstance(gpu, str) and gpu.isdigit() else gpu
    return flyte.Resources(**{k: v for k, v in kwargs.items() if v is not None})
