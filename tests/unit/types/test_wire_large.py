"""Large ``bytes`` values take a packing path of their own: it must give the very same bytes."""

from __future__ import annotations

import pytest

import flyte
from flyte._internal.digest import LARGE, identity_digest
from flyte.types import TypeEngine, _wire


@pytest.mark.parametrize(
    "wire",
    [
        {"data": bytes(range(256)) * 8192},
        {"a": b"\x01" * (2 << 20), "b": 3, "c": "x" * 40, "d": [1, 2, {"e": b"zz"}], "f": None},
        {f"k{i}": bytes([i]) * 70_000 for i in range(20)},  # more than 15 keys: a map16 header
    ],
)
def test_large_map_packs_byte_for_byte_as_msgpack_does(wire: dict) -> None:
    assert _wire.packb_large(wire) == _wire.packb(wire)
    assert _wire.unpackb(_wire.packb_large(wire)) == wire


def test_large_bytes_round_trip_through_the_engine() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    encoded = TypeEngine.encode_values({"data": payload, "n": 7}, {"data": bytes, "n": int})
    assert encoded == _wire.packb({"data": payload, "n": 7})
    assert TypeEngine.decode_values(encoded, {"data": bytes, "n": int}) == {"data": payload, "n": 7}


def test_identity_digest_keeps_small_inputs_ids_and_names_large_ones_by_sha256() -> None:
    import hashlib

    small = b"x" * (LARGE - 1)
    big = b"x" * LARGE
    assert identity_digest(small) == hashlib.blake2b(small, digest_size=16).hexdigest()
    assert identity_digest(big) == hashlib.sha256(big).hexdigest()[:32]


env = flyte.TaskEnvironment(name="wire_large")


@env.task
async def produce(n: int) -> bytes:
    return bytes(range(256)) * (n // 256)


@env.task
async def consume(data: bytes) -> int:
    return sum(data[:1000]) + len(data)


@env.task
async def passes(n: int) -> int:
    return await consume(await produce(n))


def test_large_bytes_between_tasks_are_recorded_in_blobs_and_read_back() -> None:
    run = flyte.run(passes, 3 << 20)
    payload = bytes(range(256)) * ((3 << 20) // 256)
    expected = sum(payload[:1000]) + len(payload)
    assert run.outputs() == (expected,)
    stored = {a.task_name: a for a in flyte.remote.Run.get(run.name).actions()}
    assert stored["wire_large.produce"].outputs() == (payload,)
    assert stored["wire_large.consume"].inputs() == {"data": payload}


def test_a_spliced_map_is_the_bytes_msgpack_gives() -> None:
    import hashlib
    import pickle

    wire = {"a": b"\x07" * (2 << 20), "n": 3, "b": bytes(range(256)) * 300, "s": "tail"}
    plain = _wire.packb(wire)
    spliced = _wire.packb_spliced(wire)
    assert len(spliced) == len(plain)
    assert spliced == plain
    assert spliced.digest() == hashlib.sha256(plain).hexdigest()
    assert identity_digest(spliced) == identity_digest(plain)  # action ids do not change
    assert bytes(spliced) == plain
    copied = pickle.loads(pickle.dumps(spliced))
    assert type(copied) is bytes and copied == plain


@env.task
async def produce_root(n: int) -> bytes:
    return bytes(range(256)) * (n // 256)


@env.task
def measure(data: bytes) -> int:
    return len(data) + data[300]


@env.task
async def hands_to_sync(n: int) -> int:
    return await measure.aio(await produce(n))


def test_large_bytes_returned_by_the_run_and_given_to_a_sync_task() -> None:
    payload = bytes(range(256)) * ((2 << 20) // 256)
    assert flyte.run(produce_root, 2 << 20).outputs() == (payload,)
    run = flyte.run(hands_to_sync, 2 << 20)
    assert run.outputs() == (len(payload) + payload[300],)
    stored = {a.task_name: a for a in flyte.remote.Run.get(run.name).actions()}
    assert stored["wire_large.measure"].inputs() == {"data": payload}


def test_large_bytes_reach_a_task_in_a_worker_process() -> None:
    payload = bytes(range(256)) * ((2 << 20) // 256)
    run = flyte.with_runcontext(isolate=True).run(hands_to_sync, 2 << 20)
    assert run.outputs() == (len(payload) + payload[300],)
