"""Containers for an action's inputs and outputs as users read them."""

from __future__ import annotations

import json
from collections import UserDict
from typing import Any


class ActionInputs(UserDict):
    """An action's inputs by name."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def to_json(self) -> str:
        return json.dumps(self.data, default=repr)


class ActionOutputs(tuple):
    """An action's outputs: a tuple (one element per declared output), also by name as ``o0, o1, ...``
    (or by the names the task's interface gives them, when it names them otherwise)."""

    _names: tuple[str, ...] | None

    def __new__(
        cls, data: tuple[Any, ...] = (), names: tuple[str, ...] | list[str] | None = None
    ) -> ActionOutputs:
        obj = super().__new__(cls, data)
        obj._names = tuple(names) if names and len(names) == len(obj) else None
        return obj

    @property
    def named_outputs(self) -> dict[str, Any]:
        if self._names is not None:
            return dict(zip(self._names, self, strict=True))
        return {f"o{i}": v for i, v in enumerate(self)}

    def __getattr__(self, name: str) -> Any:  # outputs.o0, outputs.o1, ... as in the reference
        if name.startswith("_"):
            raise AttributeError(name)
        if self._names is not None and name in self._names:
            return self[self._names.index(name)]
        if name.startswith("o") and name[1:].isdigit() and int(name[1:]) < len(self):
            return self[int(name[1:])]
        known = list(self.named_outputs)
        raise AttributeError(f"{type(self).__name__} has no output {name!r}; it has {known}")

    def to_dict(self) -> dict[str, Any]:
        return self.named_outputs

    def to_json(self) -> str:
        return json.dumps(self.named_outputs, default=repr)


def ordered_outputs(values: dict[str, Any]) -> ActionOutputs:
    """Stored outputs as ActionOutputs: ``o0, o1, ...`` in number order, other names as stored
    (the order the task declared them)."""
    if all(k.startswith("o") and k[1:].isdigit() for k in values):
        keys = sorted(values, key=lambda k: int(k[1:]))
        return ActionOutputs(tuple(values[k] for k in keys))
    return ActionOutputs(tuple(values.values()), names=list(values))
