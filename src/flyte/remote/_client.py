"""The HTTP client of the control-plane API (``docs/control-plane.md``).

``ApiClient`` holds one sync and one async httpx client for the same endpoint and key. Every
request goes through the same two steps:

1. **retry**: connection failures and 5xx / 429 answers are retried with exponential backoff for
   up to ``retry_for`` seconds (60 by default), so a server restart in the middle of a run is
   ridden out; until the server has answered once, for only ``first_contact_for`` seconds (2 by
   default), so that a server that is not there at all is reported at once;
2. **map**: any other failure becomes a ``flyte.errors`` exception in :func:`error_for` -- the one
   place HTTP errors are translated.

API calls carry ``Authorization: Bearer <key>``; data-proxy URLs are signed and get no key, so a
signed URL pointing at another host never sees it. The key is never logged nor shown in a repr.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
import sys
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from flyte.errors import (
    ActionNotFoundError,
    InitializationError,
    RuntimeUserError,
    SlowDownError,
    UnionRpcError,
)

logger = logging.getLogger("flyte.remote")

RETRY_FOR_SECONDS = 60.0
FIRST_CONTACT_SECONDS = 2.0
"""How long a request keeps being retried while the server is unreachable or failing."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FIRST_BACKOFF = 0.1
MAX_BACKOFF = 2.0
DEFAULT_TIMEOUT = 30.0
"""Seconds for one ordinary request; long polls add their own wait on top."""
LONG_POLL_SLACK = 15.0
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "0.0.0.0")
MAX_CONNECTIONS = 16
"""Connections for short requests (more requests wait for one)."""


def _note_missing_sniffio() -> None:
    """httpcore tries ``import sniffio`` before every async request; when it is not installed each
    try searches the whole of sys.path (~0.2 ms). Recording its absence once makes it fail at once;
    anyio and httpcore both work without it."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def normalize_endpoint(endpoint: str, insecure: bool = False) -> str:
    """``host:port`` -> ``http(s)://host:port`` (plain http for local hosts or ``insecure``)."""
    endpoint = endpoint.strip().rstrip("/")
    if endpoint.startswith("dns:///"):
        endpoint = endpoint[len("dns:///") :]
    if "://" not in endpoint:
        host = endpoint.split("/")[0].rsplit(":", 1)[0]
        scheme = "http" if insecure or host in LOCAL_HOSTS else "https"
        endpoint = f"{scheme}://{endpoint}"
    return endpoint


def data_path(key: str) -> str:
    """The API path naming storage ``key`` (each segment URL-quoted, slashes kept)."""
    return "/api/v1/data/" + quote(key, safe="/")


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # request validation errors: [{"loc": [...], "msg": ...}, ...]
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" if isinstance(d, dict) else str(d)
            for d in detail
        )
    return str(detail)


def error_for(response: httpx.Response, endpoint: str) -> Exception:
    """The ``flyte.errors`` exception for an unsuccessful answer of the control plane."""
    status = response.status_code
    detail = _detail(response)
    what = f"{response.request.method} {response.request.url.path}"
    if status == 401:
        return InitializationError(
            "Unauthenticated",
            "user",
            f"The control plane at {endpoint} refused the request ({detail}). Give it a valid API key: "
            "set FLYTE_API_KEY, put admin.api_key in .flyte/config.yaml (`flyte create config --devbox` "
            "writes one for a local devbox), or call flyte.init(endpoint=..., api_key=...).",
        )
    if status == 403:
        return UnionRpcError("Forbidden", f"{what} was refused by {endpoint}: {detail}")
    if status == 404:
        return ActionNotFoundError(detail or f"{what}: not found")
    if status == 409:
        return RuntimeUserError("Conflict", detail)
    if status == 429:
        return SlowDownError(f"{endpoint} asked to slow down: {detail}")
    if status in (400, 413, 422):
        return RuntimeUserError("BadRequest", f"{what} was rejected by {endpoint}: {detail}")
    if status >= 500:
        return UnionRpcError("ServerError", f"{what} failed on {endpoint} ({status}): {detail}")
    return UnionRpcError(f"HTTP{status}", f"{what} answered {status} from {endpoint}: {detail}")


