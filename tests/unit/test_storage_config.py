"""flyte.storage's object-store settings, accepted and kept by flyte.init."""

from __future__ import annotations

import datetime
import logging

import pytest

import flyte
import flyte.errors
from flyte._initialize import get_init_config
from flyte.storage import ABFS, GCS, S3, Storage


def test_defaults_match_the_reference():
    s = Storage()
    assert (s.retries, s.backoff, s.enable_debug, s.attach_execution_metadata) == (
        3,
        datetime.timedelta(seconds=5),
        False,
        True,
    )
    s3 = S3()
    assert (s3.endpoint, s3.access_key_id, s3.secret_access_key, s3.region, s3.addressing_style) == (
        None,
    ) * 5
    assert isinstance(GCS(), Storage) and isinstance(ABFS(), Storage)


def test_auto_reads_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_AWS_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("FLYTE_AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("FLYTE_AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    monkeypatch.setenv("FLYTE_STORAGE_RETRIES", "7")
    monkeypatch.setenv("FLYTE_STORAGE_BACKOFF_SECONDS", "2.5")
    s3 = S3.auto(region="eu-west-1")
    assert s3.endpoint == "http://127.0.0.1:9000"
    assert s3.secret_access_key == "s3cr3t-value"
    assert s3.region == "eu-west-1"
    assert s3.retries == 7 and s3.backoff == datetime.timedelta(seconds=2.5)
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "azure-secret-value")
    abfs = ABFS.auto()
    assert abfs.account_name == "acct" and abfs.client_secret == "azure-secret-value"


def test_for_sandbox_points_at_the_local_minio():
    s3 = S3.for_sandbox()
    assert s3.endpoint == "http://localhost:4566"
    assert s3.access_key_id == "minio"


def test_repr_never_shows_secrets():
    s3 = S3(endpoint="http://127.0.0.1:9000", access_key_id="AKIDEXAMPLE", secret_access_key="s3cr3t-value")
    abfs = ABFS(account_name="acct", account_key="azure-key-value", client_secret="azure-secret-value")
    for text in (repr(s3), str(s3), repr(abfs), f"{abfs}"):
        assert "s3cr3t-value" not in text and "AKIDEXAMPLE" not in text
        assert "azure-key-value" not in text and "azure-secret-value" not in text
        assert "***" in text
    assert "endpoint='http://127.0.0.1:9000'" in repr(s3)
    assert "account_name='acct'" in repr(abfs)
    assert "secret_access_key=None" in repr(S3())


def test_fsspec_kwargs_carry_the_credentials():
    kwargs = S3(
        endpoint="http://127.0.0.1:9000", access_key_id="k", secret_access_key="s"
    ).get_fsspec_kwargs()
    assert kwargs["config"] == {
        "access_key_id": "k",
        "secret_access_key": "s",
        "endpoint": "http://127.0.0.1:9000",
    }
    assert kwargs["retry_config"]["max_retries"] == 3
    assert Storage().get_fsspec_kwargs(anonymous=True)["config"] == {"skip_signature": True}


def test_init_keeps_the_storage_settings(caplog: pytest.LogCaptureFixture):
    s3 = S3(endpoint="http://127.0.0.1:9000", access_key_id="AKIDEXAMPLE", secret_access_key="s3cr3t-value")
    with caplog.at_level(logging.DEBUG):
        flyte.init(storage=s3)
    config = get_init_config()
    assert config.storage is s3
    assert "s3cr3t-value" not in repr(config) and "s3cr3t-value" not in caplog.text


def test_init_from_config_passes_storage_on(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    flyte.init_from_config(storage=GCS())
    assert get_init_config().storage == GCS()


def test_init_refuses_something_that_is_not_storage():
    with pytest.raises(
        flyte.errors.InitializationError, match=r"storage must be a flyte.storage.Storage.*dict"
    ):
        flyte.init(storage={"endpoint": "x"})
