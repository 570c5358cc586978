"""Who may use the console: a session cookie made from an API key, and CSRF tokens for its buttons.

On the control plane a browser signs in once with an API key. The server answers with a cookie
``flyte_console = "<key id>.<expiry>.<hmac>"``, signed with the server's signing secret
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind https); the key itself is never stored in
the browser. A session stays valid until it expires or its key is deleted.

Every form that changes something (abort, rerun, sign out) carries a CSRF token, the HMAC of the
session cookie under the same secret, and the server refuses a POST whose token does not match,
or whose ``Origin`` is another site. ``flyte start ui`` has no sign-in (it binds 127.0.0.1 only)
but keeps the CSRF check, and refuses requests whose ``Host`` is not a loopback name, so that
another web page cannot drive it through the browser (DNS rebinding).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "flyte_console"
SESSION_SECONDS = 12 * 3600.0
KEY_RECHECK_SECONDS = 30.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})


class Sessions:
    """Makes and checks session cookies and CSRF tokens under one secret."""

    def __init__(self, secret: bytes | None = None, ttl_seconds: float = SESSION_SECONDS):
        self._secret = secret or secrets.token_bytes(32)
        self.ttl_seconds = ttl_seconds
        self._key_seen: dict[str, float] = {}  # key id -> when it was last found in the store

    def _sign(self, message: str) -> str:
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def make(self, key_id: str) -> str:
        """A session cookie for the holder of API key ``key_id``."""
        exp = int(time.time() + self.ttl_seconds)
        return f"{key_id}.{exp}.{self._sign(f'session|{key_id}|{exp}')}"

    def key_of(self, cookie: str | None) -> str | None:
        """The key id of a valid, unexpired session cookie, else None."""
        parts = (cookie or "").split(".")
        if len(parts) != 3:
            return None
        key, exp, sig = parts
        if not hmac.compare_digest(self._sign(f"session|{key}|{exp}"), sig):
            return None
        try:
            if int(exp) < time.time():
                return None
        except ValueError:
            return None
        return key

    def csrf(self, cookie: str | None) -> str:
        """The CSRF token of the forms shown with this session (the local console has none: '')."""
        return self._sign(f"csrf|{cookie or ''}")[:40]

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(cookie), token or "")

    def key_recently_seen(self, key: str) -> bool:
        return time.monotonic() - self._key_seen.get(key, -1e9) < KEY_RECHECK_SECONDS

    def saw_key(self, key: str) -> None:
        self._key_seen[key] = time.monotonic()


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (``Origin`` or ``Referer``)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def loopback_host(request: Request) -> bool:
    """True when the ``Host`` header names this machine's loopback interface."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name in LOOPBACK_HOSTS or name.startswith("127.")