def unreachable(endpoint: str, error: Exception, waited: float) -> UnionRpcError:
    return UnionRpcError(
        "Unreachable",
        f"Cannot reach the control plane at {endpoint} (gave up after {waited:.0f}s): "
        f"{type(error).__name__}: {error or 'no answer'}. Is the server running (`flyte start devbox`)?",
    )


class _Backoff:
    """Delays between tries of one request; None once ``budget`` seconds have gone by."""

    __slots__ = ("_budget", "_started", "_delay", "tries")

    def __init__(self, budget: float):
        self._budget = budget
        self._started = time.monotonic()
        self._delay = FIRST_BACKOFF
        self.tries = 0

    @property
    def budget(self) -> float:
        return self._budget

    @property
    def waited(self) -> float:
        return time.monotonic() - self._started

    def next_delay(self) -> float | None:
        left = self._budget - self.waited
        if left <= 0:
            return None
        delay = min(self._delay * (0.5 + random.random()), left)
        self._delay = min(self._delay * 2, MAX_BACKOFF)
        self.tries += 1
        return delay


class ApiClient:
    """Talks to one control-plane server, from sync code (``call``) or async code (``acall``).

    ``transport`` replaces the network (``httpx.MockTransport`` in tests). The async client is
    bound to the event loop that first uses it; use one ``ApiClient`` per loop for async calls.
    """

    def __init__(
        self,
        endpoint: str,
        api_key: str | None = None,
        *,
        insecure: bool = False,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        retry_for: float = RETRY_FOR_SECONDS,
        timeout: float = DEFAULT_TIMEOUT,
        first_contact_for: float = FIRST_CONTACT_SECONDS,
    ):
        self.endpoint = normalize_endpoint(endpoint, insecure)
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._transport = transport
        self.retry_for = retry_for
        self.first_contact_for = first_contact_for
        self._reached = False  # set by the first answer of the server, whatever its status
        self.timeout = timeout
        self._sync: dict[bool, httpx.Client] = {}
        self._async: dict[bool, httpx.AsyncClient] = {}
        self._semaphore: asyncio.Semaphore | None = None

    def __repr__(self) -> str:
        return f"ApiClient(endpoint={self.endpoint!r})"

    # -- the httpx clients ------------------------------------------------------------------------
    # Short requests share a bounded pool (httpcore scans its whole pool for every request, so a
    # pool that grew to hundreds of connections makes each request slow); long polls get their own
    # unbounded pool, so that waiting never holds up the requests that make progress.

    def _limits(self, poll: bool) -> httpx.Limits:
        if poll:
            return httpx.Limits(max_connections=None, max_keepalive_connections=32)
        return httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)

    def _sync_client(self, poll: bool) -> httpx.Client:
        client = self._sync.get(poll)
        if client is None:
            client = self._sync[poll] = httpx.Client(
                base_url=self.endpoint,
                transport=self._transport,  # type: ignore[arg-type]
                limits=self._limits(poll),
                timeout=httpx.Timeout(self.timeout, pool=None),
            )
        return client

    def _async_client(self, poll: bool) -> httpx.AsyncClient:
        client = self._async.get(poll)
        if client is None:
            _note_missing_sniffio()
            client = self._async[poll] = httpx.AsyncClient(
                base_url=self.endpoint,
                transport=self._transport,  # type: ignore[arg-type]
                limits=self._limits(poll),
                timeout=httpx.Timeout(self.timeout, pool=None),
            )
        return client

    def _slots(self) -> asyncio.Semaphore:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(MAX_CONNECTIONS)
        return self._semaphore

    def close(self) -> None:
        for client in self._sync.values():
            client.close()
        self._sync.clear()

    async def aclose(self) -> None:
        for client in self._async.values():
            await client.aclose()
        self._async.clear()
        self.close()

    # -- requests with retries and error mapping ---------------------------------------------------

    def _build(
        self, method: str, url: str, auth: bool, poll: float | None, json: Any, params: Any, content: Any
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"headers": self._auth if auth else None}
        if json is not None:
            kwargs["json"] = json
        if params is not None:
            kwargs["params"] = params
        if content is not None:
            kwargs["content"] = content
        if poll is not None:
            kwargs["timeout"] = httpx.Timeout(self.timeout + poll + LONG_POLL_SLACK, pool=None)
        return kwargs

    def _retry_or_raise(self, backoff: _Backoff, method: str, url: str, error: Exception) -> float:
        delay = backoff.next_delay()
        if delay is None:
            if isinstance(error, httpx.HTTPError):
                raise unreachable(self.endpoint, error, backoff.waited) from None
            raise error
        if backoff.tries == 1 and self._reached:  # a first contact fails in one line, not two
            logger.warning("%s %s: %s; retrying for up to %.0fs", method, url, error, backoff.budget)
        return delay

    def _backoff(self) -> _Backoff:
        return _Backoff(self.retry_for if self._reached else min(self.retry_for, self.first_contact_for))

    def request(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        poll: float | None = None,
        json: Any = None,
        params: Any = None,
        content: Any = None,
    ) -> httpx.Response:
        """Send one request (retried as described above) and return its successful response."""
        client = self._sync_client(poll is not None)
        kwargs = self._build(method, url, auth, poll, json, params, content)
        backoff = self._backoff()
        while True:
            try:
                response = client.request(method, url, **kwargs)
            except httpx.TransportError as e:
                time.sleep(self._retry_or_raise(backoff, method, url, e))
                continue
            self._reached = True
            if response.is_success:
                return response
            error = error_for(response, self.endpoint)
            if response.status_code not in RETRY_STATUSES:
                raise _flag_retried(error, backoff)
            time.sleep(self._retry_or_raise(backoff, method, url, error))

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        auth: bool = True,
        poll: float | None = None,
        json: Any = None,
        params: Any = None,
        content: Any = None,
    ) -> httpx.Response:
        """The async twin of :meth:`request`."""
        client = self._async_client(poll is not None)
        kwargs = self._build(method, url, auth, poll, json, params, content)
        backoff = self._backoff()
        while True:
            try:
                if poll is None:
                    async with self._slots():  # queue here, not in httpcore (its queue is quadratic)
                        response = await client.request(method, url, **kwargs)
                else:
                    response = await client.request(method, url, **kwargs)
            except httpx.TransportError as e:
                await asyncio.sleep(self._retry_or_raise(backoff, method, url, e))
                continue
            self._reached = True
            if response.is_success:
                return response
            error = error_for(response, self.endpoint)
            if response.status_code not in RETRY_STATUSES:
                raise _flag_retried(error, backoff)
            await asyncio.sleep(self._retry_or_raise(backoff, method, url, error))

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """An API call: the decoded JSON answer (None for an empty body)."""
        return _json(self.request(method, path, **kwargs))

    async def acall(self, method: str, path: str, **kwargs: Any) -> Any:
        return _json(await self.arequest(method, path, **kwargs))

    # -- the data proxy --------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        """Whether storage ``key`` exists (``HEAD /api/v1/data/{key}``)."""
        return _exists(lambda: self.request("HEAD", data_path(key)))

    async def aexists(self, key: str) -> bool:
        try:
            await self.arequest("HEAD", data_path(key))
        except ActionNotFoundError:
            return False
        return True

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Store ``data`` under ``key`` through a signed upload URL."""
        signed = self.call("POST", "/api/v1/data/upload-url", json={"key": key})
        return _json(self.request("PUT", signed["url"], auth=False, content=data))

    async def aupload(self, key: str, data: bytes) -> dict[str, Any]:
        signed = await self.acall("POST", "/api/v1/data/upload-url", json={"key": key})
        return _json(await self.arequest("PUT", signed["url"], auth=False, content=data))

    def download(self, key: str) -> bytes:
        """The bytes stored under ``key``, through a signed download URL."""
        signed = self.call("POST", "/api/v1/data/download-url", json={"key": key})
        return self.request("GET", signed["url"], auth=False).content

    async def adownload(self, key: str) -> bytes:
        signed = await self.acall("POST", "/api/v1/data/download-url", json={"key": key})
        return (await self.arequest("GET", signed["url"], auth=False)).content


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise UnionRpcError(
            "BadResponse", f"{response.request.method} {response.request.url.path} did not answer JSON"
        ) from None


def _exists(send: Callable[[], Any]) -> bool:
    try:
        send()
    except ActionNotFoundError:
        return False
    return True


def _flag_retried(error: Exception, backoff: _Backoff) -> Exception:
    """Mark an error that followed retries: a 409 then may mean our own earlier try got through."""
    error.retried = backoff.tries > 0  # type: ignore[attr-defined]
    return error
