"""The ``kubernetes`` client's models as a validator: dicts in, checked models out, and back.

The ``kubernetes`` package is optional (``pip install 'flyte-engine[kubernetes]'``); it is imported
here, when a conversion is asked for, and a clear error names the extra when it is missing.
:func:`from_api_dict` is strict where the client is lenient: an unknown field is an error naming
its path (``pod.spec.containers[0].imagee``), as is a value of the wrong type. It reads the models'
own ``attribute_map``/``openapi_types`` tables, which both the older generated client and the
pydantic-based one (37+) provide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flyte.errors import RuntimeUserError

__all__ = ["KubernetesSpecError", "from_api_dict", "require_kubernetes", "to_api_dict"]


class KubernetesSpecError(RuntimeUserError):
    """A pod spec or template is not valid Kubernetes, or the kubernetes package is missing."""

    def __init__(self, message: str):
        super().__init__("KubernetesSpecError", message)


def require_kubernetes(what: str) -> Any:
    """The ``kubernetes.client`` module, or an error naming the extra that provides it."""
    try:
        import kubernetes.client as client
    except ImportError:
        raise KubernetesSpecError(
            f"{what} needs the kubernetes package: pip install 'flyte-engine[kubernetes]'"
        ) from None
    return client


_LIST = re.compile(r"^[Ll]ist\[(.+)\]$")
_DICT = re.compile(r"^[Dd]ict[\[(]str, (.+)[\])]$")
_PRIMITIVES: dict[str, Any] = {"str": str, "int": int, "bool": bool, "float": (int, float)}


def _build(client: Any, type_name: str, value: Any, path: str) -> Any:
    if value is None:
        return None
    if match := _LIST.match(type_name):
        if not isinstance(value, (list, tuple)):
            raise KubernetesSpecError(f"{path}: expected a list, got {value!r}")
        return [_build(client, match.group(1), v, f"{path}[{i}]") for i, v in enumerate(value)]
    if match := _DICT.match(type_name):
        if not isinstance(value, Mapping):
            raise KubernetesSpecError(f"{path}: expected a mapping, got {value!r}")
        return {str(k): _build(client, match.group(1), v, f"{path}.{k}") for k, v in value.items()}
    if type_name in _PRIMITIVES:
        expected = _PRIMITIVES[type_name]
        if type_name != "bool" and isinstance(value, bool) or not isinstance(value, expected):
            raise KubernetesSpecError(f"{path}: expected {type_name}, got {value!r}")
        return value
    if type_name in ("object", "datetime", "date"):
        return value
    klass = getattr(client, type_name, None)
    if klass is None:
        return value
    if not isinstance(value, Mapping):
        if isinstance(value, klass):
            return value
        raise KubernetesSpecError(f"{path}: expected a {type_name} mapping, got {value!r}")
    attribute_map: dict[str, str] = klass.attribute_map
    by_api_name = {api: attr for attr, api in attribute_map.items()}
    kwargs = {}
    for key, item in value.items():
        attr = key if key in attribute_map else by_api_name.get(key)
        if attr is None:
            known = ", ".join(sorted(by_api_name))
            raise KubernetesSpecError(
                f"{path}: {key!r} is not a field of {type_name}; its fields are: {known}"
            )
        kwargs[attr] = _build(client, klass.openapi_types[attr], item, f"{path}.{attribute_map[attr]}")
    try:
        return klass(**kwargs)
    except (TypeError, ValueError) as e:  # pydantic's ValidationError is a ValueError
        first = str(e).strip().splitlines()
        raise KubernetesSpecError(f"{path}: not a valid {type_name}: {' '.join(first[:3])}") from None


def from_api_dict(type_name: str, data: Any, what: str = "pod spec") -> Any:
    """A kubernetes model (e.g. ``"V1PodSpec"``) built from a dict with camelCase or snake_case keys.

    Raises:
        KubernetesSpecError: a field is unknown, of the wrong type or missing, or kubernetes is absent.
    """
    client = require_kubernetes(what)
    if not isinstance(data, Mapping) and hasattr(data, "to_dict"):
        return data
    return _build(client, type_name, data, what)


def to_api_dict(model: Any) -> Any:
    """A kubernetes model as the API's JSON shape (camelCase keys, unset fields left out)."""
    client = require_kubernetes("converting a kubernetes model")
    return client.ApiClient().sanitize_for_serialization(model)
