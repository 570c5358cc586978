"""What the hot-path shortcuts must never change: the collector after a run, and large values."""

from __future__ import annotations

import gc

import flyte
from flyte.types import TypeEngine

env = flyte.TaskEnvironment(name="hot_path_policies")


@env.task
async def make_blob(n: int) -> bytes:
    return bytes(range(256)) * (n // 256)


@env.task
async def blob_stats(data: bytes, label: str) -> tuple[int, int, str]:
    return len(data), data[-1], label


@env.task
async def pipeline(n: int) -> tuple[int, int, str]:
    blob = await make_blob(n)
    return await blob_stats(blob, "big")


def test_collector_settings_are_restored_after_a_run() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    assert tuple(flyte.run(pipeline, n=2 << 20).outputs()) == (2 << 20, 255, "big")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        before = gc.get_threshold()
        assert tuple(flyte.run(pipeline, n=1024).outputs()) == (1024, 255, "big")
        assert not gc.isenabled()
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_program_that_froze_objects_keeps_them_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        flyte.run(pipeline, n=1024)
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()


def test_large_values_decode_equal_to_what_was_encoded() -> None:
    blob = bytes(range(256)) * 8192  # 2 MiB: the size that takes the large-value path
    types = {"data": bytes, "label": str, "n": int}
    data = TypeEngine.encode_values({"data": blob, "label": "x", "n": 3}, types)
    first = TypeEngine.decode_values(data, types)
    first["label"] = "changed by one reader"
    second = TypeEngine.decode_values(data, types)
    assert second == {"data": blob, "label": "x", "n": 3}
    # A copy of the encoded bytes (as read back from a store) decodes to the same values.
    assert TypeEngine.decode_values(bytes(bytearray(data)), types) == second


def test_large_maps_with_mutable_values_are_never_shared() -> None:
    blob = bytes(2 << 20)
    types = {"data": bytes, "items": list[int]}
    data = TypeEngine.encode_values({"data": blob, "items": [1, 2, 3]}, types)
    first = TypeEngine.decode_values(data, types)
    first["items"].append(4)
    assert TypeEngine.decode_values(data, types)["items"] == [1, 2, 3]
