"""``flytekit.remote``: flytekit's FlyteRemote client is not part of this layer.

Use ``flyte.remote`` (``flyte.remote.Run.get``, ``Run.listall``, ``flyte.run`` against a
configured control plane) or ``pyflyte run --remote``.
"""

from typing import Any


class FlyteRemote:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "FlyteRemote is not part of flyte-engine's flytekit layer; use flyte.remote "
            "(Run.get, Run.listall) or 'pyflyte run --remote FILE WORKFLOW'"
        )


__all__ = ["FlyteRemote"]
