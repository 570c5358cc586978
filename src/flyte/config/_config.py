"""``Config``: what a config file (with environment overrides) says about where runs go.

The file's layout::

    admin:
      endpoint: http://127.0.0.1:8090   # no endpoint: runs execute on this machine
      api_key: ...                      # flyte-engine's server authentication
      insecure: false
    task:
      org: ...
      project: ...
      domain: ...
    image:
      builder: local
      image_refs: {name: uri}           # ``images`` is accepted too
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flyte.config._reader import ConfigFile, get_config_file, read_entry


def set_if_exists(d: dict, k: str, val: Any) -> dict:
    """Set ``d[k] = val`` when ``val`` is given (a bool, or anything not None and not empty); return ``d``."""
    if isinstance(val, bool) or (val is not None and val):
        d[k] = val
    return d


def _as_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _as_list(value: Any, *, argv: bool) -> list[str] | None:
    """A list from YAML as is; from an environment string, a JSON array or a command line."""
    if value is None or isinstance(value, list):
        return value
    text = str(value).strip()
    if not text:
        return None
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return [str(x) for x in parsed]
    return shlex.split(text) if argv else [p for p in text.replace(",", " ").split() if p]


@dataclass(frozen=True)
class PlatformConfig:
    """How to reach a control plane. No ``endpoint`` means runs execute on this machine."""

    endpoint: str | None = None
    insecure: bool = False
    insecure_skip_verify: bool = False
    ca_cert_file_path: str | None = None
    console_endpoint: str | None = None
    command: list[str] | None = None
    proxy_command: list[str] | None = None
    client_id: str | None = None
    client_credentials_secret: str | None = field(default=None, repr=False)
    scopes: list[str] = field(default_factory=list)
    auth_mode: str = "Pkce"
    audience: str | None = None
    rpc_retries: int = 3
    http_proxy_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    """flyte-engine's server API key (``admin.api_key``); not in the reference SDK."""

    @classmethod
    def auto(cls, config_file: str | ConfigFile | None = None) -> PlatformConfig:
        """Read the ``admin.*`` (and ``console.endpoint``) entries, environment overrides first."""
        cfg = get_config_file(config_file)
        kwargs: dict[str, Any] = {}
        set_if_exists(kwargs, "endpoint", read_entry(cfg, "admin.endpoint"))
        set_if_exists(kwargs, "insecure", _as_bool(read_entry(cfg, "admin.insecure")))
        set_if_exists(kwargs, "insecure_skip_verify", _as_bool(read_entry(cfg, "admin.insecureSkipVerify")))
        set_if_exists(kwargs, "ca_cert_file_path", read_entry(cfg, "admin.caCertFilePath"))
        set_if_exists(kwargs, "console_endpoint", read_entry(cfg, "console.endpoint"))
        set_if_exists(kwargs, "command", _as_list(read_entry(cfg, "admin.command"), argv=True))
        set_if_exists(kwargs, "proxy_command", _as_list(read_entry(cfg, "admin.proxyCommand"), argv=True))
        set_if_exists(kwargs, "client_id", read_entry(cfg, "admin.clientId"))
        set_if_exists(kwargs, "scopes", _as_list(read_entry(cfg, "admin.scopes"), argv=False))
        set_if_exists(kwargs, "auth_mode", read_entry(cfg, "admin.authType"))
        set_if_exists(kwargs, "http_proxy_url", read_entry(cfg, "admin.httpProxyURL"))
        set_if_exists(kwargs, "api_key", read_entry(cfg, "admin.api_key"))
        secret = _client_secret(cfg)
        if secret:
            kwargs["client_credentials_secret"] = secret
            kwargs["auth_mode"] = "ClientSecret"
        return cls(**kwargs)

    def replace(self, **kwargs: Any) -> PlatformConfig:
        """A copy with the given fields replaced."""
        return dataclasses.replace(self, **kwargs)

    @classmethod
    def for_endpoint(cls, endpoint: str, insecure: bool = False) -> PlatformConfig:
        return cls(endpoint=endpoint, insecure=insecure)


def _client_secret(cfg: ConfigFile | None) -> str | None:
    """The client secret from ``admin.clientSecretLocation`` (a file) or ``admin.clientSecretEnvVar``."""
    location = read_entry(cfg, "admin.clientSecretLocation")
    if location:
        return Path(location).expanduser().read_text().strip() or None
    var = read_entry(cfg, "admin.clientSecretEnvVar")
    return (os.environ.get(var) or None) if var else None


@dataclass(frozen=True)
class TaskConfig:
    """Default org, project and domain for runs and deployments (``task.*``)."""

    org: str | None = None
    project: str | None = None
    domain: str | None = None

    @classmethod
    def auto(cls, config_file: str | ConfigFile | None = None) -> TaskConfig:
        cfg = get_config_file(config_file)
        kwargs: dict[str, Any] = {}
        for name in ("org", "project", "domain"):
            set_if_exists(kwargs, name, read_entry(cfg, f"task.{name}"))
        return cls(**kwargs)


@dataclass(frozen=True)
class ImageConfig:
    """Image builder and named image references (``image.builder``, ``image.image_refs``)."""

    builder: str | None = None
    image_refs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def auto(cls, config_file: str | ConfigFile | None = None) -> ImageConfig:
        cfg = get_config_file(config_file)
        kwargs: dict[str, Any] = {}
        set_if_exists(kwargs, "builder", read_entry(cfg, "image.builder"))
        refs: dict[str, str] = {}
        for key in ("image.images", "image.image_refs"):  # ours, then the reference's name
            value = cfg.get(key) if cfg is not None else None
            if isinstance(value, dict):
                refs.update({str(k): str(v) for k, v in value.items()})
        set_if_exists(kwargs, "image_refs", refs)
        return cls(**kwargs)


@dataclass(frozen=True)
class Config:
    """Everything a config file says: platform, task defaults, images, and where it came from."""

    platform: PlatformConfig = field(default_factory=PlatformConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    source: Path | None = None

    def with_params(
        self,
        platform: PlatformConfig | None = None,
        task: TaskConfig | None = None,
        image: ImageConfig | None = None,
    ) -> Config:
        """A copy with the given parts replaced."""
        return Config(
            platform=platform or self.platform,
            task=task or self.task,
            image=image or self.image,
            source=self.source,
        )

    @classmethod
    def auto(cls, config_file: str | Path | ConfigFile | None = None) -> Config:
        """Read ``config_file`` (or the one the search order finds); defaults when there is none."""
        cfg = get_config_file(config_file)
        if cfg is None:
            return cls()
        return cls(
            platform=PlatformConfig.auto(cfg),
            task=TaskConfig.auto(cfg),
            image=ImageConfig.auto(cfg),
            source=cfg.path,
        )


def auto(config_file: str | Path | ConfigFile | None = None) -> Config:
    """The Config of ``config_file``, or of the file found by the search order (see the module)."""
    return Config.auto(config_file)
