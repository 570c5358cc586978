"""The local secret store, resolving a task's secrets, mounted files, redaction and the CLI commands."""

from __future__ import annotations

import json
import os
import stat
import sys
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from flyte._internal.secrets import (
    SECRETS_DIR_ENV,
    Redactor,
    ResolvedSecrets,
    SecretStore,
    cleanup,
    materialize_files,
    resolve_secrets,
)
from flyte._secret import Secret
from flyte.errors import SecretNotFoundError

VALUE = "tr0ub4dor-and-3"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def store(isolated_home: Path) -> SecretStore:
    return SecretStore()


# -- the store -------------------------------------------------------------------------------------


def test_default_root_is_under_flyte_home(isolated_home: Path):
    assert SecretStore().root == isolated_home / "secrets"


def test_put_get_roundtrip_str_and_bytes(store: SecretStore):
    store.put("api_key", VALUE)
    store.put("blob", b"\x00\xffbinary", group="certs")
    assert store.get("api_key") == VALUE.encode()
    assert store.get("blob", group="certs") == b"\x00\xffbinary"
    assert store.exists("api_key") and store.exists("blob", "certs")
    assert not store.exists("blob") and not store.exists("api_key", "certs")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_permissions_are_private(store: SecretStore):
    os.umask(0o022)
    store.put("k", VALUE)
    store.put("k", VALUE, group="g")
    assert mode(store.root) == 0o700
    assert mode(store.root / "g.group") == 0o700
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert len(files) == 2
    assert all(mode(p) == 0o600 for p in files)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_existing_loose_directory_is_tightened(store: SecretStore):
    store.root.mkdir(parents=True, mode=0o755)
    os.chmod(store.root, 0o755)
    store.put("k", VALUE)
    assert mode(store.root) == 0o700


def test_overwrite_is_atomic_and_keeps_created_time(store: SecretStore, monkeypatch: pytest.MonkeyPatch):
    first = store.put("k", "old-value")
    replaced: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((str(src), str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    second = store.put("k", "new-value")
    assert store.get("k") == b"new-value"
    (src, dst), *_ = replaced
    assert dst == str(store.root / "k.secret") and Path(src).parent == store.root
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert [p.name for p in store.root.iterdir()] == ["k.secret"]  # no temp file left behind


def test_failed_write_leaves_old_value_and_no_temp_file(store: SecretStore, monkeypatch: pytest.MonkeyPatch):
    store.put("k", "old-value")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.put("k", "new-value")
    monkeypatch.undo()
    assert store.get("k") == b"old-value"
    assert [p.name for p in store.root.iterdir()] == ["k.secret"]


def test_missing_secret_names_it_and_how_to_create(store: SecretStore):
    with pytest.raises(SecretNotFoundError) as e:
        store.get("nope")
    assert "'nope'" in str(e.value) and "flyte create secret nope --value" in str(e.value)
    with pytest.raises(SecretNotFoundError) as e:
        store.get("nope", group="team")
    assert "--group team" in str(e.value)


def test_delete(store: SecretStore):
    store.put("k", VALUE, group="g")
    store.delete("k", group="g")
    assert not store.exists("k", "g")
    assert not (store.root / "g.group").exists()  # empty group directory removed
    with pytest.raises(SecretNotFoundError, match="'k'"):
        store.delete("k", group="g")


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "a\\b", "..", ".", "", "x..y", "/abs", "sp ace", "semi;colon", "a" * 201]
)
def test_unsafe_names_refused(store: SecretStore, name: str):
    with pytest.raises(ValueError, match="not allowed"):
        store.put(name, VALUE)
    with pytest.raises(ValueError, match="not allowed"):
        store.put("ok", VALUE, group=name)
    with pytest.raises(ValueError, match="not allowed"):
        store.get(name)
    assert not store.root.exists() or not any(store.root.rglob("*.secret"))


