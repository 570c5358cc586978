"""current_context(): secrets, checkpoints, execution id, working directory, decks; task options."""

import os
import typing
from datetime import timedelta

from flytekit import (
    Deck,
    ImageSpec,
    Resources,
    Secret,
    current_context,
    task,
    workflow,
)

SECRET_GROUP = "db"
SECRET_KEY = "password"


@task(secret_requests=[Secret(group=SECRET_GROUP, key=SECRET_KEY)])
def use_secret() -> int:
    value = current_context().secrets.get(SECRET_GROUP, SECRET_KEY)
    return len(value)


@task(retries=3)
def resumable(n: int) -> int:
    cp = current_context().checkpoint
    prev = cp.read()
    start = int(prev.decode()) if prev else 0
    for i in range(start, n):
        cp.write(str(i + 1).encode())
        if i == 1 and start == 0:
            raise RuntimeError("simulated crash after two steps")
    return start


@task
def where_am_i() -> typing.Tuple[str, bool]:
    ctx = current_context()
    wd = ctx.working_directory
    return ctx.execution_id.name, os.path.isdir(wd)


@task(enable_deck=True)
def with_deck(n: int) -> int:
    Deck("summary", f"<h2>{n} items</h2>")
    current_context().default_deck.append("<p>default deck</p>")
    return n


image = ImageSpec(name="example", packages=["numpy"], python_version="3.11", registry="localhost:30000")


@task(
    requests=Resources(cpu="1", mem="200Mi"),
    limits=Resources(cpu="2", mem="400Mi"),
    retries=2,
    timeout=timedelta(minutes=5),
    cache=True,
    cache_version="1.0",
    cache_serialize=True,
    cache_ignore_input_vars=("note",),
    interruptible=True,
    container_image=image,
    environment={"MODE": "test"},
    pod_template_name="small",
)
def configured(x: int, note: str = "") -> str:
    return f"{x}:{os.environ.get('MODE')}"


@workflow
def context_wf() -> typing.Tuple[str, bool]:
    return where_am_i()


_calls: typing.List[int] = []


@task(cache=True, cache_version="v1")
def cached_square(x: int, marker: str) -> int:
    with open(marker, "a") as fh:
        fh.write("ran\n")
    return x * x


@workflow
def cached_wf(x: int, marker: str) -> int:
    return cached_square(x=x, marker=marker)


@task
def boom(x: int) -> int:
    raise ValueError(f"boom {x}")


@task
def cleanup(x: int, marker: str) -> None:
    with open(marker, "w") as fh:
        fh.write(f"cleaned {x}")


@workflow(on_failure=cleanup)
def failing_wf(x: int, marker: str) -> int:
    return boom(x=x)


@task
def in_container() -> bool:
    from flytekit import is_container

    return is_container()


@task(timeout=60)
def in_container_worker() -> bool:  # a sync task with a timeout runs in a worker process
    from flytekit import is_container

    return is_container()
