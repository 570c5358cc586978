"""A real container registry (Debian's ``docker-registry``) on a loopback port, and a way to push to it.

``.ci/run`` installs the package; a machine without it skips these tests with a message saying so.
:func:`push_minimal_image` uploads a config blob and an empty layer through the Registry HTTP API
and puts a manifest, which is all a registry needs for a tag to exist.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REGISTRY_BINARY = "/usr/bin/docker-registry"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_server(root: Path, htpasswd: Path | None = None) -> Iterator[str]:
    """Start a registry storing its data under ``root``; yield ``127.0.0.1:<port>``; stop it afterwards."""
    binary = REGISTRY_BINARY if Path(REGISTRY_BINARY).exists() else shutil.which("docker-registry")
    if binary is None:
        import pytest

        pytest.skip(
            "Debian's docker-registry is not installed (apt-get install docker-registry; .ci/run does)"
        )
    port = _free_port()
    auth = ""
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: flyte-test\n    path: {htpasswd}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth,
        encoding="utf-8",
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # 200 without auth, 401 with it: either way the registry answers.
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _upload_blob(client: httpx.Client, base: str, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = client.post(f"{base}/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    if location.startswith("/"):
        location = base + location
    # The upload URL carries the registry's own query (its upload state): append the digest to it.
    done = client.put(
        location + ("&" if "?" in location else "?") + f"digest={digest}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    return digest


def _empty_layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w"):
        pass
    return gzip.compress(raw.getvalue(), mtime=0)


def push_minimal_image(address: str, uri: str, auth: tuple[str, str] | None = None) -> None:
    """Make ``uri`` (``<address>/<repository>:<tag>``) exist in the registry at ``address``."""
    assert uri.startswith(address + "/"), uri
    repository, tag = uri[len(address) + 1 :].rsplit(":", 1)
    base = f"http://{address}"
    layer = _empty_layer()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()],
            },
            "config": {},
        }
    ).encode()
    with httpx.Client(auth=auth, timeout=10) as client:
        config_digest = _upload_blob(client, base, repository, config)
        layer_digest = _upload_blob(client, base, repository, layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        put = client.put(
            f"{base}/v2/{repository}/manifests/{tag}",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201, put.text
