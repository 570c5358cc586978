"""A large ``File`` through S3 between two tasks, beside a direct upload + download with obstore.

    python benchmarks/s3_file.py                   # 100 MB through a moto server started here
    python benchmarks/s3_file.py --quick           # 10 MB, one run: a smoke test
    python benchmarks/s3_file.py --size-mb 500 --repeat 3 --json out.json
    python benchmarks/s3_file.py --endpoint http://127.0.0.1:9000 --bucket bench
                                                   # an S3 server of yours (AWS_* credentials)

Both sides move the same local file, in the same process, against the same server, with the same
library (obstore): the baseline is ``obstore.put`` of the file (multipart, like ours) then a
streamed ``obstore.get`` to a local file. The flyte side is a local run with
``raw_data_path=s3://...``: one task stores the file with ``File.from_local`` (which also hashes
it), another downloads it with ``File.download`` and checks its size. The best of ``--repeat``
runs is kept. Target: flyte within 2x of the baseline's wall time.

Without ``--endpoint`` a moto server (``pip install 'moto[server]'``) runs on a free loopback port,
in its own process group, stopped at the end. Exit status: 0 when both sides ran (target met or
not), 1 when one failed; with ``--strict``, 2 when the target was missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if importlib.util.find_spec("flyte") is None:  # an installed flyte-engine (or PYTHONPATH) wins
    sys.path.insert(0, str(HERE.parent / "src"))

import flyte  # noqa: E402
from flyte.io import File  # noqa: E402

TARGET_RATIO = 2.0
BENCH_KEY_ID = "AKIABENCHMARK0000001"
BENCH_SECRET = "benchmark-only-secret"  # for the throw-away moto server only

env = flyte.TaskEnvironment(name="s3_bench")


@env.task
async def store_file(local_path: str) -> File:
    return await File.from_local(local_path)


@env.task
async def fetch_file(f: File, into: str) -> int:
    return os.path.getsize(await f.download(into))


@env.task
async def pass_file(local_path: str, into: str) -> int:
    return await fetch_file(await store_file(local_path), into)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 in its own process group; yields its endpoint."""
    import httpx

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def obstore_client(bucket: str) -> Any:
    """An obstore client configured from the environment, as the engine's own is."""
    from obstore.store import S3Store

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    return S3Store(bucket, client_options={"allow_http": endpoint.startswith("http://")})


def direct(client: Any, src: Path, workdir: Path) -> float:
    """Wall time of ``obstore.put`` of ``src`` then a streamed ``obstore.get`` to a local file."""
    import obstore

    key = f"direct/{uuid.uuid4().hex}/{src.name}"
    target = workdir / f"direct-{uuid.uuid4().hex}"
    start = time.perf_counter()
    obstore.put(client, key, src, chunk_size=8 * 1024 * 1024, max_concurrency=8)
    with open(target, "wb") as out:
        for chunk in obstore.get(client, key).stream(min_chunk_size=8 * 1024 * 1024):
            out.write(chunk)
    took = time.perf_counter() - start
    assert target.stat().st_size == src.stat().st_size
    target.unlink()
    return took


def through_flyte(bucket: str, src: Path, workdir: Path) -> float:
    """Wall time of a local run that passes ``src`` as a File from one task to another via S3."""
    target = workdir / f"flyte-{uuid.uuid4().hex}"
    target.mkdir()
    # A fresh prefix each time: the content-addressed key would otherwise skip the upload.
    raw = f"s3://{bucket}/flyte/{uuid.uuid4().hex}"
    start = time.perf_counter()
    run = flyte.with_runcontext(raw_data_path=raw).run(pass_file, str(src), str(target) + "/")
    size = run.outputs()[0]
    took = time.perf_counter() - start
    assert size == src.stat().st_size, size
    return took


def table(rows: list[list[str]]) -> str:
    headers = ["workload", "flyte", "direct obstore", "ratio", "target", "status"]
    widths = [max(len(x) for x in col) for col in zip(headers, *rows, strict=True)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10 MB, one run")
    parser.add_argument("--size-mb", type=int, default=None, help="file size in MB (default 100)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per side (default 3)")
    parser.add_argument("--endpoint", default=None, help="an S3 server to use instead of moto")
    parser.add_argument("--bucket", default="flyte-bench", help="bucket (created on moto)")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    parser.add_argument("--strict", action="store_true", help="exit 2 when the target is missed")
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (10 if args.quick else 100)
    repeat = args.repeat or (1 if args.quick else 3)

    with tempfile.TemporaryDirectory(prefix="flyte-s3-bench-") as tmp:
        workdir = Path(tmp)
        os.environ["FLYTE_HOME"] = str(workdir / "flyte-home")
        src = workdir / "payload.bin"
        with open(src, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1_000_000))
        server = moto_server() if args.endpoint is None else _given(args.endpoint)
        with server as endpoint:
            if args.endpoint is None:
                os.environ.update(
                    AWS_ACCESS_KEY_ID=BENCH_KEY_ID, AWS_SECRET_ACCESS_KEY=BENCH_SECRET,
                    AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
                )  # fmt: skip
                import httpx

                httpx.put(f"{endpoint}/{args.bucket}").raise_for_status()
            flyte.init()
            client = obstore_client(args.bucket)
            times: dict[str, list[float]] = {"direct": [], "flyte": []}
            try:
                for i in range(repeat):  # alternate, so that neither side always runs on a warmer server
                    times["direct"].append(direct(client, src, workdir))
                    times["flyte"].append(through_flyte(args.bucket, src, workdir))
                    print(
                        f"  run {i + 1}/{repeat}: direct {times['direct'][-1]:.2f} s, "
                        f"flyte {times['flyte'][-1]:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            except Exception as e:
                print(f"benchmark failed: {type(e).__name__}: {e}", file=sys.stderr)
                return 1
    best = {k: min(v) for k, v in times.items()}
    ratio = best["flyte"] / best["direct"]
    met = ratio <= TARGET_RATIO
    name = f"file_s3 ({size_mb} MB{', moto' if args.endpoint is None else ''})"
    print(
        table(
            [
                [
                    name,
                    f"{best['flyte']:.2f} s",
                    f"{best['direct']:.2f} s",
                    f"{ratio:.2f}x",
                    f"<= {TARGET_RATIO:g}x direct",
                    "met" if met else "MISSED",
                ]
            ]
        )
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"size_mb": size_mb, "repeat": repeat, "times": times, "best": best, "ratio": ratio}, indent=2
            )
        )
    return 2 if args.strict and not met else 0


@contextmanager
def _given(endpoint: str) -> Iterator[str]:
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint)
    yield endpoint


if __name__ == "__main__":
    sys.exit(main())