@pytest.mark.parametrize("name", ["api_key", "API-KEY", "my.secret", "a", "x" * 200])
def test_allowed_names(store: SecretStore, name: str):
    store.put(name, VALUE)
    assert store.get(name) == VALUE.encode()


def test_list_has_names_and_times_never_values(store: SecretStore):
    store.put("b", VALUE)
    store.put("a", VALUE + "-2", group="g")
    store.put("c", VALUE + "-3")
    infos = store.list()
    assert [(i.group, i.key) for i in infos] == [(None, "b"), (None, "c"), ("g", "a")]
    assert all(i.created_at <= i.updated_at for i in infos)
    dumped = repr(infos) + json.dumps([i.to_dict() for i in infos])
    assert VALUE not in dumped
    assert infos[2].name == "g/a"


def test_list_ignores_stray_files(store: SecretStore):
    store.put("k", VALUE)
    (store.root / ".abc.tmp").write_text("partial")
    (store.root / "notes.txt").write_text("x")
    assert [i.key for i in store.list()] == ["k"]


def test_empty_store_lists_nothing(store: SecretStore):
    assert store.list() == []


def test_keyring_backend(store: SecretStore, monkeypatch: pytest.MonkeyPatch):
    vault: dict[tuple[str, str], str] = {}
    fake = types.ModuleType("keyring")
    fake.set_password = lambda s, u, p: vault.__setitem__((s, u), p)  # type: ignore[attr-defined]
    fake.get_password = lambda s, u: vault.get((s, u))  # type: ignore[attr-defined]
    fake.delete_password = lambda s, u: vault.pop((s, u))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", fake)
    monkeypatch.setenv("FLYTE_SECRETS_BACKEND", "keyring")
    kr = SecretStore()
    kr.put("k", VALUE, group="g")
    assert VALUE not in (kr.root / "g.group" / "k.secret").read_text()
    assert kr.get("k", "g") == VALUE.encode() and [i.key for i in kr.list()] == ["k"]
    kr.delete("k", "g")
    assert vault == {}


def test_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_SECRETS_BACKEND", "vault")
    with pytest.raises(ValueError, match="FLYTE_SECRETS_BACKEND"):
        SecretStore()


# -- resolving a task's secrets -------------------------------------------------------------------


def test_resolve_env_and_files(store: SecretStore):
    store.put("my-key", VALUE)
    store.put("cert", b"-----PEM-----\n", group="tls")
    store.put("other", "second-value")
    resolved = resolve_secrets(
        (
            Secret("my-key"),
            Secret("cert", group="tls", mount="/etc/flyte/secrets"),
            Secret("other", as_env_var="OTHER_ONE"),
            Secret("other", mount="/etc/flyte/secrets"),
        ),
        store,
        "t",
        environ={},
    )
    assert resolved.env == {"MY_KEY": VALUE, "OTHER_ONE": "second-value"}
    assert resolved.files == {
        "/etc/flyte/secrets/tls/cert": b"-----PEM-----\n",
        "/etc/flyte/secrets/other": b"second-value",
    }
    assert resolved.mounts == ("/etc/flyte/secrets",)
    assert {VALUE, "second-value", "-----PEM-----"} <= resolved.values


def test_no_secrets_resolve_to_nothing(store: SecretStore):
    resolved = resolve_secrets((), store, "t", environ={})
    assert not resolved and resolved.env == {} and resolved.files == {}


def test_all_missing_secrets_reported_at_once(store: SecretStore):
    store.put("present", VALUE)
    secrets = (
        Secret("present"),
        Secret("first-missing"),
        Secret("second", group="team"),
        Secret("third", mount="/etc/flyte/secrets"),
    )
    with pytest.raises(SecretNotFoundError) as e:
        resolve_secrets(secrets, store, "my_task", environ={})
    message = str(e.value)
    assert "my_task" in message and "3 secret(s)" in message
    for name in ("first-missing", "second", "third"):
        assert f"'{name}'" in message
    assert "'present'" not in message
    assert "$FIRST_MISSING" in message and "$TEAM_SECOND" in message
    assert "/etc/flyte/secrets/third" in message
    assert "flyte create secret second --group team --value" in message
    assert VALUE not in message


