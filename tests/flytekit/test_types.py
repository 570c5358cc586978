"""Types a flytekit program passes between tasks, mapped onto the engine's type engine."""

from __future__ import annotations

from programs import types_prog as tp

import flyte
from flyte.io import Dir, File


def test_dataclass_pydantic_enum_optional_union():
    assert tp.records_wf() == {"title": "RUN", "score": "6.0", "extra": "7"}
    assert tp.records_wf(name="x", color=tp.Color.RED) == {"title": "X", "score": "6.0", "extra": "7"}


def test_flyte_file_and_directory_travel_through_the_blob_store(isolated_home):
    assert tp.files_wf() == (10, 3)
    run = flyte.run(tp.write_csv, rows=3)
    f = run.outputs()[0]
    assert isinstance(f, File) and f.format == "csv"
    assert str(isolated_home) in f.path  # copied into the engine's store, not the task's temp dir
    with open(f) as fh:  # a FlyteFile is a path
        assert fh.read() == "n\n0\n1\n2\n"


def test_a_directory_output_is_a_flyte_dir():
    run = flyte.run(tp.make_dir, n=2)
    d = run.outputs()[0]
    assert isinstance(d, Dir)
    assert sorted(p.rsplit("/", 1)[-1] for p in d.listdir()) == ["part-0.txt", "part-1.txt"]


def test_structured_dataset_with_column_subset_and_arrow():
    assert tp.datasets_wf() == ([31, 42, 27], 3, 10)


def test_hash_method_gives_the_output_its_hash():
    run = flyte.run(tp.people)
    assert run.outputs()[0].hash == "people-v1"


def test_pickled_values():
    assert tp.pickle_wf() == 9


def test_custom_type_transformer():
    assert tp.transformer_wf() == 212.0
    assert tp.transformer_wf(c=-40.0) == -40.0
