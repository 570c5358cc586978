"""flytekit's module path ``flytekit.models.security`` (``Secret``, ``SecurityContext``)."""

from flytekit.core.security import Secret, SecurityContext

__all__ = ["Secret", "SecurityContext"]
