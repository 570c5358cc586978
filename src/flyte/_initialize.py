"""``flyte.init`` and ``flyte.init_from_config``: choose where runs go (this machine or a server)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flyte.config._reader import CONFIG_ENV_VARS, find_config_file, read_config
from flyte.errors import InitializationError

if TYPE_CHECKING:
    from flyte.config import Config
    from flyte.storage import Storage

__all__ = [
    "CONFIG_ENV_VARS",
    "InitConfig",
    "current_domain",
    "find_config_file",
    "get_init_config",
    "init",
    "init_from_config",
    "is_initialized",
    "read_config",
]

F = TypeVar("F", bound=Callable[..., None])


def _with_aio(func: F) -> F:
    """Give the blocking ``func`` an awaitable twin ``func.aio`` (as the reference's syncified init)."""

    async def aio(*args: Any, **kwargs: Any) -> None:
        func(*args, **kwargs)

    aio.__doc__ = func.__doc__
    func.aio = aio  # type: ignore[attr-defined]
    return func


def _check_storage(storage: Any) -> Storage | None:
    if storage is None:
        return None
    from flyte.storage._config import Storage  # already imported by whoever built the object

    if not isinstance(storage, Storage):
        raise InitializationError(
            "BadStorage",
            "user",
            "flyte.init: storage must be a flyte.storage.Storage (S3, GCS, ABFS), "
            f"got {type(storage).__name__}",
        )
    return storage


@dataclass(frozen=True, kw_only=True)
class InitConfig:
    """What ``flyte.init`` was told. No endpoint means runs execute locally."""

    root_dir: Path
    org: str | None = None
    project: str | None = None
    domain: str | None = None
    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)
    insecure: bool = False
    storage: Storage | None = None
    """Object-store settings given to ``init``; kept, not used by local runs."""
    images: dict[str, str] = field(default_factory=dict)
    source_config_path: Path | None = None

    @property
    def is_remote(self) -> bool:
        return self.endpoint is not None


_config: InitConfig | None = None


def get_init_config() -> InitConfig:
    """The active configuration; without any ``init`` call, a local one rooted at the cwd."""
    return _config if _config is not None else InitConfig(root_dir=Path.cwd())


def is_initialized() -> bool:
    return _config is not None


@_with_aio
def init(
    org: str | None = None,
    project: str | None = None,
    domain: str | None = None,
    root_dir: str | Path | None = None,
    log_level: int | None = None,
    log_format: str | None = "console",
    endpoint: str | None = None,
    headless: bool = False,
    insecure: bool = False,
    insecure_skip_verify: bool = False,
    ca_cert_file_path: str | None = None,
    auth_type: str = "Pkce",
    command: list[str] | None = None,
    proxy_command: list[str] | None = None,
    api_key: str | None = None,
    client_id: str | None = None,
    client_credentials_secret: str | None = None,
    auth_client_config: Any = None,
    rpc_retries: int = 3,
    http_proxy_url: str | None = None,
    storage: Storage | None = None,
    batch_size: int = 1000,
    image_builder: str = "local",
    images: dict[str, str] | None = None,
    source_config_path: str | Path | None = None,
    sync_local_sys_paths: bool = True,
) -> None:
    """Configure flyte for this process.

    With no ``endpoint`` (and no API key naming one), runs execute on this machine with the
    embedded run store; with one, ``flyte.run`` submits to that control-plane server. The
    authentication options of the reference SDK are accepted; only ``api_key`` is used.
    ``storage`` (a :class:`flyte.storage.Storage`) is kept in the configuration.
    ``await flyte.init.aio(...)`` does the same from async code.
    """
    global _config
    if log_level is not None:
        logging.getLogger("flyte").setLevel(log_level)
    api_key = api_key or os.environ.get("FLYTE_API_KEY") or None
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.strip()):
        raise InitializationError(
            "BadEndpoint", "user", f"flyte.init: endpoint must be a URL, got {endpoint!r}"
        )
    _config = InitConfig(
        root_dir=Path(root_dir).resolve() if root_dir is not None else Path.cwd(),
        org=org,
        project=project,
        domain=domain,
        endpoint=endpoint,
        api_key=api_key,
        insecure=insecure,
        storage=_check_storage(storage),
        images=dict(images or {}),
        source_config_path=Path(source_config_path) if source_config_path else None,
    )


