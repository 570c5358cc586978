"""Files and dataframes: one task writes a CSV as a File, another loads it into a DataFrame,
a third summarises it. Only references travel between tasks; the data sits in the run's
blob store under $FLYTE_HOME/runs/<run>/data.

Run it with `python examples/files_and_dataframes.py` (needs the `pandas` extra,
`pip install 'flyte-engine[pandas]'`, which the README's first command installs).
"""

import csv
import io
import os
import tempfile

import pandas as pd

import flyte
from flyte.io import DataFrame, File

env = flyte.TaskEnvironment(name="files_and_dataframes")


@env.task
def write_measurements(n: int) -> File:
    """Write a CSV locally and copy it into the blob store; the temporary copy can then go."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "measurements.csv")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["station", "temperature"])
            for i in range(n):
                writer.writerow([f"s{i % 3}", 10 + i])
        return File.from_local_sync(path)


@env.task
async def load(data: File) -> DataFrame:
    """Read the CSV file and hand it on as a dataframe (stored once as Parquet)."""
    async with data.open("rb") as fh:
        frame = pd.read_csv(io.BytesIO(await fh.read()))
    return DataFrame.wrap_df(frame)


@env.task
async def summarize(df: DataFrame) -> str:
    """Mean temperature per station."""
    frame = await df.open(pd.DataFrame).all()
    means = frame.groupby("station")["temperature"].mean()
    return ", ".join(f"{station}: {mean:.1f}" for station, mean in means.items())


@env.task
async def main(n: int = 9) -> str:
    csv_file = await write_measurements.aio(n)
    print(f"{csv_file.name} stored with sha256 {csv_file.hash[:12]}...")
    frame = await load(csv_file)
    return await summarize(frame)


if __name__ == "__main__":
    flyte.init()
    run = flyte.run(main, n=9)
    print(f"run {run.name}: {run.phase}")
    print(f"mean temperature per station: {run.outputs()[0]}")
