"""``current_context()``: what a running flytekit task sees of its execution.

It reads the engine's own task context (``flyte.ctx()``): the action's run name as the execution
id, the action's checkpoint, secrets from the engine's secret store (exposed to the action as
environment variables or files), a scratch working directory and a logger. Outside a run it
describes a local execution, as flytekit's does.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flytekit.deck import Deck

logger = logging.getLogger("flytekit")


@dataclass(frozen=True)
class WorkflowExecutionIdentifier:
    project: str
    domain: str
    name: str

    def __str__(self) -> str:
        return f"ex:{self.project}:{self.domain}:{self.name}"


class SecretsManager:
    """``get(group, key)``: a secret value the task requested with ``secret_requests``."""

    def get(
        self,
        group: str | None = None,
        key: str | None = None,
        group_version: str | None = None,
        encode_mode: str = "r",
    ) -> Any:
        env_var = self.get_secrets_env_var(group, key)
        if env_var in os.environ:
            value = os.environ[env_var]
            return value.encode() if "b" in encode_mode else value
        path = self.get_secrets_file(group, key)
        if path.is_file():
            return path.read_bytes() if "b" in encode_mode else path.read_text()
        raise ValueError(
            f"Unable to find secret for key {key!r} in group {group!r}: not in env var ${env_var} nor at "
            f"{path}; request it with @task(secret_requests=[Secret(group={group!r}, key={key!r})]) and "
            f"create it with 'flyte create secret {key or group}"
            + (f" --group {group}'" if key and group else "'")
        )

    def get_secrets_env_var(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> str:
        import flyte

        if key is None:
            key, group = group, None
        return str(flyte.Secret(key=key or "", group=group).as_env_var)

    def get_secrets_file(
        self, group: str | None = None, key: str | None = None, group_version: str | None = None
    ) -> Path:
        root = Path(os.environ.get("FLYTE_SECRETS_DEFAULT_DIR", "/etc/flyte/secrets"))
        if key is None:
            return root / str(group)
        return root / str(group) / key if group else root / key


class Checkpoint:
    """flytekit's intra-task checkpoint on top of the action's checkpoint (kept across retries)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def prev_exists(self) -> bool:
        return self._inner is not None and bool(self._inner.prev_exists)

    def read(self) -> bytes | None:
        """The bytes saved by an earlier attempt of this action, or None."""
        return None if self._inner is None else self._inner.read_bytes()

    def write(self, data: bytes) -> None:
        """Save ``data`` as this attempt's checkpoint."""
        if self._inner is None:
            raise RuntimeError("checkpoints exist only inside a running task")
        self._inner.save_sync(data)

    def restore(self, path: str | os.PathLike[str] | None = None) -> Path | None:
        """Bring the previous checkpoint to a local path (a file or a directory); None without one."""
        return None if self._inner is None else self._inner.load_sync()

    def save(self, cp: str | os.PathLike[str] | bytes) -> None:
        """Save a file, a directory or bytes as this attempt's checkpoint."""
        if self._inner is None:
            raise RuntimeError("checkpoints exist only inside a running task")
        self._inner.save_sync(cp if isinstance(cp, bytes) else Path(cp))


class ExecutionParameters:
    """The object ``current_context()`` returns."""

    def __init__(self, tctx: Any) -> None:
        self._tctx = tctx
        self._work_dir: str | None = None
        self.secrets = SecretsManager()
        self.logging = logger
        self.default_deck = Deck("default")
        self.decks: list[Deck] = [self.default_deck]

    @property
    def execution_id(self) -> WorkflowExecutionIdentifier:
        t = self._tctx
        if t is None:
            return WorkflowExecutionIdentifier("local", "development", "local")
        return WorkflowExecutionIdentifier(t.action.project or "", t.action.domain or "", t.action.run_name)

    @property
    def task_id(self) -> str | None:
        return None if self._tctx is None else self._tctx.task_name

    @property
    def action_name(self) -> str | None:
        return None if self._tctx is None else self._tctx.action.name

    @property
    def attempt_number(self) -> int:
        return 0 if self._tctx is None else int(self._tctx.attempt_number)

    @property
    def working_directory(self) -> str:
        if self._work_dir is None:
            self._work_dir = tempfile.mkdtemp(prefix="flytekit-")
        return self._work_dir

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(None if self._tctx is None else self._tctx.checkpoint)

    @property
    def raw_output_prefix(self) -> str | None:
        raw = None if self._tctx is None else self._tctx.raw_data_path
        return None if raw is None else raw.path

    @property
    def stats(self) -> Any:
        return _NoStats()

    def get(self, key: str) -> Any:
        return getattr(self, key)


class _NoStats:
    def __getattr__(self, name: str) -> Any:
        return lambda *a, **k: None


def current_context() -> ExecutionParameters:
    """The execution context of the running task (a local one outside any run)."""
    import flyte

    return ExecutionParameters(flyte.ctx())


class FlyteContext:
    """flytekit's FlyteContext, reduced to what user code reaches for: file access."""

    def __init__(self) -> None:
        from flytekit.core.data_persistence import FileAccessProvider

        self.file_access = FileAccessProvider()
        self.user_space_params = current_context()

    @property
    def execution_state(self) -> Any:
        return None


class FlyteContextManager:
    @staticmethod
    def current_context() -> FlyteContext:
        return FlyteContext()
