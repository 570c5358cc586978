"""guess_interface: a task's typed signature rebuilt from its flyteidl2 ``TypedInterface``."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from flyte._interface import NativeInterface
from flyte.types import _literal_api
from flyte.types._transformer import run_sync


def guess_interface(interface: Any, default_inputs: Iterable[Any] | None = None) -> NativeInterface:
    """The :class:`NativeInterface` described by a flyteidl2 ``TypedInterface``.

    Types are guessed from the literal types (the original classes may not be importable
    here). ``default_inputs`` (flyteidl2 ``NamedParameter`` messages) give the inputs their
    defaults, converted to Python values of the guessed types.
    """
    if interface is None:
        return NativeInterface(inputs={}, outputs={})
    defaults: dict[str, Any] = {}
    for param in default_inputs or ():
        if param.parameter.HasField("default"):
            defaults[param.name] = param.parameter.default
    inputs: dict[str, tuple[Any, Any]] = {}
    for name, tp in _literal_api.guess_python_types(interface.inputs.variables).items():
        default = inspect.Parameter.empty
        if name in defaults:
            default = run_sync(_literal_api.to_python_value(defaults[name], tp))
        inputs[name] = (tp, default)
    outputs = _literal_api.guess_python_types(interface.outputs.variables)
    return NativeInterface(inputs=inputs, outputs=outputs)
