"""flytekit's module path ``flytekit.core.checkpointer``."""

from flytekit.core.context_manager import Checkpoint

__all__ = ["Checkpoint"]
