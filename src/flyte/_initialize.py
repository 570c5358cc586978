"""``flyte.init`` and ``flyte.init_from_config``: choose where runs go (this machine or a server)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyte.errors import InitializationError

CONFIG_ENV_VARS = ("FLYTE_CONFIG", "FLYTECTL_CONFIG")


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
    storage: Any = None
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
    storage: Any = None,
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
        storage=storage,
        images=dict(images or {}),
        source_config_path=Path(source_config_path) if source_config_path else None,
    )


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """The config file to use: the explicit path, ``$FLYTE_CONFIG``, ``./.flyte/config.yaml``,
    then ``~/.flyte/config.yaml``; None when there is none."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InitializationError("ConfigNotFound", "user", f"Config file '{path}' does not exist")
        return path
    for var in CONFIG_ENV_VARS:
        value = os.environ.get(var)
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise InitializationError(
                    "ConfigNotFound", "user", f"${var} points at '{path}', which does not exist"
                )
            return path
    for candidate in (Path.cwd() / ".flyte" / "config.yaml", Path.home() / ".flyte" / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, Any]:
    import yaml  # only when a config file exists

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise InitializationError(
            "BadConfig", "user", f"Config file '{path}' is not valid YAML: {e}"
        ) from None
    if not isinstance(data, dict):
        raise InitializationError("BadConfig", "user", f"Config file '{path}' must hold a mapping at the top")
    return data


def init_from_config(
    path_or_config: str | Path | None = None,
    root_dir: str | Path | None = None,
    log_level: int | None = None,
    log_format: str | None = "console",
    project: str | None = None,
    domain: str | None = None,
    storage: Any = None,
    images: dict[str, str] | None = None,
    sync_local_sys_paths: bool = True,
) -> None:
    """Initialize from a config file; with none found, initialize for local runs.

    The file's ``admin.endpoint`` (and ``admin.api_key``) select a server; ``task.org``,
    ``task.project`` and ``task.domain`` set defaults.
    """
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
    data = read_config(path)
    admin = data.get("admin") or {}
    task = data.get("task") or {}
    image = data.get("image") or {}
    init(
        org=task.get("org"),
        project=project or task.get("project"),
        domain=domain or task.get("domain"),
        root_dir=root_dir,
        log_level=log_level,
        endpoint=admin.get("endpoint"),
        api_key=os.environ.get("FLYTE_API_KEY") or admin.get("api_key"),  # the environment wins
        insecure=bool(admin.get("insecure", False)),
        storage=storage,
        images={**(image.get("images") or {}), **(images or {})},
        source_config_path=path,
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
