"""The registry helpers of the image tests: a real container registry (Debian's ``docker-registry``)
on a loopback port and a way to push to it live in ``tests/_services.py`` (shared with tests/deploy);
this module re-exports them and adds a token server for registries with ``auth: token``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from _services import push_minimal_image, registry_server

__all__ = ["TokenIssuer", "push_minimal_image", "registry_server"]


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
