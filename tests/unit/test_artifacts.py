"""flyte.artifacts: outputs published with metadata, recorded with the run and read back."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import flyte
import flyte.artifacts as artifacts
from flyte.io import File

env = flyte.TaskEnvironment(name="artifact_tests")


@env.task(produces_artifacts=True)
async def train(tag: str, src: str) -> File:
    weights = await File.from_local(src)
    metadata = artifacts.Metadata.create_model_metadata(
        name="sentiment", description=f"trained {tag}", framework="torch", partitions={"region": tag}
    )
    return artifacts.new(weights, metadata)


@env.task
async def read(f: File) -> str:
    async with f.open("rb") as fh:
        return (await fh.read()).decode()


@env.task
async def pipeline(tag: str, src: str) -> str:
    model = await train(tag, src)
    return await read(model)


def test_new_wraps_only_offloaded_data_and_behaves_like_the_value(tmp_path: Path):
    src = tmp_path / "w.bin"
    src.write_text("w")
    f = File(path=str(src))
    wrapped = artifacts.new(f, artifacts.Metadata(name="m"))
    assert isinstance(wrapped, File)
    assert wrapped.path == f.path
    assert wrapped.get_artifact_metadata() == artifacts.Metadata(name="m")  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="a int cannot be an artifact"):
        artifacts.new(3, artifacts.Metadata(name="m"))


def test_metadata_is_validated():
    with pytest.raises(ValueError, match="name must be a non-empty"):
        artifacts.Metadata(name="")
    with pytest.raises(ValueError, match="kind must be"):
        artifacts.Metadata(name="m", kind="weights")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at most one time partition"):
        artifacts.Metadata(
            name="m", partitions={"a": datetime.date(2026, 1, 1), "b": datetime.date(2026, 1, 2)}
        )
    with pytest.raises(ValueError, match="partition 'region' is None"):
        artifacts.Metadata(name="m", partitions={"region": None})
    with pytest.raises(ValueError, match="at most 32 parents"):
        artifacts.Metadata(name="m", parents=tuple(str(i) for i in range(33)))
    md = artifacts.Metadata(name="m", kind="data", attrs={"k": "v"})
    assert md.resolved_attrs() == {"k": "v", artifacts.KIND_KEY: "data"}


def test_an_artifact_is_recorded_with_its_run_and_read_back(tmp_path: Path):
    src = tmp_path / "weights.bin"
    src.write_text("the weights")
    run = flyte.with_runcontext(name="art-1").run(pipeline, "us", str(src))
    assert run.outputs() == ("the weights",)  # the consumer got the unwrapped File

    produced = artifacts.produced_by("art-1")
    assert len(produced) == 1
    assert artifacts.produced_by(run) == produced  # the run itself names it too
    a = produced[0]
    assert (a.name, a.task_name, a.output, a.run_name) == ("sentiment", "artifact_tests.train", "o0", "art-1")
    assert a.version == f"art-1/{a.action_name}"
    assert a.kind == "model"
    assert a.attrs["framework"] == "torch"
    assert a.partitions == {"region": "us"}
    assert a.description == "trained us"
    assert isinstance(a.value, File)
    assert Path(a.value.path).read_text() == "the weights"

    # the action's recorded outputs are the plain File, without the artifact record
    train_action = next(x for x in flyte.remote.Run.get("art-1").actions() if x.name == a.action_name)
    (value,) = train_action.outputs()
    assert not isinstance(value, dict) or "_artifacts" not in value


def test_find_returns_the_newest_matching_version(tmp_path: Path):
    src = tmp_path / "w.bin"
    src.write_text("v")
    flyte.with_runcontext(name="art-us").run(train, "us", str(src))
    flyte.with_runcontext(name="art-eu").run(train, "eu", str(src))
    assert artifacts.find("sentiment").run_name == "art-eu"
    assert artifacts.find("sentiment", region="us").run_name == "art-us"
    with pytest.raises(LookupError, match="No artifact 'sentiment' with partitions"):
        artifacts.find("sentiment", region="apac")
    with pytest.raises(flyte.errors.ActionNotFoundError):
        artifacts.produced_by("no-such-run")
    with pytest.raises(TypeError, match="expected a run or a run name, got int"):
        artifacts.produced_by(3)


@env.task
async def pinned(src: str) -> File:
    f = await File.from_local(src)
    return artifacts.new(f, artifacts.Metadata(name="pinned", version="1.0", parents=("0.9",)))


def test_an_explicit_version_and_parents_are_kept(tmp_path: Path):
    src = tmp_path / "w.bin"
    src.write_text("v")
    flyte.with_runcontext(name="art-pinned").run(pinned, str(src))
    a = artifacts.find("pinned", version="1.0")
    assert a.parents == ("0.9",)
    assert a.run_name == "art-pinned"


def test_produces_artifacts_is_a_task_option():
    assert train.produces_artifacts is True
    assert read.produces_artifacts is False
    assert read.override(produces_artifacts=True).produces_artifacts is True
