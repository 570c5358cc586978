"""A real S3-compatible server for tests: moto in server mode on a free loopback port.

It runs as a subprocess in its own process group and is stopped (the whole group) by whoever
started it. Every bucket and credential is made up for the test session.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

ACCESS_KEY_ID = "AKIAFLYTETESTKEY0001"
SECRET_ACCESS_KEY = "flyte-test-secret-Zq8v3NcR9wXk2pLm7sTb"
"""Made up; tests search logs and databases for it to prove credentials are never recorded."""
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    pid: int

    @property
    def env(self) -> dict[str, str]:
        """The standard AWS variables pointing a client at this server."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": REGION,
        }

    def create_bucket(self, name: str) -> None:
        """Create a bucket (moto's server accepts unsigned requests)."""
        r = httpx.put(f"{self.endpoint}/{name}")
        assert r.status_code in (200, 409), r.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[S3Server]:
    """Start ``python -m moto.server`` on 127.0.0.1; yield it; stop its process group."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        import pytest

        pytest.skip("moto[server] is not installed (pip install 'flyte-engine[test]')")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped as one below
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield S3Server(endpoint, proc.pid)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def list_bucket(server: S3Server, bucket: str, prefix: str = "") -> list[str]:
    """Every key in ``bucket`` under ``prefix``, listed with obstore (as the engine sees them)."""
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        bucket,
        endpoint=server.endpoint,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region=REGION,
        client_options={"allow_http": True},
    )
    return sorted(m["path"] for batch in obstore.list(store, prefix or None) for m in batch)
