"""flytekit's module path ``flytekit.core.node_creation``."""

from flytekit.core.node import create_node

__all__ = ["create_node"]
