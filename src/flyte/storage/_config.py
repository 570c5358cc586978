"""Object-store settings given to ``flyte.init(storage=...)``: ``Storage`` and its S3/GCS/ABFS kinds.

Each has an ``auto()`` that reads the reference SDK's environment variables. Local runs keep
these settings in the init configuration and do not use them. Secret fields never appear in
``repr``: a set secret shows as ``'***'``.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass
from typing import Any, ClassVar

_MASK = "***"


def set_if_exists(d: dict, k: str, val: Any) -> dict:
    """``flyte.config.set_if_exists``, repeated here so that importing storage stays light."""
    if isinstance(val, bool) or (val is not None and val):
        d[k] = val
    return d


def _env_flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"${name} must be an integer, got {value!r}") from None


def _env_seconds(name: str, value: str | None) -> datetime.timedelta | None:
    if value is None:
        return None
    try:
        return datetime.timedelta(seconds=float(value))
    except ValueError:
        raise ValueError(f"${name} must be a number of seconds, got {value!r}") from None


@dataclass(frozen=True)
class Storage:
    """Settings that apply to every object-store provider."""

    retries: int = 3
    backoff: datetime.timedelta = datetime.timedelta(seconds=5)
    enable_debug: bool = False
    attach_execution_metadata: bool = True

    _KEY_ENV_VAR_MAPPING: ClassVar[dict[str, str]] = {
        "enable_debug": "FLYTE_STORAGE_DEBUG",
        "retries": "FLYTE_STORAGE_RETRIES",
        "backoff": "FLYTE_STORAGE_BACKOFF_SECONDS",
    }
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            shown = _MASK if f.name in self._SECRET_FIELDS and value is not None else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"

    __str__ = __repr__

    @classmethod
    def _auto_as_kwargs(cls) -> dict[str, Any]:
        names = Storage._KEY_ENV_VAR_MAPPING
        kwargs: dict[str, Any] = {}
        set_if_exists(kwargs, "enable_debug", _env_flag(os.getenv(names["enable_debug"])))
        set_if_exists(kwargs, "retries", _env_int(names["retries"], os.getenv(names["retries"])))
        set_if_exists(kwargs, "backoff", _env_seconds(names["backoff"], os.getenv(names["backoff"])))
        return kwargs

    @classmethod
    def auto(cls) -> Storage:
        """Settings from ``FLYTE_STORAGE_RETRIES``, ``FLYTE_STORAGE_BACKOFF_SECONDS`` and
        ``FLYTE_STORAGE_DEBUG``."""
        return cls(**cls._auto_as_kwargs())

    def get_fsspec_kwargs(self, anonymous: bool = False, **kwargs: Any) -> dict[str, Any]:
        """Keyword arguments for building a filesystem client with these settings."""
        retries = kwargs.pop("retries", self.retries)
        backoff = kwargs.pop("backoff", self.backoff)
        if anonymous:
            kwargs["config"] = {**kwargs.get("config", {}), "skip_signature": True}
        kwargs.setdefault(
            "retry_config",
            {
                "max_retries": retries,
                "backoff": {
                    "base": 2,
                    "init_backoff": backoff,
                    "max_backoff": datetime.timedelta(seconds=16),
                },
                "retry_timeout": datetime.timedelta(minutes=3),
            },
        )
        kwargs.setdefault("client_options", {"timeout": "99999s", "allow_http": True})
        return kwargs


@dataclass(frozen=True, repr=False)
class S3(Storage):
    """S3 (or an S3-compatible store such as MinIO)."""

    endpoint: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str | None = None
    addressing_style: str | None = None

    _KEY_ENV_VAR_MAPPING: ClassVar[dict[str, str]] = {
        "endpoint": "FLYTE_AWS_ENDPOINT",
        "access_key_id": "FLYTE_AWS_ACCESS_KEY_ID",
        "secret_access_key": "FLYTE_AWS_SECRET_ACCESS_KEY",
        "addressing_style": "FLYTE_AWS_S3_ADDRESSING_STYLE",
    } | Storage._KEY_ENV_VAR_MAPPING
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"access_key_id", "secret_access_key"})

    @classmethod
    def auto(cls, region: str | None = None) -> S3:
        """Settings from ``FLYTE_AWS_ENDPOINT``, ``FLYTE_AWS_ACCESS_KEY_ID``, ``FLYTE_AWS_SECRET_ACCESS_KEY``,
        ``FLYTE_AWS_S3_ADDRESSING_STYLE`` and the common storage variables."""
        kwargs = cls._auto_as_kwargs()
        for name in ("endpoint", "access_key_id", "secret_access_key", "addressing_style"):
            set_if_exists(kwargs, name, os.getenv(cls._KEY_ENV_VAR_MAPPING[name]))
        set_if_exists(kwargs, "region", region)
        return cls(**kwargs)

    @classmethod
    def for_sandbox(cls) -> S3:
        """The MinIO of a local Flyte sandbox (``http://localhost:4566``, its default credentials)."""
        kwargs = cls._auto_as_kwargs() | {
            "endpoint": "http://localhost:4566",
            "access_key_id": "minio",
            "secret_access_key": "miniostorage",
        }
        return cls(**kwargs)

    def get_fsspec_kwargs(self, anonymous: bool = False, **kwargs: Any) -> dict[str, Any]:
        kwargs = super().get_fsspec_kwargs(anonymous=anonymous, **kwargs)
        config: dict[str, Any] = kwargs.pop("config", {})
        key_id = kwargs.pop("access_key_id", self.access_key_id)
        secret = kwargs.pop("secret_access_key", self.secret_access_key)
        endpoint = kwargs.pop("endpoint_url", self.endpoint)
        set_if_exists(config, "access_key_id", key_id)
        set_if_exists(config, "secret_access_key", secret)
        set_if_exists(config, "endpoint", endpoint)
        if self.addressing_style:
            config["virtual_hosted_style_request"] = self.addressing_style == "virtual"
        if config:
            kwargs["config"] = config
        if self.region:
            kwargs["region"] = self.region
        return kwargs


@dataclass(frozen=True, repr=False)
class GCS(Storage):
    """Google Cloud Storage; credentials come from the environment (application default)."""

    @classmethod
    def auto(cls) -> GCS:
        return cls(**cls._auto_as_kwargs())


@dataclass(frozen=True, repr=False)
class ABFS(Storage):
    """Azure Blob Storage / Data Lake."""

    account_name: str | None = None
    account_key: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    _KEY_ENV_VAR_MAPPING: ClassVar[dict[str, str]] = {
        "account_name": "AZURE_STORAGE_ACCOUNT_NAME",
        "account_key": "AZURE_STORAGE_ACCOUNT_KEY",
        "tenant_id": "AZURE_TENANT_ID",
        "client_id": "AZURE_CLIENT_ID",
        "client_secret": "AZURE_CLIENT_SECRET",
    }
    _SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"account_key", "client_secret"})

    @classmethod
    def auto(cls) -> ABFS:
        """Settings from ``AZURE_STORAGE_ACCOUNT_NAME``, ``AZURE_STORAGE_ACCOUNT_KEY``, ``AZURE_TENANT_ID``,
        ``AZURE_CLIENT_ID`` and ``AZURE_CLIENT_SECRET``."""
        kwargs: dict[str, Any] = {}
        for name, var in cls._KEY_ENV_VAR_MAPPING.items():
            set_if_exists(kwargs, name, os.getenv(var))
        return cls(**kwargs)

    def get_fsspec_kwargs(self, anonymous: bool = False, **kwargs: Any) -> dict[str, Any]:
        kwargs = super().get_fsspec_kwargs(anonymous=anonymous, **kwargs)
        config: dict[str, Any] = kwargs.pop("config", {})
        for name in ("account_name", "account_key", "client_id", "client_secret", "tenant_id"):
            set_if_exists(config, name, kwargs.get(name, getattr(self, name)))
        if config:
            kwargs["config"] = config
        return kwargs
