"""Settings of one control-plane server, with the defaults ``flyte start devbox`` uses.

Everything lives under ``<FLYTE_HOME>/server`` unless told otherwise: the database
(``runs.db``), uploaded data (``data/``), values too large for a row (``blobs/``), worker logs
(``logs/``) and the secret that signs data-proxy URLs (``signing.key``, mode 0600).

With ``storage_url`` (``flyte start devbox --storage s3://bucket/prefix``) the data lives in object
storage instead: code bundles and uploads under the prefix, task data under ``<prefix>/data``,
large values under ``<prefix>/blobs``. The data proxy then hands out presigned URLs of the store.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flyte._internal.run_config import flyte_home

if TYPE_CHECKING:
    from flyte._internal.store import RunStore
    from flyte.storage import BlobStore

SIGNING_KEY_FILE = "signing.key"
EXECUTORS = ("processes", "ray")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    try:
        path.chmod(0o700)
    except OSError:
        pass
    return path


@dataclass
class ServerSettings:
    """How to run the control plane. Unset fields get their defaults from ``home``."""

    host: str = "127.0.0.1"
    port: int = 8080
    db_url: str | None = None
    """``sqlite:///PATH`` or ``postgresql://USER@HOST:PORT/DB``; default ``<home>/server/runs.db``."""
    storage_dir: Path | None = None
    """Where the data proxy keeps uploaded objects; default ``<home>/server/data``."""
    storage_url: str | None = None
    """An object-store URL (``s3://bucket/prefix``) for all data instead of ``storage_dir``.
    Credentials come from the environment or flyte secrets (see :mod:`flyte.storage`)."""
    workers: int | None = None
    """Worker processes of the default executor; default: one per CPU."""
    home: Path = field(default_factory=flyte_home)
    lease_seconds: float = 30.0
    """How long a claimed action stays with its worker without a heartbeat (workers beat every 5 s)."""
    max_system_retries: int = 3
    """Extra attempts an action gets when its worker is lost (lease expired, server restarted);
    these do not use up the task's own ``retries``."""
    url_ttl_seconds: float = 3600.0
    """Lifetime of signed data-proxy URLs."""
    max_upload_bytes: int = 10 * 1024**3
    public_url: str | None = None
    """Base URL that clients and workers use to reach this server (signed URLs, run URLs);
    default ``http://<host>:<port>`` (``127.0.0.1`` when bound to all interfaces)."""
    trigger_time_scale: float = 1.0
    """How many times faster than the wall clock trigger time runs (``--trigger-time-scale``):
    at 60, ``FixedRate(1)`` fires every second (docs/deploy.md)."""
    worker_command: list[str] | None = None
    """The worker program; ``--endpoint/--api-key/--worker-id`` are appended.
    Default ``[sys.executable, "-m", "flyte._bin.worker"]``."""
    executor: str = "processes"
    """Where attempts run: ``"processes"`` (worker processes on this host) or ``"ray"`` (a Ray
    cluster, docs/ray.md)."""
    ray_address: str | None = None
    """``HOST:PORT`` of the Ray cluster's head (``--ray-address``); None starts a local Ray."""
    ray_default_cpus: float = 1.0
    """``num_cpus`` of the Ray task of an action whose task sets no ``cpu`` (Ray's own default)."""

    def __post_init__(self) -> None:
        self.home = Path(self.home).expanduser().absolute()
        server_dir = self.home / "server"
        if self.db_url is None:
            self.db_url = f"sqlite:///{(server_dir / 'runs.db').resolve()}"
        self.storage_dir = (
            Path(self.storage_dir).expanduser().absolute() if self.storage_dir else server_dir / "data"
        )
        if self.storage_url is not None:
            from flyte.storage._object import split_url

            scheme, bucket, prefix = split_url(self.storage_url)  # refuses a bad URL at start
            self.storage_url = f"{scheme}://{bucket}" + (f"/{prefix}" if prefix else "")
        if self.workers is None:
            self.workers = os.cpu_count() or 1
        if self.worker_command is None:
            self.worker_command = [sys.executable, "-m", "flyte._bin.worker"]
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor: {self.executor!r} is not known; use one of {', '.join(EXECUTORS)}")

    # -- derived locations ------------------------------------------------------------------------

    @property
    def server_dir(self) -> Path:
        return self.home / "server"

    @property
    def blob_dir(self) -> Path:
        """Values too large for a database row (inputs, outputs)."""
        return self.server_dir / "blobs"

    @property
    def log_dir(self) -> Path:
        """One log file per worker process."""
        return self.server_dir / "logs"

    @property
    def raw_data_dir(self) -> Path:
        """Where tasks write their files (served by the data proxy under the key prefix ``data/``)."""
        assert self.storage_dir is not None
        return self.storage_dir / "data"

    @property
    def raw_data_path(self) -> str:
        """Where tasks write their files, as given to workers: ``raw_data_dir`` or ``<storage_url>/data``."""
        return f"{self.storage_url}/data" if self.storage_url else str(self.raw_data_dir)

    @property
    def storage_location(self) -> str:
        """The root of the data proxy's objects, as a path or URL (for humans)."""
        return self.storage_url or str(self.storage_dir)

    def data_store(self) -> BlobStore:
        """The store behind the data proxy: the object store of ``storage_url``, else ``storage_dir``."""
        from flyte.storage import store_for_url

        return store_for_url(self.storage_url or str(self.storage_dir))

    @property
    def endpoint(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def owner(self) -> str:
        """The ``owner`` recorded on runs this server executes."""
        return f"server:{self.host}:{self.port}"

    # -- resources --------------------------------------------------------------------------------

    def open_store(self) -> RunStore:
        """The run store named by ``db_url`` (SQLite file or PostgreSQL database)."""
        from flyte._internal.store import RunStore

        assert self.db_url is not None
        if self.db_url.startswith("sqlite:///"):
            store = RunStore(Path(self.db_url[len("sqlite:///") :]))
        else:
            from flyte._internal.store import store_for_url

            store = store_for_url(self.db_url, blob_dir=self.blob_dir)
        if self.storage_url:  # large inputs and outputs go to the bucket too
            from flyte.storage import store_for_url as blob_store_for

            store.blobs = blob_store_for(f"{self.storage_url}/blobs")
        return store

    def signing_secret(self) -> bytes:
        """The key that signs data-proxy URLs: created once (mode 0600), then reused."""
        path = _private_dir(self.server_dir) / SIGNING_KEY_FILE
        try:
            return bytes.fromhex(path.read_text().strip())
        except FileNotFoundError:
            pass
        value = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return bytes.fromhex(path.read_text().strip())
        with os.fdopen(fd, "w") as f:
            f.write(value.hex())
        return value

    def check_bind(self, have_api_key: bool) -> None:
        """Refuse to listen beyond this machine unless API keys protect the server."""
        if not is_loopback(self.host) and not have_api_key:
            raise ValueError(
                f"refusing to listen on {self.host!r} (reachable from other machines) without an API key;"
                " create one first with 'flyte create api-key' (or start once on 127.0.0.1, which"
                " makes the devbox's key), or bind to 127.0.0.1"
            )
