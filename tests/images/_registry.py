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


def registry_server(root: Path, htpasswd: Path | None = None, auth_block: str = "") -> Iterator[str]:
    """Start a registry storing its data under ``root``; yield ``127.0.0.1:<port>``; stop it afterwards.

    ``htpasswd`` turns on Basic auth; ``auth_block`` is any other ``auth:`` config (token auth).
    """
    binary = REGISTRY_BINARY if Path(REGISTRY_BINARY).exists() else shutil.which("docker-registry")
    if binary is None:
        import pytest

        pytest.skip(
            "Debian's docker-registry is not installed (apt-get install docker-registry; .ci/run does)"
        )
    port = _free_port()
    auth = auth_block
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


def push_minimal_image(
    address: str, uri: str, auth: tuple[str, str] | None = None, token: str | None = None
) -> None:
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
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(auth=auth, headers=headers, timeout=10) as client:
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


# -- token auth (the Bearer flow of ghcr.io, Docker Hub and most hosted registries) -------------------


class TokenIssuer:
    """A token server for a registry with ``auth: token``: signs JWTs granting whatever scope is asked.

    It runs an HTTP server on a loopback port (in a thread) and is stopped by :meth:`close`.
    """

    service = "flyte-test-registry"
    issuer = "flyte-test-issuer"

    def __init__(self, root: Path):
        import base64
        import datetime
        import http.server
        import threading

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
        from cryptography.x509.oid import NameOID

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flyte-test-token-issuer")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = root / "token-cert.pem"
        self.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.requests: list[dict[str, str]] = []
        issuer = self

        def b64url(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        def token_for(scope: str) -> str:
            access = []
            if scope:
                kind, repo, actions = scope.split(":")
                access.append({"type": kind, "name": repo, "actions": actions.split(",")})
            t = int(time.time())
            claims = {"iss": self.issuer, "sub": "flyte", "aud": self.service, "exp": t + 300, "nbf": t - 10,
                      "iat": t, "jti": str(t), "access": access}  # fmt: skip
            header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
            signing = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
            signature = self._key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
            return f"{signing}.{b64url(signature)}"

        self.token_for = token_for

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                from urllib.parse import parse_qs, urlparse

                query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
                issuer.requests.append(query)
                body = json.dumps({"token": token_for(query.get("scope", ""))}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def registry_auth(self) -> str:
        """The ``auth:`` block of the registry's config."""
        return (
            f"auth:\n  token:\n    realm: {self.realm}\n    service: {self.service}\n"
            f"    issuer: {self.issuer}\n    rootcertbundle: {self.cert_path}\n"
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
