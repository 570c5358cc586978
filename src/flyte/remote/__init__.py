"""Handles on runs and actions: the object ``flyte.run`` returns, and (later) lookups by name."""

from flyte.remote._condition import Condition
from flyte.remote._data import ActionInputs, ActionOutputs
from flyte.remote._run import Action, Run

__all__ = ["Action", "ActionInputs", "ActionOutputs", "Condition", "Run"]
