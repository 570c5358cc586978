"""Local runs whose data lives in S3 (a real moto server): File, Dir and DataFrame written by one
task and read by another, the objects visible in the bucket; and a File passed between two
processes that share nothing but the bucket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
from s3_server import S3Server, list_bucket

import flyte
from flyte.io import DataFrame, Dir, File

env = flyte.TaskEnvironment(name="s3_local")


@env.task
async def make_file(text: str) -> File:
    f = File.new_remote("greeting.txt")
    async with f.open("wb") as fh:
        await fh.write(text.encode())
    return f


@env.task
async def make_dir(n: int) -> Dir:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            sub = Path(tmp) / ("nested" if i % 2 else "")
            sub.mkdir(exist_ok=True)
            (sub / f"part-{i}.txt").write_text(f"part {i}")
        return await Dir.from_local(tmp)


@env.task
async def make_frame(n: int) -> DataFrame:
    return DataFrame.wrap_df(pd.DataFrame({"x": list(range(n)), "y": [i * i for i in range(n)]}))


@env.task
async def consume(f: File, d: Dir, df: DataFrame) -> dict[str, str]:
    async with f.open("rb") as fh:
        text = (await fh.read()).decode()
    names = sorted([g.name async for g in d.walk()])
    local_dir = await d.download()
    frame = await df.open(pd.DataFrame).all()
    return {
        "text": text,
        "names": ",".join(names),
        "nested": (Path(local_dir) / "nested" / "part-1.txt").read_text(),
        "ysum": str(int(frame["y"].sum())),
        "paths": " ".join([f.path, d.path, df.uri or ""]),
    }


@env.task
async def pipeline(n: int) -> dict[str, str]:
    f = await make_file("hello from s3")
    d = await make_dir(n)
    df = await make_frame(n)
    return await consume(f, d, df)


def test_file_dir_dataframe_between_tasks_live_in_the_bucket(bucket: str, s3_env: S3Server):
    flyte.init()
    run = flyte.with_runcontext(raw_data_path=f"s3://{bucket}/raw").run(pipeline, 4)
    out = run.outputs()[0]
    assert out["text"] == "hello from s3"
    assert out["names"] == "part-0.txt,part-1.txt,part-2.txt,part-3.txt"
    assert out["nested"] == "part 1"
    assert out["ysum"] == str(sum(i * i for i in range(4)))
    assert all(p.startswith(f"s3://{bucket}/raw/") for p in out["paths"].split())

    keys = list_bucket(s3_env, bucket)
    assert any(k.endswith("/greeting.txt") for k in keys), keys
    assert sum(k.endswith(".txt") and "/part-" in k for k in keys) == 4
    assert any(k.endswith("/data.parquet") for k in keys), keys
    assert all(k.startswith("raw/") for k in keys)
    # Nothing of it on local disk: the run's data directory under FLYTE_HOME stays empty.
    home_data = Path(os.environ["FLYTE_HOME"]) / "data"
    assert not home_data.exists() or not any(p.is_file() for p in home_data.rglob("*"))


def test_file_apis_on_s3_urls(bucket: str, s3_env: S3Server, tmp_path: Path):
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "notes.txt"
    src.write_text("one\ntwo\n")
    f = File.from_local_sync(src, f"s3://{bucket}/explicit/")
    assert f.path == f"s3://{bucket}/explicit/notes.txt"
    assert f.exists_sync()
    with f.open_sync("r") as fh:
        assert fh.read() == "one\ntwo\n"
    assert Path(f.download_sync(tmp_path / "dl")).read_text() == "one\ntwo\n"

    gz = File(path=f"s3://{bucket}/explicit/data.txt.gz")
    with gz.open_sync("wt", compression="infer") as fh:
        fh.write("compressed text")
    with gz.open_sync("rt", compression="infer") as fh:
        assert fh.read() == "compressed text"
    assert gz.hash is not None and len(gz.hash) == 64
    assert not File.from_existing_remote(f"s3://{bucket}/explicit/absent").exists_sync()

    d = Dir.from_local_sync(tmp_path / "src", f"s3://{bucket}/tree")
    assert d.exists_sync()
    got = d.get_file_sync("notes.txt")
    assert got is not None and got.path == f"s3://{bucket}/tree/notes.txt"
    assert d.get_file_sync("absent.txt") is None
    assert [x.name for x in d.list_files_sync()] == ["notes.txt"]


_WRITER = """
import sys, flyte
from flyte.io import File

env = flyte.TaskEnvironment(name="writer")

@env.task
async def write(text: str) -> File:
    f = File.new_remote("shared.txt")
    async with f.open("wb") as fh:
        await fh.write(text.encode())
    return f

flyte.init()
run = flyte.with_runcontext(raw_data_path=sys.argv[1]).run(write, "written by process one")
print(run.outputs()[0].path)
"""

_READER = """
import json, os, sys, flyte
from flyte.io import File

env = flyte.TaskEnvironment(name="reader")

@env.task
async def read(f: File) -> str:
    async with f.open("rb") as fh:
        return (await fh.read()).decode()

flyte.init()
run = flyte.run(read, File.from_existing_remote(sys.argv[1]))
print(json.dumps({"text": run.outputs()[0], "pid": os.getpid()}))
"""


def test_a_file_passes_between_two_processes_through_the_bucket_only(
    bucket: str, s3_env: S3Server, tmp_path: Path
):
    def run(script: str, arg: str, home: Path) -> str:
        (tmp_path / "script.py").write_text(textwrap.dedent(script))
        env_vars = {**os.environ, "FLYTE_HOME": str(home), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        proc = subprocess.run(
            [sys.executable, str(tmp_path / "script.py"), arg],
            env=env_vars, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[-1]

    path = run(_WRITER, f"s3://{bucket}/one", tmp_path / "home-one")
    assert path.startswith(f"s3://{bucket}/one/") and path.endswith("/shared.txt")
    out = json.loads(run(_READER, path, tmp_path / "home-two"))  # another home: no shared disk state
    assert out["text"] == "written by process one"
    assert out["pid"] != os.getpid()


@env.task(report=True)
async def reporting() -> str:
    import flyte.report

    flyte.report.log("<h1>kept in the bucket</h1>")
    return "done"


def test_a_report_lives_in_the_bucket_with_the_data(bucket: str, s3_env: S3Server):
    flyte.init()
    run = flyte.with_runcontext(raw_data_path=f"s3://{bucket}/raw").run(reporting)
    assert run.outputs()[0] == "done"
    reports = [k for k in list_bucket(s3_env, bucket) if k.startswith("raw/reports/")]
    assert len(reports) == 1 and reports[0].endswith("/report.html"), reports
    with File.from_existing_remote(f"s3://{bucket}/{reports[0]}").open_sync("r") as fh:
        assert "kept in the bucket" in fh.read()
