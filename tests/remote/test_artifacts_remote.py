"""``flyte.remote.Artifact``: artifacts that runs published, found by name, version, partition,
producing run, kind and attrs, with their metadata and their value; the same calls locally (the
run store) and against a devbox (``/api/v1/artifacts/search``)."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

import flyte
import flyte.errors
from _services import running_devbox
from flyte._internal.loader import load_module
from flyte.io import File
from flyte.remote import Artifact

pytestmark = pytest.mark.integration

WORKFLOW = textwrap.dedent(
    """
    import tempfile
    from datetime import date

    import flyte
    import flyte.artifacts as artifacts
    from flyte.io import File

    env = flyte.TaskEnvironment(name="arts")


    async def _file(text: str) -> File:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write(text)
        return await File.from_local(fh.name)


    @env.task
    async def publish(region: str, day: str, text: str) -> File:
        metadata = artifacts.Metadata(
            name="events", kind="data", attrs={"team": "ml"}, description=f"events of {region}",
            partitions={"region": region, "date": date.fromisoformat(day)},
        )
        return artifacts.new(await _file(text), metadata)


    @env.task
    async def train(text: str) -> File:
        metadata = artifacts.Metadata.create_model_metadata(name="model", version="v1", framework="torch")
        return artifacts.new(await _file(text), metadata)
    """
)


@pytest.fixture(scope="module", params=["local", "devbox"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A project with the workflow, initialised locally or against a devbox the test starts."""
    root = tmp_path_factory.mktemp(f"arts-{request.param}")
    (root / "arts_wf.py").write_text(WORKFLOW)
    if request.param == "local":
        yield {"root": root, "init": {"root_dir": root}}
    else:
        with running_devbox(root / "devbox-home") as box:
            yield {"root": root, "init": {"endpoint": box.endpoint, "api_key": box.api_key, "root_dir": root}}
    sys.modules.pop("arts_wf", None)


@pytest.fixture(scope="module")
def published(backend: dict[str, Any]) -> dict[str, str]:
    """Four runs: events of us (twice, two days), of eu, and a model; their run names by label."""
    mp = pytest.MonkeyPatch()
    mp.setenv("FLYTE_HOME", str(backend["root"] / "client-home"))
    flyte.init(**backend["init"])
    wf = load_module(str(backend["root"] / "arts_wf.py"), backend["root"])
    runs = {}
    for label, args in {
        "us1": ("us", "2026-09-01", "us day 1"),
        "eu1": ("eu", "2026-09-01", "eu day 1"),
        "us2": ("us", "2026-09-02", "us day 2"),
    }.items():
        run = flyte.run(wf.publish, *args)
        run.wait()
        runs[label] = run.name
    model = flyte.run(wf.train, "weights")
    model.wait()
    runs["model"] = model.name
    yield runs
    mp.undo()


@pytest.fixture
def env(
    backend: dict[str, Any], published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    monkeypatch.setenv("FLYTE_HOME", str(backend["root"] / "client-home"))
    flyte.init(**backend["init"])
    return published


def _read(f: File) -> str:
    async def go() -> str:
        async with f.open("rb") as fh:
            return (await fh.read()).decode()

    return asyncio.run(go())


def test_get_by_name_version_and_partition(env: dict[str, str]) -> None:
    newest = Artifact.get("events")
    assert newest.run_name == env["us2"]
    assert newest.partitions == {"region": "us", "date": date(2026, 9, 2)}
    assert (newest.kind, newest.attrs["team"], newest.description) == ("data", "ml", "events of us")
    assert newest.version == f"{env['us2']}/{newest.action_name}"
    assert newest.source == f"run {env['us2']}/{newest.action_name}"
    assert newest.task_name == "arts.publish" and newest.output == "o0"

    assert Artifact.get("events", region="eu").run_name == env["eu1"]
    assert Artifact.get("events", date=date(2026, 9, 1), region="us").run_name == env["us1"]
    pinned = Artifact.get("events", version=newest.version)
    assert pinned.run_name == env["us2"]

    model = Artifact.get("model", version="v1")
    assert (model.kind, model.attrs["framework"], model.run_name) == ("model", "torch", env["model"])

    with pytest.raises(flyte.errors.ActionNotFoundError, match="No artifact 'events' region=apac"):
        Artifact.get("events", region="apac")
    with pytest.raises(ValueError, match="either a version or partition values"):
        Artifact.get("events", version="x", region="us")
    with pytest.raises(ValueError, match="use Artifact.listall"):
        Artifact.get("events", region=["us", "eu"])


def test_listall_filters_as_the_reference(env: dict[str, str]) -> None:
    def runs(**kw: Any) -> list[str]:
        return [a.run_name for a in Artifact.listall(**kw)]

    assert runs(name="events") == [env["us2"], env["eu1"], env["us1"]]  # newest first
    assert runs(name="events", limit=2) == [env["us2"], env["eu1"]]
    assert runs(name="events", region="us") == [env["us2"], env["us1"]]
    assert runs(name="events", region=["eu", "apac"]) == [env["eu1"]]
    assert runs(name="events", date=(date(2026, 9, 2), date(2026, 9, 30))) == [env["us2"]]
    assert runs(name="events", latest_per_partition=True, date=date(2026, 9, 1)) == [env["eu1"], env["us1"]]
    assert runs(source_run=env["eu1"]) == [env["eu1"]]
    assert runs(kind="model") == [env["model"]]
    assert runs(attrs={"team": ["ml", "x"]}) == [env["us2"], env["eu1"], env["us1"]]
    assert runs(attrs={"team": "nobody"}) == []
    with pytest.raises(ValueError, match="latest_per_partition requires an artifact name"):
        list(Artifact.listall(latest_per_partition=True))

    async def aio() -> list[str]:
        return [a.run_name async for a in Artifact.listall.aio(name="events", region="eu")]

    assert asyncio.run(aio()) == [env["eu1"]]


def test_names_partition_values_and_the_value(env: dict[str, str]) -> None:
    groups = {g.name: g for g in Artifact.list_names()}
    assert set(groups) == {"events", "model"}
    assert groups["events"].versions == 3 and groups["events"].latest.run_name == env["us2"]
    assert Artifact.partition_values("events", "region") == ["eu", "us"]
    assert Artifact.partition_values("events", "date", region="us") == [date(2026, 9, 1), date(2026, 9, 2)]

    value = asyncio.run(Artifact.get("events", region="eu").to_python())
    assert isinstance(value, File)
    assert _read(value) == "eu day 1"
    model = asyncio.run(Artifact.get.aio("model"))
    assert _read(asyncio.run(model.to_python())) == "weights"


def test_flyte_get_artifact(env: dict[str, str]) -> None:
    import json

    from click.testing import CliRunner

    from flyte.cli.main import main

    def cli(*args: str) -> Any:
        done = CliRunner().invoke(main, ["get", "artifact", *args, "-of", "json"], catch_exceptions=False)
        assert done.exit_code == 0, done.output
        return json.loads(done.output)

    names = {g["name"]: g["versions"] for g in cli()}
    assert names == {"events": 3, "model": 1}
    assert [a["run_name"] for a in cli("events")] == [env["us2"], env["eu1"], env["us1"]]
    assert cli("model", "v1")["run_name"] == env["model"]
    assert [a["run_name"] for a in cli("--kind", "model")] == [env["model"]]
    assert [a["run_name"] for a in cli("--source-run", env["eu1"], "--attr", "team=ml")] == [env["eu1"]]