def test_environment_can_supply_a_secret(store: SecretStore, tmp_path: Path):
    (tmp_path / "cert").write_bytes(b"file-supplied")
    resolved = resolve_secrets(
        (Secret("api-key"), Secret("cert", mount="/etc/flyte/secrets")),
        store,
        "t",
        environ={"API_KEY": "env-supplied", SECRETS_DIR_ENV: str(tmp_path)},
    )
    assert resolved.env == {"API_KEY": "env-supplied"}
    assert resolved.files == {"/etc/flyte/secrets/cert": b"file-supplied"}
    assert "env-supplied" in resolved.values


def test_store_wins_over_environment(store: SecretStore):
    store.put("api-key", VALUE)
    resolved = resolve_secrets((Secret("api-key"),), store, "t", environ={"API_KEY": "stale"})
    assert resolved.env == {"API_KEY": VALUE}


def test_unstorable_key_with_mount_is_reported(store: SecretStore):
    with pytest.raises(SecretNotFoundError, match="not allowed"):
        resolve_secrets((Secret("../../etc/passwd", mount="/etc/flyte/secrets"),), store, "t", environ={})


# -- mounted files --------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_materialize_files_private_and_mirrored(store: SecretStore, tmp_path: Path):
    store.put("cert", b"pem-bytes", group="tls")
    store.put("tok", VALUE)
    resolved = resolve_secrets(
        (Secret("cert", group="tls", mount="/etc/flyte/secrets"), Secret("tok", mount="/etc/flyte/secrets")),
        store,
        "t",
        environ={},
    )
    files = materialize_files(resolved, tmp_path / "action")
    assert files.root is not None and files.root.parent == tmp_path / "action"
    assert mode(files.root) == 0o700
    cert = files["/etc/flyte/secrets/tls/cert"]
    assert cert == files.root / "etc" / "flyte" / "secrets" / "tls" / "cert"
    assert cert.read_bytes() == b"pem-bytes" and mode(cert) == 0o600
    assert mode(cert.parent) == 0o700 and mode(files.root / "etc") == 0o700
    secrets_dir = Path(files.env[SECRETS_DIR_ENV])
    assert (secrets_dir / "tok").read_text() == VALUE  # a task joins the dir env var with the key
    cleanup(files.root)
    assert not files.root.exists()
    cleanup(files.root)  # a second cleanup is harmless
    cleanup(None)


def test_materialize_nothing_creates_nothing(tmp_path: Path):
    files = materialize_files(ResolvedSecrets(env={"A": "b"}), tmp_path / "action")
    assert files == {} and files.root is None and files.env == {}
    assert not (tmp_path / "action").exists()


def test_materialize_refuses_escaping_paths(tmp_path: Path):
    resolved = ResolvedSecrets(files={"/../../../escape": b"x"}, mounts=("/",))
    files = materialize_files(resolved, tmp_path)
    assert files["/../../../escape"].is_relative_to(tmp_path)  # normalized to <root>/escape
    cleanup(files.root)


def test_secrets_dir_prefers_default_mount(store: SecretStore, tmp_path: Path):
    store.put("a", "aaaa")
    store.put("b", "bbbb")
    resolved = resolve_secrets(
        (Secret("a", mount="/opt/creds"), Secret("b", mount="/etc/flyte/secrets")), store, "t", environ={}
    )
    files = materialize_files(resolved, tmp_path)
    assert files.env[SECRETS_DIR_ENV].endswith(os.path.join("etc", "flyte", "secrets"))
    assert files["/opt/creds/a"].read_text() == "aaaa"
    cleanup(files.root)


# -- redaction ------------------------------------------------------------------------------------


def test_redactor_replaces_every_occurrence():
    r = Redactor([VALUE, "second-value"])
    text = f"token={VALUE}; again {VALUE}; other=second-value."
    assert r.redact(text) == "token=***; again ***; other=***."


