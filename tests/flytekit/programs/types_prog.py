"""Types: dataclasses, pydantic, Enum, Optional, files, directories, datasets, pickles, transformers."""

import enum
import os
import tempfile
import typing
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
from flytekit.models.literals import Literal, Primitive, Scalar
from flytekit.models.types import LiteralType, SimpleType
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from pydantic import BaseModel
from typing_extensions import Annotated

from flytekit import HashMethod, StructuredDataset, TypeEngine, TypeTransformer, kwtypes, task, workflow


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Config:
    name: str
    sizes: typing.List[int]
    color: Color = Color.RED


class Model(BaseModel):
    title: str
    score: float


@task
def configure(name: str, color: Color, limit: typing.Optional[int] = None) -> Config:
    sizes = list(range(limit or 3))
    return Config(name=name, sizes=sizes, color=color)


@task
def grade(cfg: Config) -> Model:
    return Model(title=cfg.name.upper(), score=float(sum(cfg.sizes)))


@task
def pick(m: Model, extra: typing.Union[int, str]) -> typing.Dict[str, str]:
    return {"title": m.title, "score": f"{m.score:.1f}", "extra": str(extra)}


@workflow
def records_wf(name: str = "run", color: Color = Color.GREEN) -> typing.Dict[str, str]:
    cfg = configure(name=name, color=color, limit=4)
    return pick(m=grade(cfg=cfg), extra=7)


@task
def write_csv(rows: int) -> FlyteFile[typing.TypeVar("csv")]:
    path = os.path.join(tempfile.mkdtemp(), "data.csv")
    with open(path, "w") as fh:
        fh.write("n\n" + "\n".join(str(i) for i in range(rows)) + "\n")
    return FlyteFile(path)


@task
def sum_csv(f: FlyteFile) -> int:
    with open(f) as fh:
        return sum(int(line) for line in fh.read().split()[1:])


@task
def make_dir(n: int) -> FlyteDirectory:
    d = tempfile.mkdtemp()
    for i in range(n):
        with open(os.path.join(d, f"part-{i}.txt"), "w") as fh:
            fh.write(str(i))
    return FlyteDirectory(d)


@task
def count_files(d: FlyteDirectory) -> int:
    return len(os.listdir(d))


@workflow
def files_wf(rows: int = 5, parts: int = 3) -> typing.Tuple[int, int]:
    return sum_csv(f=write_csv(rows=rows)), count_files(d=make_dir(n=parts))


def _hash_frame(df: pd.DataFrame) -> str:
    return str(pd.util.hash_pandas_object(df).sum())


@task
def people() -> Annotated[StructuredDataset, HashMethod(lambda sd: "people-v1")]:
    df = pd.DataFrame({"name": ["ann", "bob", "cy"], "age": [31, 42, 27], "city": ["x", "y", "z"]})
    return StructuredDataset(dataframe=df)


@task
def ages(sd: Annotated[StructuredDataset, kwtypes(age=int)]) -> typing.List[int]:
    df = sd.open(pd.DataFrame).all()
    assert list(df.columns) == ["age"], list(df.columns)
    return [int(a) for a in df["age"]]


@task
def as_arrow(sd: StructuredDataset) -> int:
    table = sd.open(pa.Table).all()
    return table.num_rows


@task
def frame_out(n: int) -> pd.DataFrame:
    return pd.DataFrame({"v": list(range(n))})


@task
def frame_sum(df: pd.DataFrame) -> int:
    return int(df["v"].sum())


@workflow
def datasets_wf() -> typing.Tuple[typing.List[int], int, int]:
    sd = people()
    return ages(sd=sd), as_arrow(sd=sd), frame_sum(df=frame_out(n=5))


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


@task
def make_opaque(v: int) -> Opaque:
    return Opaque(v)


@task
def read_opaque(o: Opaque) -> int:
    return o.value


@workflow
def pickle_wf(v: int = 9) -> int:
    return read_opaque(o=make_opaque(v=v))


class Temperature:
    def __init__(self, celsius: float) -> None:
        self.celsius = celsius


class TemperatureTransformer(TypeTransformer[Temperature]):
    def __init__(self) -> None:
        super().__init__(name="temperature", t=Temperature)

    def get_literal_type(self, t: typing.Type[Temperature]) -> LiteralType:
        return LiteralType(simple=SimpleType.STRING)

    def to_literal(self, ctx, python_val: Temperature, python_type, expected) -> Literal:
        return Literal(scalar=Scalar(primitive=Primitive(string_value=f"{python_val.celsius}C")))

    def to_python_value(self, ctx, lv: Literal, expected_python_type) -> Temperature:
        return Temperature(float(lv.scalar.primitive.string_value.rstrip("C")))


TypeEngine.register(TemperatureTransformer())


@task
def reading(c: float) -> Temperature:
    return Temperature(c)


@task
def fahrenheit(t: Temperature) -> float:
    return t.celsius * 9 / 5 + 32


@workflow
def transformer_wf(c: float = 100.0) -> float:
    return fahrenheit(t=reading(c=c))
