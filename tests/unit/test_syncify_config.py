"""flyte.syncify, flyte.config, and the .aio forms of flyte.init / flyte.init_from_config."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from pathlib import Path

import pytest

import flyte
import flyte.config
import flyte.errors
from flyte._initialize import get_init_config
from flyte.syncify import Syncify, syncify

# -- syncify ----------------------------------------------------------------------------------------


@syncify
async def greet(name: str) -> str:
    await asyncio.sleep(0)
    return f"hello {name} from {threading.current_thread().name}"


@syncify
async def count(n: int):
    for i in range(n):
        yield i


def test_syncified_functions_block_or_await_on_one_background_loop():
    assert greet("a") == "hello a from flyte_syncify"
    assert asyncio.run(greet.aio("b")) == "hello b from flyte_syncify"
    assert greet.__name__ == "greet"


def test_async_generators_become_iterators():
    assert list(count(3)) == [0, 1, 2]

    async def collect() -> list[int]:
        return [i async for i in count.aio(4)]

    assert asyncio.run(collect()) == [0, 1, 2, 3]


class Client:
    def __init__(self, base: int):
        self.base = base

    @syncify
    async def add(self, x: int) -> int:
        return self.base + x

    @syncify
    @classmethod
    async def make(cls, base: int) -> Client:
        return cls(base)

    @syncify
    @staticmethod
    async def twice(x: int) -> int:
        return 2 * x


def test_methods_classmethods_and_staticmethods():
    client = Client.make(10)
    assert isinstance(client, Client)
    assert client.add(5) == 15
    assert asyncio.run(client.add.aio(1)) == 11
    assert Client.twice(4) == 8


def test_errors_and_context_travel():
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    mine = Syncify("mine")

    @mine
    async def read() -> str:
        return var.get()

    @mine
    async def boom() -> None:
        raise KeyError("nope")

    var.set("from caller")
    assert read() == "from caller"
    with pytest.raises(KeyError, match="nope"):
        boom()


def test_only_async_callables_can_be_syncified():
    with pytest.raises(TypeError, match="async function"):
        syncify(lambda: 1)


# -- flyte.config -----------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "admin:\n  endpoint: http://127.0.0.1:8090\n  insecure: true\n  api_key: key-123\n"
        "task:\n  org: o\n  project: p\n  domain: development\n"
        "image:\n  builder: local\n  image_refs:\n    base: ghcr.io/acme/base:1\n"
    )
    return path


def test_auto_reads_every_section(config_file: Path):
    config = flyte.config.auto(config_file)
    assert config.platform.endpoint == "http://127.0.0.1:8090"
    assert config.platform.insecure is True
    assert (config.task.org, config.task.project, config.task.domain) == ("o", "p", "development")
    assert config.image.builder == "local"
    assert config.image.image_refs == {"base": "ghcr.io/acme/base:1"}
    assert config.source == config_file
    assert "key-123" not in repr(config)


def test_environment_variables_override_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLYTE_ADMIN_ENDPOINT", "http://127.0.0.1:9999")
    monkeypatch.setenv("FLYTE_TASK_PROJECT", "from-env")
    monkeypatch.setenv("FLYTE_ADMIN_INSECURE", "false")
    config = flyte.config.Config.auto(config_file)
    assert config.platform.endpoint == "http://127.0.0.1:9999"
    assert config.task.project == "from-env"
    assert config.platform.insecure is False


def test_auto_finds_the_file_like_init_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert flyte.config.auto() == flyte.config.Config()
    (tmp_path / ".flyte").mkdir()
    (tmp_path / ".flyte" / "config.yaml").write_text("task:\n  project: found\n")
    assert flyte.config.auto().task.project == "found"
    with pytest.raises(flyte.errors.InitializationError, match="does not exist"):
        flyte.config.auto(tmp_path / "missing.yaml")


def test_set_if_exists_keeps_false_and_drops_empty():
    assert flyte.config.set_if_exists({}, "a", False) == {"a": False}
    assert flyte.config.set_if_exists({}, "a", "") == {}
    assert flyte.config.set_if_exists({}, "a", None) == {}


def test_init_from_config_takes_a_config_object(config_file: Path):
    flyte.init_from_config(flyte.config.auto(config_file))
    config = get_init_config()
    assert config.endpoint == "http://127.0.0.1:8090"
    assert config.api_key == "key-123"
    assert config.project == "p" and config.org == "o"
    assert config.images == {"base": "ghcr.io/acme/base:1"}


# -- .aio on init -----------------------------------------------------------------------------------


def test_init_and_init_from_config_are_awaitable(config_file: Path):
    async def main() -> None:
        await flyte.init.aio(project="async-p", domain="staging")
        assert get_init_config().project == "async-p"
        await flyte.init_from_config.aio(config_file, project="override")

    asyncio.run(main())
    config = get_init_config()
    assert config.project == "override" and config.endpoint == "http://127.0.0.1:8090"
    flyte.init(project="sync-again")  # the sync form is unchanged
    assert get_init_config().project == "sync-again" and not get_init_config().is_remote


# -- .aio on the lookups of flyte.remote ---------------------------------------------------------

lookups = flyte.TaskEnvironment(name="syncify_lookups")


@lookups.task
async def leaf(x: int) -> int:
    return x + 1


@lookups.task
async def root(x: int) -> int:
    return await leaf(x)


def test_remote_lookups_block_or_await_as_in_the_reference():
    import flyte.remote

    run = flyte.with_runcontext(name="lookup-1").run(root, 1)

    async def main() -> tuple[str, list[str], str, list[str]]:
        found = await flyte.remote.Run.get.aio("lookup-1")
        runs = [r.name async for r in flyte.remote.Run.listall.aio(limit=10)]
        action = await flyte.remote.Action.get.aio("lookup-1", "a0")
        actions = [a.task_name async for a in flyte.remote.Action.listall.aio("lookup-1")]
        return found.name, runs, action.task_name, actions

    assert asyncio.run(main()) == (
        run.name,
        ["lookup-1"],
        "syncify_lookups.root",
        ["syncify_lookups.root", "syncify_lookups.leaf"],
    )
    assert flyte.remote.Run.get("lookup-1").name == "lookup-1"  # the sync forms are unchanged
    assert [r.name for r in flyte.remote.Run.listall(limit=10)] == ["lookup-1"]
    assert flyte.remote.Run.get.__name__ == "get" and "recorded run" in (flyte.remote.Run.get.__doc__ or "")
    with pytest.raises(flyte.errors.ActionNotFoundError):
        asyncio.run(flyte.remote.Run.get.aio("no-such-run"))


def test_deployed_task_and_trigger_lookups_have_aio_twins():
    import inspect

    import flyte.remote

    for listing in (flyte.remote.Task.listall, flyte.remote.Trigger.listall):
        pending = listing.aio()  # nothing is asked of a control plane before the first step
        assert inspect.isasyncgen(pending)
        asyncio.run(pending.aclose())
    for call in (flyte.remote.Trigger.get, flyte.remote.Trigger.update, flyte.remote.Trigger.delete):
        assert callable(call.aio)
