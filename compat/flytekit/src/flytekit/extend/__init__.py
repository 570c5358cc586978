"""``from flytekit.extend import TypeEngine, TypeTransformer`` (flytekit's plugin surface)."""

from flytekit.core.context_manager import FlyteContext, FlyteContextManager
from flytekit.core.promise import Promise
from flytekit.core.type_engine import TypeEngine, TypeTransformer, TypeTransformerFailedError

__all__ = [
    "FlyteContext",
    "FlyteContextManager",
    "Promise",
    "TypeEngine",
    "TypeTransformer",
    "TypeTransformerFailedError",
]
