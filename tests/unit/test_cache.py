"""Task caching with the contract's semantics, recorded in the run store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import flyte
from flyte._internal.run_config import flyte_home
from flyte._internal.store import TaskCache, open_store
from flyte.io import File
from flyte.remote import Run

env = flyte.TaskEnvironment(name="cached")
CALLS: list[str] = []


@env.task(cache="auto")
async def slow_square(x: int) -> int:
    CALLS.append(f"square {x}")
    return x * x


@env.task(cache=flyte.Cache(behavior="override", version_override="v1", ignored_inputs=("verbose",)))
async def pinned(x: int, verbose: bool = False) -> int:
    CALLS.append(f"pinned {x}")
    return x + 100


@env.task(cache="disable")
async def uncached(x: int) -> int:
    CALLS.append(f"uncached {x}")
    return x


@env.task
async def parent(n: int) -> list[int]:
    return [await slow_square(i) for i in range(n)]


def test_auto_cache_hits_across_runs_and_is_visible():
    CALLS.clear()
    first = flyte.run(parent, 3)
    second = flyte.run(parent, 3)
    assert first.outputs() == second.outputs() == ([0, 1, 4],)
    assert CALLS == ["square 0", "square 1", "square 2"]
    statuses = sorted(a.cache_status or "" for a in Run.get(second.name).actions()[1:])
    assert statuses == ["hit", "hit", "hit"]
    assert sorted(a.cache_status or "" for a in Run.get(first.name).actions()[1:]) == ["miss"] * 3


def test_different_inputs_miss():
    CALLS.clear()
    flyte.run(slow_square, 2)
    flyte.run(slow_square, 3)
    assert CALLS == ["square 2", "square 3"]


def test_ignored_inputs_and_version_override():
    CALLS.clear()
    assert flyte.run(pinned, 1).outputs() == (101,)
    assert flyte.run(pinned, 1, verbose=True).outputs() == (101,)
    assert CALLS == ["pinned 1"]


def test_disabled_cache_always_runs():
    CALLS.clear()
    flyte.run(uncached, 1)
    flyte.run(uncached, 1)
    assert CALLS == ["uncached 1", "uncached 1"]


def test_overwrite_cache_recomputes_and_replaces():
    CALLS.clear()
    flyte.run(slow_square, 5)
    run = flyte.with_runcontext(overwrite_cache=True).run(slow_square, 5)
    assert CALLS == ["square 5", "square 5"]
    assert run.action.cache_status == "overwritten"
    flyte.run(slow_square, 5)
    assert CALLS == ["square 5", "square 5"]


def test_clearing_the_cache():
    CALLS.clear()
    flyte.run(slow_square, 6)
    assert TaskCache(open_store(flyte_home())).clear() >= 1
    flyte.run(slow_square, 6)
    assert CALLS == ["square 6", "square 6"]


def _module(folder: Path, name: str, body: str) -> Path:
    folder.mkdir()
    path = folder / f"{name}.py"
    path.write_text(
        "import flyte\nenv = flyte.TaskEnvironment(name='edit')\n\n@env.task(cache='auto')\n"
        f"async def compute(x: int) -> int:\n    {body}\n"
    )
    return path


def test_editing_the_function_body_invalidates_auto_cache(tmp_path: Path):
    from flyte._internal.loader import load_module

    v1 = load_module(str(_module(tmp_path / "a", "m", "return x + 1")))
    assert flyte.run(v1.compute, 1).outputs() == (2,)
    assert next(Run.listall()).action.cache_status == "miss"
    assert flyte.run(v1.compute, 1).action.cache_status == "hit"
    v2 = load_module(str(_module(tmp_path / "b", "m2", "return x + 2")))
    run = flyte.run(v2.compute, 1)
    assert run.outputs() == (3,)
    assert run.action.cache_status == "miss"


SERIALIZED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import flyte
    env = flyte.TaskEnvironment(name="serial")
    MARKERS = Path(sys.argv[1])

    @env.task(cache=flyte.Cache(behavior="auto", serialize=True))
    async def expensive(x: int) -> int:
        with MARKERS.open("a") as f:
            f.write("executed\\n")
        time.sleep(1.5)
        return x * 10

    print(flyte.run(expensive, 4).outputs()[0])
    """
)


def test_serialize_executes_once_across_processes(tmp_path: Path):
    script = tmp_path / "serial.py"
    script.write_text(SERIALIZED)
    markers = tmp_path / "markers.txt"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(markers)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [o.strip() for o, _ in outs] == ["40", "40"], [e for _, e in outs]
    assert markers.read_text().splitlines() == ["executed"]


@env.task(cache=flyte.Cache(behavior="auto", serialize=True))
async def serial_in_process(x: int) -> int:
    CALLS.append(f"serial {x}")
    await asyncio.sleep(0.2)
    return x


@env.task
async def many_identical(n: int) -> list[int]:
    return list(await asyncio.gather(*(serial_in_process(7) for _ in range(n))))


def test_serialize_within_one_run():
    CALLS.clear()
    start = time.monotonic()
    assert flyte.run(many_identical, 4).outputs() == ([7, 7, 7, 7],)
    assert CALLS == ["serial 7"]
    assert time.monotonic() - start < 60


def test_cache_settings_are_validated():
    with pytest.raises(ValueError):
        flyte.Cache(behavior="sometimes")  # type: ignore[arg-type]


@env.task(cache="auto")
async def count_lines(f: File) -> int:
    CALLS.append("count_lines")
    async with f.open("rb") as fh:
        return len((await fh.read()).splitlines())


def test_file_inputs_are_keyed_by_content(tmp_path: Path):
    CALLS.clear()
    for folder, text in (("a", "1\n2\n"), ("b", "1\n2\n"), ("c", "1\n2\n3\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "data.txt").write_text(text)
    outputs = [
        flyte.run(count_lines, File.from_local_sync(str(tmp_path / folder / "data.txt"))).outputs()[0]
        for folder in ("a", "b", "c")
    ]
    assert outputs == [2, 2, 3]
    assert CALLS == ["count_lines", "count_lines"]  # b had a's content: a hit
