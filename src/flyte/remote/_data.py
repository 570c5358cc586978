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
    """An action's outputs: a tuple (one element per declared output), also by name as ``o0, o1, ...``."""

    def __new__(cls, data: tuple[Any, ...] = ()) -> ActionOutputs:
        return super().__new__(cls, data)

    @property
    def named_outputs(self) -> dict[str, Any]:
        return {f"o{i}": v for i, v in enumerate(self)}

    def __getattr__(self, name: str) -> Any:  # outputs.o0, outputs.o1, ... as in the reference
        if name.startswith("o") and name[1:].isdigit() and int(name[1:]) < len(self):
            return self[int(name[1:])]
        known = list(self.named_outputs)
        raise AttributeError(f"{type(self).__name__} has no output {name!r}; it has {known}")

    def to_dict(self) -> dict[str, Any]:
        return self.named_outputs

    def to_json(self) -> str:
        return json.dumps(self.named_outputs, default=repr)
