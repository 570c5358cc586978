"""The data proxy: signed, expiring URLs to upload and download objects of the server's storage.

``/api/v1/data/...`` (API key) hands out URLs and answers whether a key exists. With a local
storage directory, ``/data/{key}`` (signature, no API key) moves the bytes; an upload lands in a
temporary file and replaces the object atomically. With object storage (``storage_url``) the
URLs are the store's own presigned URLs, so the bytes go straight between client and bucket and
``/data/{key}`` is not used. Keys are relative POSIX paths, checked before anything is touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from flyte.server.errors import BadRequest, NotFound, PayloadTooLarge
from flyte.server.models import DownloadUrl, KeyRequest, Uploaded, UploadUrl
from flyte.server.routes import base_url, settings
from flyte.storage import ObjectBlobStore, validate_key

api_router = APIRouter(prefix="/data", tags=["data"])
signed_router = APIRouter(prefix="/data", tags=["data"])


def _checked(key: str) -> str:
    try:
        return validate_key(key)
    except ValueError as e:
        raise BadRequest(str(e)) from None


def object_store(request: Request) -> ObjectBlobStore | None:
    """The object store behind the proxy, or None when objects are files in ``storage_dir``."""
    store = getattr(request.app.state, "data_store", None)
    return store if isinstance(store, ObjectBlobStore) else None


def object_path(request: Request, key: str) -> Path:
    """The file of ``key`` under the storage directory (400 for keys that could escape it)."""
    _checked(key)
    if object_store(request) is not None:
        raise NotFound("this server keeps its data in object storage: ask for a signed URL")
    root = settings(request).storage_dir
    assert root is not None
    return root / key


def _signed(request: Request, method: str, key: str) -> tuple[str, float]:
    """A signed URL for ``method`` on ``key`` and when it expires (epoch seconds)."""
    _checked(key)
    store = object_store(request)
    if store is None:
        object_path(request, key)
        url, expires = request.app.state.signer.sign(base_url(request), method, key)
        return url, expires
    ttl = settings(request).url_ttl_seconds
    return store.sign(method, key, ttl), time.time() + ttl


@api_router.post("/upload-url", response_model=UploadUrl)
async def upload_url(request: Request, body: KeyRequest) -> UploadUrl:
    """A URL to ``PUT`` the object ``key`` (replacing it if it exists)."""
    url, expires = await asyncio.to_thread(_signed, request, "PUT", body.key)
    return UploadUrl(url=url, key=body.key, expires_at=expires)


@api_router.post("/download-url", response_model=DownloadUrl)
async def download_url(request: Request, body: KeyRequest) -> DownloadUrl:
    """A URL to ``GET`` the object ``key``."""
    url, expires = await asyncio.to_thread(_signed, request, "GET", body.key)
    return DownloadUrl(url=url, expires_at=expires)


def object_exists(request: Request, key: str) -> bool:
    """Whether ``key`` exists in the server's storage (directory or object store)."""
    _checked(key)
    store = object_store(request)
    if store is not None:
        return store.is_file(key)
    return object_path(request, key).is_file()


@api_router.head("/{key:path}")
async def exists(request: Request, key: str) -> Response:
    """200 if the object exists, else 404 (lets clients skip uploading what is already there)."""
    if not await asyncio.to_thread(object_exists, request, key):
        raise NotFound(f"no object with key '{key}'")
    return Response(status_code=200)


@signed_router.put("/{key:path}", status_code=201, response_model=Uploaded)
async def put_object(request: Request, key: str) -> Uploaded:
    """Store the request body as object ``key`` (URL from ``upload-url``)."""
    path = object_path(request, key)
    request.app.state.signer.check(
        "PUT", key, request.query_params.get("exp"), request.query_params.get("sig")
    )
    limit = settings(request).max_upload_bytes
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    digest, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"uploads are limited to {limit} bytes")
                digest.update(chunk)
                f.write(chunk)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Uploaded(key=key, size=size, sha256=digest.hexdigest())


@signed_router.get("/{key:path}", response_class=FileResponse)
def get_object(request: Request, key: str) -> FileResponse:
    """The bytes of object ``key`` (URL from ``download-url``)."""
    path = object_path(request, key)
    request.app.state.signer.check(
        "GET", key, request.query_params.get("exp"), request.query_params.get("sig")
    )
    if not path.is_file():
        raise NotFound(f"no object with key '{key}'")
    return FileResponse(path, media_type="application/octet-stream")
