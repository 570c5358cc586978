"""Ask a container registry whether an image tag exists (the image cache), over the Registry HTTP API v2.

``HEAD /v2/<name>/manifests/<tag>`` answers 200 when the tag exists and 404 when it does not. A
registry that wants credentials answers 401 with a ``WWW-Authenticate`` challenge:

- ``Bearer realm=...,service=...,scope=...``: a token is fetched from the realm (with the user's
  credentials when there are any, anonymously otherwise) and the request is repeated with it;
- ``Basic``: the request is repeated with the user's credentials.

Credentials come from ``FLYTE_REGISTRY_USERNAME`` / ``FLYTE_REGISTRY_PASSWORD``, else from the
Docker client's ``config.json`` (``$DOCKER_CONFIG`` or ``~/.docker``, plain ``auths`` entries).
Loopback registries (``localhost``, ``127.x``, ``[::1]``) and the hosts listed in
``FLYTE_REGISTRY_INSECURE`` (comma-separated) are spoken to over plain http, every other over https.

The answer is ``True``, ``False`` or ``None`` when the registry could not tell (unreachable, refused
credentials, unexpected status); :attr:`Lookup.reason` then says why. No credential is ever logged
or put in a message.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import httpx

__all__ = ["ImageRef", "Lookup", "manifest_exists", "parse_image_ref"]

DOCKER_HUB = "registry-1.docker.io"
_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class ImageRef:
    """An image reference split into the parts the registry API needs."""

    registry: str
    """Host and optional port, e.g. ``localhost:5000`` or ``ghcr.io``."""
    repository: str
    """The path inside the registry, e.g. ``my-org/my-image``."""
    reference: str
    """The tag, or a ``sha256:...`` digest."""

    @property
    def scheme(self) -> str:
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else self.registry
        insecure = {h.strip() for h in os.environ.get("FLYTE_REGISTRY_INSECURE", "").split(",") if h.strip()}
        loopback = host in ("localhost", "[::1]") or host.startswith("127.") or host.startswith("[::1]")
        return "http" if loopback or self.registry in insecure or host in insecure else "https"

    @property
    def manifest_url(self) -> str:
        return f"{self.scheme}://{self.registry}/v2/{self.repository}/manifests/{self.reference}"


def parse_image_ref(uri: str) -> ImageRef:
    """Split ``[registry/]repository[:tag|@digest]`` the way the Docker client does.

    The first path part is a registry when it has a ``.`` or a ``:`` or is ``localhost``; otherwise
    the image is on Docker Hub (and a one-part name lives under ``library/``). No tag means ``latest``.
    """
    rest = uri.strip()
    reference = "latest"
    if "@" in rest:
        rest, reference = rest.split("@", 1)
    else:
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, reference = rest.rsplit(":", 1)
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DOCKER_HUB, rest
        if "/" not in repository:
            repository = f"library/{repository}"
    if first in ("docker.io", "index.docker.io"):
        registry = DOCKER_HUB
    return ImageRef(registry=registry, repository=repository, reference=reference)


@dataclass(frozen=True)
class Lookup:
    """What the registry said about one image."""

    uri: str
    exists: Optional[bool]
    reason: str = ""


def _credentials(registry: str) -> Optional[tuple[str, str]]:
    user, password = os.environ.get("FLYTE_REGISTRY_USERNAME"), os.environ.get("FLYTE_REGISTRY_PASSWORD")
    if user and password:
        return user, password
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        auths = json.loads(config.read_text(encoding="utf-8")).get("auths", {})
    except (OSError, ValueError, AttributeError):
        return None
    names = [registry, f"https://{registry}", f"http://{registry}"]
    if registry == DOCKER_HUB:
        names += ["https://index.docker.io/v1/", "docker.io"]
    for name in names:
        entry = auths.get(name) if isinstance(auths, dict) else None
        if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            if user and password:
                return user, password
    return None


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, params = header.strip().partition(" ")
    return scheme.lower(), dict(_CHALLENGE_PARAM.findall(params))


async def _bearer_token(
    client: httpx.AsyncClient, params: dict[str, str], ref: ImageRef, creds: Optional[tuple[str, str]]
) -> Optional[str]:
    realm = params.get("realm")
    if not realm:
        return None
    query = {k: v for k, v in params.items() if k in ("service", "scope")}
    query.setdefault("scope", f"repository:{ref.repository}:pull")
    response = await client.get(realm, params=query, auth=creds)
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    token = body.get("token") or body.get("access_token")
    return token if isinstance(token, str) else None


async def manifest_exists(uri: str, timeout: float = 10.0) -> Lookup:
    """Whether ``uri``'s tag (or digest) is in its registry; ``exists=None`` when that cannot be told."""
    ref = parse_image_ref(uri)
    headers = {"Accept": _MANIFEST_TYPES}
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.head(ref.manifest_url, headers=headers)
            if response.status_code == 401:
                creds = _credentials(ref.registry)
                scheme, params = _challenge(response.headers.get("www-authenticate", ""))
                if scheme == "bearer":
                    token = await _bearer_token(client, params, ref, creds)
                    if token is None:
                        return Lookup(uri, None, f"the registry {ref.registry} gave no access token")
                    response = await client.head(
                        ref.manifest_url, headers={**headers, "Authorization": f"Bearer {token}"}
                    )
                elif scheme == "basic" and creds is not None:
                    response = await client.head(ref.manifest_url, headers=headers, auth=creds)
                else:
                    return Lookup(
                        uri,
                        None,
                        f"the registry {ref.registry} asks for credentials; set FLYTE_REGISTRY_USERNAME and "
                        "FLYTE_REGISTRY_PASSWORD or log in with your container client",
                    )
    except httpx.HTTPError as e:
        return Lookup(
            uri, None, f"the registry {ref.registry} could not be reached ({type(e).__name__}: {e})"
        )
    if response.status_code == 200:
        return Lookup(uri, True)
    if response.status_code == 404:
        return Lookup(uri, False, f"{ref.repository}:{ref.reference} is not in {ref.registry}")
    if response.status_code in (401, 403):
        return Lookup(uri, None, f"the registry {ref.registry} refused access ({response.status_code})")
    return Lookup(uri, None, f"the registry {ref.registry} answered HTTP {response.status_code}")
