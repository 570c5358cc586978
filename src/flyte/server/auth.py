"""Who may call the server: API keys for the API, signed expiring URLs for the data proxy.

An API key is a random token shown once when it is made; the server keeps only its SHA-256 (in
``server_api_keys``) and refers to it in logs by its id, the first 12 hex digits of that hash.
Data-proxy URLs carry ``exp`` (unix seconds) and ``sig``, the hex HMAC-SHA256 of
``"{method}\\n{key}\\n{exp}"`` under the server's signing secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flyte.server.errors import Forbidden, Unauthorized
from flyte.server.schema import ensure_server_schema

try:  # the dependency below needs it; managing keys (flyte create api-key) does not
    from starlette.requests import Request
except ImportError:  # pragma: no cover
    Request = Any  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from flyte._internal.store import RunStore

logger = logging.getLogger("flyte.server")

KEY_PREFIX = "fk_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def key_id(token: str) -> str:
    """The printable id of an API key (never the key itself)."""
    return _digest(token)[:12]


class ApiKeys:
    """API keys kept as SHA-256 digests in the run store."""

    def __init__(self, store: RunStore):
        self.store = store
        ensure_server_schema(store)
        self._known: dict[str, str] = {}  # digest -> key id, for keys seen valid

    def create(self, name: str = "default") -> str:
        """Make a new key and return it; it cannot be shown again."""
        token = KEY_PREFIX + secrets.token_urlsafe(32)
        self.register(token, name)
        return token

    def register(self, token: str, name: str = "default") -> str:
        """Accept ``token`` as a key (idempotent); returns its id."""
        digest = _digest(token)
        self.store.execute_write(
            lambda c: c.execute(
                "INSERT INTO server_api_keys (id, name, sha256, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                (digest[:12], name, digest, time.time()),
            )
        )
        self._known[digest] = digest[:12]
        logger.info("API key %s (%s) registered", digest[:12], name)
        return digest[:12]

    def cached(self, token: str) -> str | None:
        """The key id if ``token`` was seen valid before (no database access)."""
        return self._known.get(_digest(token))

    def verify(self, token: str) -> str | None:
        """The key id when ``token`` is a valid key, else None."""
        digest = _digest(token)
        found = self._known.get(digest)
        if found is not None:
            return found
        rows = self.store.execute_read("SELECT id, sha256 FROM server_api_keys WHERE sha256 = ?", (digest,))
        if rows and hmac.compare_digest(rows[0][1], digest):
            self._known[digest] = rows[0][0]
            return rows[0][0]
        return None

    def count(self) -> int:
        return self.store.execute_read("SELECT COUNT(*) FROM server_api_keys")[0][0]


class UrlSigner:
    """Signs and checks data-proxy URLs."""

    def __init__(self, secret: bytes, ttl_seconds: float = 3600.0):
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def signature(self, method: str, key: str, exp: int) -> str:
        message = f"{method.upper()}\n{key}\n{exp}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def sign(self, base_url: str, method: str, key: str) -> tuple[str, float]:
        """(URL, expiry time) that allows ``method`` on ``key`` until it expires."""
        exp = int(time.time() + self.ttl_seconds)
        sig = self.signature(method, key, exp)
        return f"{base_url.rstrip('/')}/data/{quote(key, safe='/')}?exp={exp}&sig={sig}", float(exp)

    def check(self, method: str, key: str, exp: str | None, sig: str | None) -> None:
        """Raise :class:`Forbidden` unless ``sig`` signs this request and ``exp`` is in the future."""
        if not exp or not sig:
            raise Forbidden("this URL is not signed; ask the API for an upload or download URL")
        try:
            expires = int(exp)
        except ValueError:
            raise Forbidden("invalid URL signature") from None
        if not hmac.compare_digest(self.signature(method, key, expires), sig.lower()):
            raise Forbidden("invalid URL signature")
        if expires < time.time():
            raise Forbidden("this URL has expired; ask the API for a new one")


def bearer_token(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def require_api_key(request: Request) -> str:
    """FastAPI dependency: the id of the caller's valid API key, or 401."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    keys: ApiKeys = request.app.state.api_keys
    found = keys.cached(token)
    if found is None:
        found = await asyncio.to_thread(keys.verify, token)
    if found is None:
        raise Unauthorized("invalid API key")
    return found
