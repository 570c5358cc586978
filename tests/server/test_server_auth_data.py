"""Authentication, the data proxy (signed URLs, key checks) and the OpenAPI document."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from server_harness import serve, settings_for

pytestmark = pytest.mark.timeout(60)

PROTECTED = [
    ("GET", "/api/v1/runs", None),
    ("POST", "/api/v1/runs", {"task": {"name": "env.main"}}),
    ("GET", "/api/v1/runs/r1/actions/a0/wait", None),
    ("POST", "/api/v1/data/upload-url", {"key": "a/b"}),
    ("POST", "/api/v1/data/download-url", {"key": "a/b"}),
    ("HEAD", "/api/v1/data/a/b", None),
    ("POST", "/api/v1/executor/claim", {"worker_id": "w", "max": 1, "timeout": 0}),
    ("POST", "/api/v1/executor/heartbeat", {"worker_id": "w", "actions": []}),
    ("POST", "/api/v1/executor/report", {}),
    ("POST", "/api/v1/executor/logs", {}),
]


def test_health_needs_no_key_and_every_api_route_does(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            anonymous = httpx.AsyncClient(transport=s.client._transport, base_url="http://testserver")
            r = await anonymous.get("/healthz")
            assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["version"]
            for headers in ({}, {"Authorization": "Bearer fk_wrong"}, {"Authorization": "Basic abc"}):
                for method, path, body in PROTECTED:
                    r = await anonymous.request(method, path, json=body, headers=headers)
                    assert r.status_code == 401, (method, path, headers, r.text)
                    assert r.headers["www-authenticate"] == "Bearer"
                    if method != "HEAD":
                        assert "API key" in r.json()["detail"]
            r = await s.client.get("/api/v1/runs")
            assert r.status_code == 200 and r.json() == []

    asyncio.run(main())


def test_openapi_is_served(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            r = await s.client.get("/openapi.json")
            assert r.status_code == 200
            paths = r.json()["paths"]
            for path in ("/api/v1/runs", "/api/v1/runs/{run}/actions/{action}/wait", "/api/v1/executor/claim",
                         "/api/v1/data/upload-url", "/data/{key}", "/healthz"):  # fmt: skip
                assert path in paths, path

    asyncio.run(main())


def test_api_keys_are_stored_as_sha256_only(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            rows = s.store.execute_read("SELECT id, sha256 FROM server_api_keys")
            digest = hashlib.sha256(s.api_key.encode()).hexdigest()
            assert (digest[:12], digest) in [tuple(r) for r in rows]
            db_bytes = Path(s.store.identity).read_bytes() if Path(s.store.identity).exists() else b""
            assert s.api_key.encode() not in db_bytes

    asyncio.run(main())


def test_signed_upload_and_download(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            r = await s.client.head("/api/v1/data/bundles/x.tgz")
            assert r.status_code == 404
            up = (await s.client.post("/api/v1/data/upload-url", json={"key": "bundles/x.tgz"})).json()
            assert up["key"] == "bundles/x.tgz" and up["url"].startswith(
                "http://testserver/data/bundles/x.tgz?"
            )
            plain = httpx.AsyncClient(transport=s.client._transport)  # signed URLs need no API key
            r = await plain.put(up["url"], content=b"hello bundle")
            assert r.status_code == 201, r.text
            assert r.json() == {"key": "bundles/x.tgz", "size": 12,
                                "sha256": hashlib.sha256(b"hello bundle").hexdigest()}  # fmt: skip
            assert (await s.client.head("/api/v1/data/bundles/x.tgz")).status_code == 200
            down = (await s.client.post("/api/v1/data/download-url", json={"key": "bundles/x.tgz"})).json()
            r = await plain.get(down["url"])
            assert r.status_code == 200 and r.content == b"hello bundle"
            assert (tmp_path / "server" / "data" / "bundles" / "x.tgz").read_bytes() == b"hello bundle"
            missing = (await s.client.post("/api/v1/data/download-url", json={"key": "nope"})).json()
            assert (await plain.get(missing["url"])).status_code == 404

    asyncio.run(main())


def test_tampered_expired_or_unsigned_urls_are_refused(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            plain = httpx.AsyncClient(transport=s.client._transport)
            up = (await s.client.post("/api/v1/data/upload-url", json={"key": "k/file"})).json()["url"]
            assert (await plain.put(up, content=b"v1")).status_code == 201
            down = (await s.client.post("/api/v1/data/download-url", json={"key": "k/file"})).json()["url"]
            sig = down.rsplit("sig=", 1)[1]
            bad_sig = down.replace(sig, ("0" if sig[0] != "0" else "1") + sig[1:])
            exp = int(down.split("exp=")[1].split("&")[0])
            later = down.replace(f"exp={exp}", f"exp={exp + 1000}")
            other_key = down.replace("/data/k/file", "/data/k/other")
            for url in (bad_sig, later, other_key, down.split("?")[0], up):  # `up` signs PUT, not GET
                r = await plain.get(url)
                assert r.status_code == 403, (url, r.text)
            assert (await plain.put(down, content=b"x")).status_code == 403  # a GET URL cannot upload
            s.app.state.signer.ttl_seconds = -5  # URLs made now are already expired
            stale = (await s.client.post("/api/v1/data/download-url", json={"key": "k/file"})).json()["url"]
            r = await plain.get(stale)
            assert r.status_code == 403 and "expired" in r.json()["detail"]

    asyncio.run(main())


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a\\b", "a/../../b", "", "a//b", "a/\x00"])
def test_traversal_keys_are_refused(tmp_path: Path, key: str):
    async def main() -> None:
        async with serve(settings_for(tmp_path)) as s:
            for path in ("/api/v1/data/upload-url", "/api/v1/data/download-url"):
                r = await s.client.post(path, json={"key": key})
                assert r.status_code == 400, (path, key, r.text)
            plain = httpx.AsyncClient(transport=s.client._transport, base_url="http://testserver")
            if key:
                r = await plain.put(f"/data/{quote(key, safe='')}?exp=99999999999&sig=00", content=b"x")
                assert r.status_code == 400, r.text

    asyncio.run(main())
    assert not (tmp_path.parent / "x").exists()


def test_upload_size_limit(tmp_path: Path):
    async def main() -> None:
        async with serve(settings_for(tmp_path, max_upload_bytes=10)) as s:
            up = (await s.client.post("/api/v1/data/upload-url", json={"key": "big"})).json()["url"]
            plain = httpx.AsyncClient(transport=s.client._transport)
            assert (await plain.put(up, content=b"x" * 11)).status_code == 413
            assert (await s.client.head("/api/v1/data/big")).status_code == 404
            assert list((tmp_path / "server" / "data").iterdir()) == [tmp_path / "server" / "data" / "data"]

    asyncio.run(main())