def test_redactor_skips_short_values_and_handles_regex_characters():
    r = Redactor(["abc", "a.b*c+", "42"])
    assert r.redact("abc 42 a.b*c+ axbbc") == "abc 42 *** axbbc"


def test_redactor_longest_match_wins():
    r = Redactor(["secret", "secret-and-more"])
    assert r.redact("x secret-and-more y secret") == "x *** y ***"


def test_redactor_without_values_is_identity():
    r = Redactor()
    text = "nothing to hide"
    assert not r and r.redact(text) is text


def test_redactor_with_resolved_values(store: SecretStore):
    store.put("k", VALUE + "\n")  # a value from a file often ends with a newline
    resolved = resolve_secrets((Secret("k"),), store, "t", environ={})
    assert Redactor(resolved.values).redact(f"printed {VALUE}") == "printed ***"


# -- CLI (through click directly, before main.py wires the groups) --------------------------------


@pytest.fixture
def cli() -> click.Group:
    from flyte.cli._secrets import create, delete, get

    @click.group()
    def root() -> None:
        pass

    for group in (create, get, delete):
        root.add_command(group)
    return root


def test_cli_roundtrip_never_shows_value(cli: click.Group, store: SecretStore, tmp_path: Path):
    runner = CliRunner()
    outputs = []

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), input=input)
        outputs.append(result.output)
        assert result.exit_code == code, result.output
        return result.output

    out = run("create", "secret", "api_key", "--value", VALUE)
    assert "created" in out and "$API_KEY" in out
    assert store.get("api_key") == VALUE.encode()

    out = run("create", "secret", "typed", "--group", "team", input=VALUE + "-typed\n")
    assert "Enter secret value" in out
    assert store.get("typed", "team") == (VALUE + "-typed").encode()

    source = tmp_path / "cert.pem"
    source.write_bytes(b"\x00binary-" + VALUE.encode())
    run("create", "secret", "cert", "--from-file", str(source))
    assert store.get("cert") == b"\x00binary-" + VALUE.encode()

    assert "updated" in run("create", "secret", "api_key", "--value", VALUE + "-v2")

    listing = run("get", "secret")
    assert "api_key" in listing and "typed" in listing and "team" in listing and "cert" in listing
    data = json.loads(run("get", "secret", "-of", "json"))
    assert {d["name"] for d in data} == {"api_key", "cert", "typed"}
    one = json.loads(run("get", "secret", "typed", "--group", "team", "--output-format", "json"))
    assert one["name"] == "typed" and one["group"] == "team" and "value" not in one

    assert "deleted" in run("delete", "secret", "typed", "--group", "team")
    assert not store.exists("typed", "team")

    for out in outputs:
        assert VALUE not in out


def test_cli_errors(cli: click.Group, store: SecretStore, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["delete", "secret", "ghost"])
    assert result.exit_code == 1 and "ghost" in result.output and "flyte create secret ghost" in result.output
    result = runner.invoke(cli, ["get", "secret", "ghost"])
    assert result.exit_code == 1 and "not in the local secret store" in result.output
    result = runner.invoke(cli, ["create", "secret", "../evil", "--value", VALUE])
    assert result.exit_code == 1 and "not allowed" in result.output and VALUE not in result.output
    source = tmp_path / "f"
    source.write_text("x")
    result = runner.invoke(cli, ["create", "secret", "k", "--value", VALUE, "--from-file", str(source)])
    assert result.exit_code == 2 and "not both" in result.output and VALUE not in result.output
    result = runner.invoke(cli, ["create", "secret", "k", "--value", ""])
    assert result.exit_code == 1 and "empty" in result.output
    assert store.list() == []


def test_cli_empty_listing(cli: click.Group):
    result = CliRunner().invoke(cli, ["get", "secret"])
    assert result.exit_code == 0 and "No secrets" in result.output
