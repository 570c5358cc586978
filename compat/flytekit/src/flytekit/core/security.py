"""flytekit's ``Secret(group, key)`` and ``SecurityContext``, mapped onto ``flyte.Secret``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Secret:
    """A secret request as flytekit writes it: ``Secret(group="db", key="password")``.

    It becomes ``flyte.Secret(key=key, group=group)``: the value comes from the engine's secret
    store (``flyte create secret KEY --group GROUP``) and is read with
    ``current_context().secrets.get(group, key)``. ``group_version`` is accepted and not used;
    ``mount_requirement=FILE`` mounts it as a file instead of an environment variable.
    """

    class MountType(enum.Enum):
        ANY = 0
        ENV_VAR = 1
        FILE = 2

    group: str | None = None
    key: str | None = None
    group_version: str | None = None
    mount_requirement: Any = MountType.ANY
    env_var: str | None = None

    def __post_init__(self) -> None:
        if not self.key and not self.group:
            raise ValueError("Secret: give key= (and usually group=)")

    def to_flyte(self) -> Any:
        import flyte

        key = self.key or self.group
        group = self.group if self.key else None
        if self.mount_requirement is Secret.MountType.FILE:
            return flyte.Secret(key=key, group=group, mount="/etc/flyte/secrets")  # type: ignore[arg-type]
        return flyte.Secret(key=key, group=group, as_env_var=self.env_var)  # type: ignore[arg-type]


@dataclass
class SecurityContext:
    """Accepted for compatibility; service accounts and roles have no meaning on this engine."""

    run_as: Any = None
    secrets: Any = None
    tokens: Any = None