@_with_aio
def init_from_config(
    path_or_config: str | Path | Config | None = None,
    root_dir: str | Path | None = None,
    log_level: int | None = None,
    log_format: str | None = "console",
    project: str | None = None,
    domain: str | None = None,
    storage: Storage | None = None,
    images: dict[str, str] | None = None,
    sync_local_sys_paths: bool = True,
) -> None:
    """Initialize from a config file (or a :class:`flyte.config.Config`); with none, for local runs.

    The file's ``admin.endpoint`` (and ``admin.api_key``) select a server; ``task.org``,
    ``task.project`` and ``task.domain`` set defaults; ``FLYTE_ADMIN_ENDPOINT``-style
    environment variables override the file. ``await flyte.init_from_config.aio(...)`` does the
    same from async code.
    """
    from flyte.config._config import Config  # the Config classes load only when a config is read

    if isinstance(path_or_config, Config):
        config = path_or_config
    else:
        path = find_config_file(path_or_config)
        if path is None:
            init(
                root_dir=root_dir,
                log_level=log_level,
                project=project,
                domain=domain,
                storage=storage,
                images=images,
            )
            return
        config = Config.auto(path)
    platform = config.platform
    init(
        org=config.task.org,
        project=project or config.task.project,
        domain=domain or config.task.domain,
        root_dir=root_dir,
        log_level=log_level,
        endpoint=platform.endpoint,
        api_key=os.environ.get("FLYTE_API_KEY") or platform.api_key,  # the environment wins
        insecure=bool(platform.insecure),
        storage=storage,
        images={**config.image.image_refs, **(images or {})},
        source_config_path=config.source,
    )


@_with_aio
def init_from_api_key(
    api_key: str | None = None,
    project: str | None = None,
    domain: str | None = None,
    root_dir: str | Path | None = None,
    log_level: int | None = None,
    log_format: str | None = None,
    storage: Storage | None = None,
    batch_size: int = 1000,
    image_builder: str = "local",
    images: dict[str, str] | None = None,
    sync_local_sys_paths: bool = True,
) -> None:
    """Initialize for a server reached with an API key (``api_key``, else ``FLYTE_API_KEY``).

    Our keys name no server, so the endpoint is ``FLYTE_ADMIN_ENDPOINT``, else the config file's
    ``admin.endpoint`` (the file ``flyte get config`` shows). Raises
    :class:`flyte.errors.InitializationError` when there is no key or no endpoint.
    ``await flyte.init_from_api_key.aio(...)`` does the same from async code.
    """
    key = api_key or os.environ.get("FLYTE_API_KEY")
    if not key:
        raise InitializationError(
            "MissingApiKeyError",
            "user",
            "flyte.init_from_api_key: no API key; pass api_key=... or set FLYTE_API_KEY",
        )
    endpoint = os.environ.get("FLYTE_ADMIN_ENDPOINT") or None
    config_path = find_config_file(None) if endpoint is None else None
    if config_path is not None:
        from flyte.config._config import Config

        endpoint = Config.auto(config_path).platform.endpoint
    if not endpoint:
        raise InitializationError(
            "MissingEndpointError",
            "user",
            "flyte.init_from_api_key: no server to use the key with; set FLYTE_ADMIN_ENDPOINT or "
            "admin.endpoint in the config file ('flyte get config' shows which file is read)",
        )
    init(
        project=project,
        domain=domain,
        root_dir=root_dir,
        log_level=log_level,
        endpoint=endpoint,
        api_key=key,
        storage=storage,
        images=images,
    )


def current_domain() -> str | None:
    """The domain of the run this task belongs to; outside a task, the one ``flyte.init`` set."""
    return _of_current_run("domain") or get_init_config().domain


def current_project() -> str | None:
    """The project of the run this task belongs to; outside a task, the one ``flyte.init`` set."""
    return _of_current_run("project") or get_init_config().project


def _of_current_run(field: str) -> str | None:
    from flyte._context import current_frame

    frame = current_frame()
    tctx = frame.tctx if frame is not None else None
    return getattr(tctx.action, field, None) if tctx is not None else None
