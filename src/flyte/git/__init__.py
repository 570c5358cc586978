"""Git helpers: :class:`GitConfig` (root, commit, cleanliness, remote of the current repository)
and :func:`config_from_root` (the config file at the repository root)."""

from flyte.git._config import GitConfig, config_from_root

__all__ = ["GitConfig", "config_from_root"]
