"""A devbox whose storage is an S3 bucket (``flyte start devbox --storage s3://bucket/prefix``, a real
moto server): the code bundle, offloaded inputs and outputs and the File a task writes all live in
the bucket, workers reach them through presigned URLs and the store, and the secret key is never
written to the database or a log."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from s3_server import SECRET_ACCESS_KEY, S3Server, list_bucket

import flyte
from _services import Devbox, cli_args, running_devbox
from flyte._internal.loader import load_module

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import os

    import flyte
    from flyte.io import File

    env = flyte.TaskEnvironment(name="s3wf")


    @env.task
    async def produce(padding: str) -> File:
        f = File.new_remote("made-by-worker.txt")
        async with f.open("wb") as fh:
            await fh.write(f"written by pid {os.getpid()}; padding {len(padding)}".encode())
        return f


    @env.task
    async def consume(f: File) -> str:
        async with f.open("rb") as fh:
            text = (await fh.read()).decode()
        return text + "|" + "y" * 100_000  # large enough to be offloaded


    @env.task
    async def main(padding: str) -> str:
        return await consume(await produce(padding))
    """
)


@pytest.fixture
def s3_devbox(bucket: str, s3_env: S3Server, tmp_path: Path) -> Iterator[Devbox]:
    with running_devbox(tmp_path / "devbox-home", cli_args("--storage", f"s3://{bucket}/flyte")) as box:
        yield box


def test_a_devbox_on_s3_keeps_bundle_offloads_and_files_in_the_bucket(
    s3_devbox: Devbox, s3_env: S3Server, bucket: str, tmp_path: Path
):
    project = tmp_path / "project"
    project.mkdir()
    (project / "s3wf.py").write_text(WORKFLOW)
    try:
        flyte.init(endpoint=s3_devbox.endpoint, api_key=s3_devbox.api_key, root_dir=project)
        wf = load_module(str(project / "s3wf.py"), project)
        run = flyte.run(wf.main, padding="p" * 100_000)  # large enough to be offloaded too
        out = run.outputs()[0]
    finally:
        sys.modules.pop("s3wf", None)
    text, ys = out.split("|")
    assert text.startswith("written by pid ") and text.endswith("padding 100000")
    assert ys == "y" * 100_000

    keys = list_bucket(s3_env, bucket)
    assert all(k.startswith("flyte/") for k in keys), keys
    assert any(k.startswith("flyte/bundles/") and k.endswith(".tgz") for k in keys), keys
    assert any(k.startswith("flyte/data/") and k.endswith("/made-by-worker.txt") for k in keys), keys
    offloaded = [k for k in keys if k.startswith("flyte/blobs/")]
    assert len(offloaded) >= 2, keys  # the padded input and the padded output (at least)
    # Nothing went to the server's local data directory.
    local_data = s3_devbox.home / "server" / "data"
    assert not local_data.exists() or not any(p.is_file() for p in local_data.rglob("*"))

    # The signed-URL route of a local-directory server is closed: the proxy hands out S3 URLs.
    headers = {"Authorization": f"Bearer {s3_devbox.api_key}"}
    bundle = next(k for k in keys if k.startswith("flyte/bundles/")).removeprefix("flyte/")
    signed = httpx.post(
        f"{s3_devbox.endpoint}/api/v1/data/download-url", json={"key": bundle}, headers=headers
    ).json()
    assert signed["url"].startswith(f"{s3_env.endpoint}/{bucket}/flyte/{bundle}?")
    assert "X-Amz-Signature=" in signed["url"]
    assert httpx.get(signed["url"]).content[:2] == b"\x1f\x8b"  # the gzip archive itself
    assert httpx.head(f"{s3_devbox.endpoint}/api/v1/data/{bundle}", headers=headers).status_code == 200
    bad = httpx.post(
        f"{s3_devbox.endpoint}/api/v1/data/upload-url", json={"key": "../escape"}, headers=headers
    )
    assert bad.status_code == 400 and "traversal" in bad.text

    # The secret key was in every process's environment; it is in no file the devbox wrote.
    secret = SECRET_ACCESS_KEY.encode()
    written = [p for p in s3_devbox.home.rglob("*") if p.is_file()]  # server.log included
    assert any(p.name.endswith(".db") for p in written)
    assert any(p.suffix == ".log" for p in written)
    leaked = [str(p) for p in written if secret in p.read_bytes()]
    assert leaked == []
