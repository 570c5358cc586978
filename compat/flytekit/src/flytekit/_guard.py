"""Refuse to load next to a real flytekit distribution.

This package is imported as ``flytekit``, the import name of the real flytekit. Installed into
the same environment, the two would overwrite each other's files and a program would silently
run a mix of both. So at import we look for the real distribution's metadata on ``sys.path``
(a ``flytekit-<version>.dist-info`` or ``.egg-info`` directory; ours is named
``flyte_engine_flytekit-...``) and stop with one line saying what to uninstall.

The scan lists each ``sys.path`` directory once (``os.scandir``), which costs well under a
millisecond, instead of importing ``importlib.metadata``.
"""

from __future__ import annotations

import os
import sys

_PREFIXES = ("flytekit-",)
_SUFFIXES = (".dist-info", ".egg-info")


def real_flytekit_version() -> str | None:
    """The version of a real flytekit distribution visible on ``sys.path``, or None."""
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        try:
            with os.scandir(entry) as it:
                for item in it:
                    name = item.name
                    if name.startswith(_PREFIXES) and name.endswith(_SUFFIXES):
                        stem = name.rsplit(".", 1)[0]
                        return stem.split("-", 1)[1] if "-" in stem else "?"
        except OSError:
            continue
    return None


def refuse_if_shadowing() -> None:
    """Raise ImportError (one line) when a real flytekit is installed in this environment."""
    if os.environ.get("FLYTEKIT_COMPAT_IGNORE_REAL") == "1":  # escape hatch for odd layouts
        return
    version = real_flytekit_version()
    if version is not None:
        raise ImportError(
            f"flyte-engine-flytekit refuses to load: the real flytekit {version} is installed in this "
            "environment and both provide 'import flytekit'; run 'pip uninstall flytekit' (to use "
            "flyte-engine) or 'pip uninstall flyte-engine-flytekit' (to use flytekit)"
        )
