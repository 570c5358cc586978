"""The tasks of the conformance scenarios (one module, so that every backend can import it: in this
process, in a local worker process, and from the code bundle a devbox worker downloads).

Each root task is small and returns what its caller could see from inside the run (values, the
type and message of an error it caught, the attempt it ran on); the scenarios in
``test_scenarios.py`` add what a user sees from outside (phases, attempts, cache statuses, logs).
Files under the ``marker`` directory passed in count how often a body really ran, which is how a
scenario tells a replayed action or trace from one that ran again.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, NamedTuple, Optional, Union

from pydantic import BaseModel

import flyte
import flyte.errors
import flyte.report
from flyte.io import Dir, File

env = flyte.TaskEnvironment(name="conf")
with_env = flyte.TaskEnvironment(name="conf_env", env_vars={"CONF_LEVEL": "environment"})
with_secret = flyte.TaskEnvironment(name="conf_secret", secrets=flyte.Secret(key="conf-token"))
missing_secret = flyte.TaskEnvironment(name="conf_nosecret", secrets=flyte.Secret(key="conf-absent"))
limited = flyte.TaskEnvironment(name="conf_limited", resources=flyte.Resources(cpu=1, memory="200Mi"))

SECRET_ENV = "CONF_TOKEN"


def _bump(marker: str, name: str) -> int:
    """Count one more run of ``name`` under the ``marker`` directory; returns the new count."""
    path = Path(marker) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write("x")
    return len(path.read_text())


# -- values of every type family ------------------------------------------------------------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Point:
    x: int
    y: float
    label: str = "p"


class Model(BaseModel):
    name: str
    tags: list[str]
    score: Optional[float] = None


class Pair(NamedTuple):
    left: int
    right: str


@env.task
async def echo_int(x: int) -> int:
    return x + 1


@env.task
async def echo_float(x: float) -> float:
    return x * 2


@env.task
async def echo_str(s: str) -> str:
    return s.upper()


@env.task
async def echo_bool(b: bool) -> bool:
    return not b


@env.task
async def echo_bytes(b: bytes) -> bytes:
    return b[::-1]


@env.task
async def echo_list(xs: list[int]) -> list[int]:
    return [x * x for x in xs]


@env.task
async def echo_dict(d: dict[str, int]) -> dict[str, int]:
    return {k: v + 1 for k, v in d.items()}


@env.task
async def echo_nested(d: dict[str, list[dict[str, int]]]) -> dict[str, list[dict[str, int]]]:
    return {k: [{**item, "n": len(v)} for item in v] for k, v in d.items()}


@env.task
async def echo_optional(x: Optional[int] = None) -> Optional[int]:
    return None if x is None else x * 10


@env.task
async def echo_union(v: Union[int, str]) -> Union[int, str]:
    return v * 2


@env.task
async def echo_literal(mode: Literal["fast", "slow"]) -> str:
    return f"mode={mode}"


@env.task
async def echo_enum(c: Color) -> Color:
    return Color.GREEN if c is Color.RED else Color.RED


@env.task
async def echo_dataclass(p: Point) -> Point:
    return Point(p.x + 1, p.y * 2, p.label + "!")


@env.task
async def echo_pydantic(m: Model) -> Model:
    return Model(name=m.name.title(), tags=sorted(m.tags), score=(m.score or 0) + 1)


@env.task
async def echo_datetime(t: datetime, d: timedelta) -> datetime:
    return t + d


@env.task
async def two_outputs(x: int) -> tuple[int, str]:
    return x, f"x={x}"


@env.task
async def named_tuple(x: int) -> Pair:
    return Pair(x, str(x))


@env.task
async def defaults(a: int = 3, b: str = "b") -> str:
    return f"{a}{b}"


@env.task
async def returns_nothing(x: int) -> None:
    print(f"nothing for {x}")


@env.task
async def write_file(text: str) -> File:
    path = Path(flyte.ctx().raw_data_path.path) / f"conf-{flyte.ctx().action.name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return await File.from_local(str(path))


@env.task
async def read_file(f: File) -> str:
    async with f.open("rb") as fh:
        return (await fh.read()).decode()


@env.task
async def file_round_trip(text: str) -> str:
    return await read_file(await write_file(text))


@env.task
async def write_dir(n: int) -> Dir:
    root = Path(flyte.ctx().raw_data_path.path) / f"conf-dir-{flyte.ctx().action.name}"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"f{i}.txt").write_text(str(i))
    return await Dir.from_local(str(root))


@env.task
async def dir_round_trip(n: int) -> list[str]:
    d = await write_dir(n)
    local = Path(await d.download())
    return sorted(f"{p.name}={p.read_text()}" for p in local.iterdir())


@env.task
async def passes_values_on(p: Point, m: Model, c: Color) -> str:
    q, n, k = await echo_dataclass(p), await echo_pydantic(m), await echo_enum(c)
    return f"{q.x},{q.y},{q.label}|{n.name},{n.tags},{n.score}|{k.value}"


# -- structure: chains, fan-out, sync tasks, map ----------------------------------------------------------


@env.task
async def leaf(x: int) -> int:
    return x * x


@env.task
async def middle(x: int) -> int:
    return await leaf(x) + 1


@env.task
async def chain(x: int) -> int:
    return await middle(x) + await middle(x + 1)


@env.task
async def fanout(n: int) -> int:
    return sum(await asyncio.gather(*(leaf(i) for i in range(n))))


@env.task
def sync_leaf(x: int) -> int:
    return x + 100


@env.task
def sync_parent(x: int) -> int:
    return sync_leaf(x) + sync_leaf(x + 1)


@env.task
async def async_calls_sync(x: int) -> int:
    return await sync_leaf.aio(x)


@env.task
async def maps(n: int) -> list[int]:
    return list(flyte.map(leaf, range(n)))


@env.task
async def map_with_concurrency(n: int) -> list[int]:
    return list(flyte.map(leaf, range(n), concurrency=2))


# -- errors -----------------------------------------------------------------------------------------------


class ConfError(Exception):
    """A user exception class: it must reach the parent (and flyte.run's caller) as itself."""


@env.task
async def raises_value_error(x: int) -> int:
    raise ValueError(f"bad value {x}")


@env.task
async def raises_custom(x: int) -> int:
    raise ConfError(f"custom failure {x}")


@env.task
async def raises_user_error(x: int) -> int:
    raise flyte.errors.RuntimeUserError("ConfCode", f"coded failure {x}")


@env.task
async def raises_unicode(x: int) -> int:
    raise ValueError(f"échec ✗ {x}")


@env.task
def sync_raises(x: int) -> int:
    raise KeyError(f"missing {x}")


@env.task
async def catches_value_error(x: int) -> str:
    try:
        await raises_value_error(x)
    except ValueError as e:
        return f"{type(e).__name__}|{e}|{isinstance(e, flyte.errors.RuntimeUserError)}"
    return "not raised"


@env.task
async def catches_custom(x: int) -> str:
    try:
        await raises_custom(x)
    except ConfError as e:
        return f"{type(e).__name__}|{e}|{isinstance(e, flyte.errors.RuntimeUserError)}"
    return "not raised"


@env.task
async def catches_as_runtime_user_error(x: int) -> str:
    try:
        await raises_value_error(x)
    except flyte.errors.RuntimeUserError as e:
        return f"{e.code}|{e}"
    return "not raised"


@env.task
async def catches_coded(x: int) -> str:
    try:
        await raises_user_error(x)
    except flyte.errors.RuntimeUserError as e:
        return f"{type(e).__name__}|{e.code}|{e}"
    return "not raised"


@env.task
def sync_catches(x: int) -> str:
    try:
        sync_raises(x)
    except KeyError as e:
        return f"{type(e).__name__}|{e}"
    return "not raised"


@env.task
async def reraises_from_grandchild(x: int) -> int:
    return await catches_nothing(x)


@env.task
async def catches_nothing(x: int) -> int:
    return await raises_value_error(x)


@env.task
async def catches_grandchild(x: int) -> str:
    try:
        await reraises_from_grandchild(x)
    except ValueError as e:
        return f"{type(e).__name__}|{e}"
    return "not raised"


@env.task
async def gather_one_fails(n: int) -> str:
    results = await asyncio.gather(
        *(leaf(i) for i in range(n)), raises_value_error(n), return_exceptions=True
    )
    return "|".join(type(r).__name__ if isinstance(r, BaseException) else str(r) for r in results)


@env.task
async def raises_after_print(x: int) -> int:
    print(f"about to fail {x}")
    raise RuntimeError(f"failed after printing {x}")


# -- retries and backoff -------------------------------------------------------------------------------------


@env.task(retries=2)
async def flaky(marker: str) -> str:
    tries = _bump(marker, "flaky")
    if tries < 3:
        raise ConnectionError(f"try {tries} lost the connection")
    return f"attempt {flyte.ctx().attempt_number} after {tries} tries"


@env.task(retries=2)
async def always_fails(marker: str) -> str:
    tries = _bump(marker, "always")
    raise ValueError(f"try {tries} failed")


@env.task(retries=flyte.RetryStrategy(count=1, backoff=0.5))
async def backs_off(marker: str) -> float:
    stamps = Path(marker) / "stamps"
    stamps.parent.mkdir(parents=True, exist_ok=True)
    with open(stamps, "a") as f:
        f.write(f"{time.time()}\n")
    times = [float(t) for t in stamps.read_text().split()]
    if len(times) < 2:
        raise ConnectionError("first attempt fails")
    return times[1] - times[0]


@env.task(retries=3)
async def non_recoverable(marker: str) -> str:
    tries = _bump(marker, "nonrec")
    raise flyte.errors.NonRecoverableError(f"give up at try {tries}")


@env.task(retries=1)
def sync_flaky(marker: str) -> int:
    tries = _bump(marker, "sync_flaky")
    if tries < 2:
        raise OSError("sync try fails")
    return flyte.ctx().attempt_number


@env.task
async def catches_exhausted(marker: str) -> str:
    try:
        await always_fails(marker)
    except ValueError as e:
        return f"{type(e).__name__}|{e}"
    return "not raised"


# -- cache --------------------------------------------------------------------------------------------------


@env.task(cache="auto")
async def cached_square(marker: str, x: int) -> int:
    _bump(marker, f"cached_square_{x}")
    return x * x


@env.task(cache=flyte.Cache(behavior="override", version_override="v1"))
async def cached_v1(marker: str, x: int) -> int:
    _bump(marker, "cached_v1")
    return x + 1


@env.task(cache=flyte.Cache(behavior="auto", ignored_inputs=("marker",)))
async def cached_ignoring(marker: str, x: int) -> int:
    _bump(marker, "cached_ignoring")
    return x * 3


@env.task(cache="disable")
async def not_cached(marker: str, x: int) -> int:
    _bump(marker, "not_cached")
    return x


@env.task(cache="auto")
async def cached_failure(marker: str, x: int) -> int:
    _bump(marker, "cached_failure")
    raise ValueError("failures are never cached")


@env.task
async def uses_cache(marker: str, x: int) -> int:
    return await cached_square(marker, x) + await cached_square(marker, x + 1)


# -- recover ------------------------------------------------------------------------------------------------


@env.task
async def step(marker: str, i: int) -> int:
    _bump(marker, f"step_{i}")
    return i * 10


@env.task
async def fails_unless(marker: str) -> int:
    _bump(marker, "fails_unless")
    if not (Path(marker) / "allow").exists():
        raise RuntimeError("not allowed yet")
    return 5


@flyte.trace
async def traced_double(marker: str, x: int) -> int:
    _bump(marker, "traced_double")
    return 2 * x


@env.task
async def recoverable(marker: str) -> int:
    a = await step(marker, 1)
    b = await step(marker, 2)
    t = await traced_double(marker, 21)
    c = await fails_unless(marker)
    return a + b + t + c


# -- abort and timeouts --------------------------------------------------------------------------------------


@env.task
async def sleeper(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "woke"


@env.task
def sync_sleeper(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


@env.task
async def waits_on_sleepers(seconds: float) -> str:
    a, b = await asyncio.gather(sleeper(seconds), sync_sleeper.aio(seconds))
    return a + b


@env.task
async def catches_an_aborted_child(seconds: float) -> str:
    """The child is aborted alone (``flyte abort action``): its parent catches the error."""
    try:
        return await sleeper(seconds)
    except flyte.errors.ActionAbortedError as e:
        return f"caught: {e}"


@env.task(timeout=0.5)
async def async_too_slow(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "finished"


@env.task(timeout=0.5)
def sync_too_slow(seconds: float) -> str:
    time.sleep(seconds)
    return "finished"


@env.task(timeout=flyte.Timeout(max_runtime=timedelta(milliseconds=500)))
async def timeout_object(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "finished"


@env.task(timeout=0.5, retries=1)
async def timeout_retried(marker: str) -> str:
    tries = _bump(marker, "timeout_retried")
    if tries < 2:
        await asyncio.sleep(30)
    return f"second try {tries}"


@env.task(timeout=flyte.Timeout(deadline=1.0), retries=5)
async def deadline_bound(marker: str) -> str:
    _bump(marker, "deadline")
    await asyncio.sleep(0.4)
    raise ConnectionError("keeps failing")


@env.task
async def catches_timeout(seconds: float) -> str:
    caught = []
    for call in (async_too_slow, sync_too_slow.aio, timeout_object):
        try:
            await call(seconds)
            caught.append("finished")
        except flyte.errors.TaskTimeoutError as e:
            caught.append(type(e).__name__)
    return "|".join(caught)


@env.task
async def override_timeout(seconds: float) -> str:
    try:
        await sleeper.override(timeout=0.5)(seconds)
        return "finished"
    except flyte.errors.MaxRuntimeExceededError as e:
        return type(e).__name__


# -- resources ---------------------------------------------------------------------------------------------


@limited.task
def allocates(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touch every page so that it is resident
        block[i] = 1
    time.sleep(0.5)
    return len(block) // (1024 * 1024)


@env.task
async def catches_oom(megabytes: int) -> str:
    try:
        return str(await allocates.aio(megabytes))
    except flyte.errors.OOMError as e:
        return type(e).__name__


@env.task
async def over_the_node(x: int) -> int:
    return await leaf.override(resources=flyte.Resources(cpu=64))(x)


# -- secrets, env vars, context -----------------------------------------------------------------------------


@with_secret.task
async def reads_secret() -> str:
    value = os.environ[SECRET_ENV]
    print(f"the token is {value}")
    logging.getLogger("conf").warning("logged token %s", value)
    return f"length {len(value)}"


@with_secret.task
async def secret_in_error() -> str:
    raise ValueError(f"token {os.environ[SECRET_ENV]} rejected")


@missing_secret.task
async def needs_missing_secret() -> str:
    return "ran"


@with_env.task
async def reads_env() -> str:
    return f"{os.environ.get('CONF_LEVEL', '<unset>')}|{os.environ.get('CONF_RUN', '<unset>')}"


@env.task
async def env_layers() -> str:
    plain = await reads_env()
    overridden = await reads_env.override(env_vars={"CONF_LEVEL": "override"})()
    return f"{plain}/{overridden}"


@env.task
async def context_of() -> str:
    ctx = flyte.ctx()
    group = ctx.group_data.name if ctx.group_data else None
    return f"{ctx.action.run_name == ctx.action.run_name}|{ctx.attempt_number}|{group}|{flyte.get_custom_context()}"


@env.task
async def in_groups() -> str:
    with flyte.group("first"):
        a = await context_of()
    with flyte.group("second"), flyte.custom_context(team="blue"):
        b = await context_of()
    return f"{a}/{b}"


@env.task
async def project_domain() -> str:
    return f"{flyte.current_project()}/{flyte.current_domain()}"


# -- logs ---------------------------------------------------------------------------------------------------


@env.task
async def prints(x: int) -> int:
    print(f"stdout line {x}")
    print(f"stderr line {x}", file=sys.stderr)
    logging.getLogger("conf").warning("logging line %d", x)
    return x


@env.task
def sync_prints(x: int) -> int:
    print(f"sync stdout {x}")
    return x


# -- traces -------------------------------------------------------------------------------------------------


@flyte.trace
async def traced_add(a: int, b: int) -> int:
    return a + b


@flyte.trace
async def traced_fails(a: int) -> int:
    raise ValueError(f"trace failed {a}")


@env.task
async def uses_traces(x: int) -> str:
    s = await traced_add(x, 1)
    t = await traced_add(s, 2)
    try:
        await traced_fails(x)
        caught = "nothing"
    except ValueError as e:
        caught = str(e)
    return f"{s}|{t}|{caught}"


# -- reports -------------------------------------------------------------------------------------------------


@env.task(report=True)
async def writes_report(title: str) -> str:
    flyte.report.log(f"<h1>{title}</h1>")
    await flyte.report.flush.aio()
    return "reported"


# -- clock -------------------------------------------------------------------------------------------------


@env.task
async def utc_now_after(t: datetime) -> bool:
    return datetime.now(timezone.utc) > t


# -- concurrency and queueing ---------------------------------------------------------------------------------


@env.task
async def probe(marker: str, i: int, n: int = 1) -> int:
    """How many probes were running at once while this one ran: it waits (up to 2 s) for all ``n``
    to be running, so that an executor slow to start them (Ray starting its worker processes) still
    shows them overlapping when nothing limits them."""
    root = Path(marker) / "running"
    root.mkdir(parents=True, exist_ok=True)
    mine = root / str(i)
    mine.touch()
    seen = 1
    for _ in range(40):
        await asyncio.sleep(0.05)
        seen = max(seen, len(list(root.iterdir())))
        if seen >= n:
            break
    await asyncio.sleep(0.1)  # the others see this one too
    seen = max(seen, len(list(root.iterdir())))
    mine.unlink()
    return seen


@env.task
async def probes(marker: str, n: int) -> int:
    return max(await asyncio.gather(*(probe(marker, i, n) for i in range(n))))


@env.task
async def whole_node_probes(marker: str, n: int) -> int:
    """``n`` probes that each ask for every CPU of the node: admitted one at a time."""
    heavy = probe.override(resources=flyte.Resources(cpu=os.cpu_count() or 1))
    return max(await asyncio.gather(*(heavy(marker, i, n) for i in range(n))))


@env.task(timeout=flyte.Timeout(max_queued_time=0.3))
async def impatient(x: int) -> int:
    return x


@env.task
async def queues_behind(seconds: float) -> str:
    holder = asyncio.ensure_future(sleeper(seconds))
    await asyncio.sleep(0.2)  # the holder has the only slot now
    try:
        return str(await impatient(1))
    except flyte.errors.MaxQueuedTimeExceededError as e:
        return type(e).__name__
    finally:
        await holder


# -- a sync task defined inside a function ---------------------------------------------------------------------


def _make_inner_spinner():  # noqa: ANN202 (a task template)
    inner = flyte.TaskEnvironment(name="conf_inner")

    @inner.task(timeout=0.5)
    def spins_then_marks(marker: str) -> str:
        time.sleep(2.0)
        _bump(marker, "inner_ran_on")  # must never happen: the attempt was stopped at 0.5 s
        return "ran on"

    return spins_then_marks


@env.task
async def calls_inner_spinner(marker: str) -> str:
    try:
        return await _make_inner_spinner().aio(marker)
    except flyte.errors.MaxRuntimeExceededError as e:
        return type(e).__name__


@env.task(timeout=0.5)
def sync_spins_then_marks(marker: str) -> str:
    time.sleep(2.0)
    _bump(marker, "sync_ran_on")  # must never happen: the attempt was stopped at 0.5 s
    return "ran on"


def _make_inner_adder(k: int):  # noqa: ANN202 (a task template)
    inner = flyte.TaskEnvironment(name="conf_inner_add")

    @inner.task
    async def adds(x: int) -> int:
        return x + k

    return adds


@env.task
async def calls_inner_adder(x: int) -> int:
    return await _make_inner_adder(10)(x)


@env.task
def sync_sleeps_then_marks(marker: str, seconds: float) -> str:
    time.sleep(seconds)
    _bump(marker, "sync_after_abort")  # must never happen when the run was aborted meanwhile
    return "ran on"


@env.task
async def waits_on_sync_sleeper(marker: str, seconds: float) -> str:
    return await sync_sleeps_then_marks.aio(marker, seconds)
