"""Where S3 credentials come from (flyte.init, the AWS variables, flyte secrets), what happens
without any, and proof that they are never written to the run store or a log."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server, list_bucket

import flyte
import flyte.errors
from flyte.io import File
from flyte.storage import S3, store_for_url

env = flyte.TaskEnvironment(name="s3_creds")

_AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION")


@env.task
async def write(text: str) -> File:
    f = File.new_remote("creds.txt")
    async with f.open("wb") as fh:
        await fh.write(text.encode())
    return f


@env.task
async def read(f: File) -> str:
    async with f.open("rb") as fh:
        return (await fh.read()).decode()


@env.task
async def round_trip(text: str) -> str:
    return await read(await write(text))


def _without_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)


def test_flyte_init_storage_s3_config_is_used(bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch):
    _without_aws_env(monkeypatch)
    cfg = S3(endpoint=s3_env.endpoint, access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY,
             region=REGION)  # fmt: skip
    assert SECRET_ACCESS_KEY not in repr(cfg) and "secret_access_key=***" in repr(cfg)
    flyte.init(storage=cfg)
    run = flyte.with_runcontext(raw_data_path=f"s3://{bucket}/init").run(round_trip, "configured in init")
    assert run.outputs()[0] == "configured in init"
    assert any(k.endswith("/creds.txt") for k in list_bucket(s3_env, bucket))


def test_flyte_secrets_supply_the_keys(bucket: str, s3_env: S3Server, monkeypatch: pytest.MonkeyPatch):
    from flyte._internal.secrets import SecretStore

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")  # endpoint and region stay in the environment
    SecretStore().put("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    SecretStore().put("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    store = store_for_url(f"s3://{bucket}/secrets")
    store.put_bytes(b"via secrets", "k.txt")
    assert list_bucket(s3_env, bucket) == ["secrets/k.txt"]


def test_no_credentials_is_a_clear_error_not_a_metadata_lookup(monkeypatch: pytest.MonkeyPatch):
    _without_aws_env(monkeypatch)
    store = store_for_url("s3://any-bucket/x")
    with pytest.raises(flyte.errors.InitializationError, match="AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        store.exists("k")


def test_credentials_are_not_recorded_or_logged(
    bucket: str, s3_env: S3Server, isolated_home: Path, caplog: pytest.LogCaptureFixture, capfd
):
    caplog.set_level(logging.DEBUG)
    flyte.init()
    run = flyte.with_runcontext(raw_data_path=f"s3://{bucket}/leak").run(round_trip, "no leaks")
    assert run.outputs()[0] == "no leaks"
    out, err = capfd.readouterr()
    secret = SECRET_ACCESS_KEY
    assert secret not in caplog.text and secret not in out and secret not in err
    files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert any(p.name == "runs.db" for p in files), files  # the run store was written
    assert [str(p) for p in files if secret.encode() in p.read_bytes()] == []
    assert os.environ["AWS_SECRET_ACCESS_KEY"] == secret  # it was there to be leaked
