"""Where S3 settings and credentials come from, in one place, without ever writing them down.

Order, first found wins, field by field:

1. the :class:`~flyte.storage.S3` given to ``flyte.init(storage=...)`` (in this process);
2. the reference's ``FLYTE_AWS_*`` variables (:meth:`S3.auto`);
3. the standard AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
   ``AWS_ENDPOINT_URL``, ``AWS_REGION``...), which obstore reads itself;
4. flyte secrets named ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` in the local secret
   store (``flyte create secret AWS_SECRET_ACCESS_KEY``), for machines that keep no keys in their
   environment.

``~/.aws`` is not needed. The values only ever go to the obstore client: they are not logged,
not put in any ``repr`` and not recorded in the run store.
"""

from __future__ import annotations

import os
from typing import Any

from flyte.errors import InitializationError
from flyte.storage._config import S3

_ENDPOINT_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
_OTHER_CREDENTIAL_VARS = (
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_METADATA_ENDPOINT",
    "AWS_SKIP_SIGNATURE",
)
"""Set when credentials come from elsewhere on purpose (a web identity, ECS/EKS, instance metadata
at a named endpoint) or when requests go unsigned (public buckets)."""
SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""Names of the flyte secrets consulted when neither the config nor the environment has keys."""


def configured_s3() -> S3:
    """The S3 settings of this process: ``flyte.init(storage=S3(...))``, else ``S3.auto()``."""
    from flyte._initialize import get_init_config, is_initialized

    if is_initialized():
        storage = get_init_config().storage
        if isinstance(storage, S3):
            return storage
    return S3.auto()


def _secret(name: str) -> str | None:
    """A flyte secret from the local store, or None when there is none (or no store)."""
    try:
        from flyte._internal.secrets import SecretStore

        store = SecretStore()
        if not store.exists(name):
            return None
        return store.get(name).decode("utf-8").strip() or None
    except Exception:  # an unreadable secret store must not stop storage from using other sources
        return None


def endpoint_of(cfg: S3) -> str | None:
    """The endpoint the client will talk to, if one is set anywhere (config or environment)."""
    if cfg.endpoint:
        return cfg.endpoint
    for var in _ENDPOINT_VARS:
        if os.environ.get(var):
            return os.environ[var]
    return None


def s3_store_kwargs(cfg: S3) -> dict[str, Any]:
    """Keyword arguments for ``obstore.store.S3Store(bucket, **kwargs)``.

    The caller must not log or keep the result: it may hold the secret key.
    """
    kwargs = cfg.get_fsspec_kwargs()
    config: dict[str, Any] = kwargs.setdefault("config", {})
    if "access_key_id" not in config and not os.environ.get("AWS_ACCESS_KEY_ID"):
        key_id, secret = (_secret(name) for name in SECRET_KEYS)
        if key_id and secret:
            config["access_key_id"] = key_id
            config["secret_access_key"] = secret
    if (
        "access_key_id" not in config
        and not os.environ.get("AWS_ACCESS_KEY_ID")
        and not any(os.environ.get(v) for v in _OTHER_CREDENTIAL_VARS)
    ):
        # Without this, the client would go looking for an EC2 instance-metadata server.
        raise InitializationError(
            "NoStorageCredentials",
            "user",
            "object storage needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(and AWS_ENDPOINT_URL for an S3-compatible server), pass flyte.storage.S3(...) to "
            "flyte.init(storage=...), or create the flyte secrets AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY",
        )
    if not config:
        kwargs.pop("config")
    endpoint = endpoint_of(cfg)
    options: dict[str, Any] = dict(kwargs.get("client_options") or {})
    # Plain http only where an endpoint says so (MinIO, moto, a local gateway); AWS itself is https.
    options["allow_http"] = bool(endpoint and endpoint.lower().startswith("http://"))
    kwargs["client_options"] = options
    return kwargs
