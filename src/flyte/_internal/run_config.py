"""Settings of one run, gathered from flyte.with_runcontext / the CLI, as a frozen object."""

from __future__ import annotations

import os
import re
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ALPHABET = string.ascii_lowercase + string.digits


def flyte_home() -> Path:
    """Where local state lives: ``$FLYTE_HOME``, or ``~/.flyte``."""
    return Path(os.environ.get("FLYTE_HOME") or Path.home() / ".flyte")


RUN_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""What a run may be called, locally and on the server: it becomes a directory and a URL segment."""


def check_run_name(name: str) -> str:
    """``name`` if it is a valid run name; else ``ValueError`` saying what is allowed (a name like
    ``../x`` would write outside FLYTE_HOME)."""
    if not isinstance(name, str) or not RUN_NAME.match(name):
        raise ValueError(
            f"invalid run name {name!r}: use 1-63 lowercase letters, digits, '-' or '_', starting"
            " with a letter or digit"
        )
    return name


def new_run_name() -> str:
    """A fresh run name: 'r' and 15 random lowercase letters/digits."""
    return "r" + "".join(secrets.choice(_ALPHABET) for _ in range(15))


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    name: str
    mode: str = "local"
    env_vars: dict[str, str] = field(default_factory=dict)
    custom_context: dict[str, str] = field(default_factory=dict)
    overwrite_cache: bool = False
    disable_run_cache: bool = False
    raw_data_path: str | None = None
    max_action_concurrency: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    recover_from: str | None = None
    """Replay what this earlier run finished (``rerun --recover``)."""
    isolate: bool = False
    """Run every action in a worker process (``flyte run --isolate``, FLYTE_LOCAL_ISOLATE=1)."""
    project: str | None = None
    """The project the run belongs to (``-p``, ``with_runcontext(project=)``, ``flyte.init``)."""
    domain: str | None = None
    """Its domain (``-d``, ``with_runcontext(domain=)``, ``flyte.init``)."""
    strict_resources: bool = False
    """Refuse a task whose Resources exceed the local node instead of clamping them
    (``flyte run --strict-resources``, ``with_runcontext(strict_resources=True)``,
    FLYTE_STRICT_RESOURCES=1)."""
    notifications: tuple[Any, ...] = ()
    """flyte.notify objects sent when the run ends (``with_runcontext(notifications=...)``)."""
    persist: bool = True
    """Record the run in the store under FLYTE_HOME (turn off with FLYTE_LOCAL_PERSISTENCE=0)."""

    @property
    def run_base_dir(self) -> Path:
        return flyte_home() / "runs" / self.name

    @property
    def raw_data_dir(self) -> str:
        """Where tasks write data: the given ``raw_data_path``, else one content-addressed store
        under FLYTE_HOME shared by all local runs (equal content, equal path: dedup and cache keys)."""
        return self.raw_data_path or str(flyte_home() / "data")


def run_labels(config: RunConfig) -> dict[str, str]:
    """What a run is labelled with in the store: its labels, and its project and domain."""
    labels = dict(config.labels)
    if config.project:
        labels["project"] = config.project
    if config.domain:
        labels["domain"] = config.domain
    return labels
