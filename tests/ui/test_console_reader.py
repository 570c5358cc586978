"""The console's read layer and HTML on a real run store: keyset paging over many runs, fan-outs
collapsed into groups and paged, and data that can never become markup."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from flyte._internal.store import RunStore, store_for_url
from flyte.models import ActionPhase
from flyte.server.ui import views
from flyte.server.ui.reader import ConsoleReader, RunFilter, split_group_key
from flyte.server.ui.source import LocalSource, ServerSource

T0 = 1_700_000_000.0


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """The local store's dialect and the control plane's: the console reads both with one SQL."""
    if request.param == "sqlite":
        found = RunStore(tmp_path / "runs.db")
    else:
        found = store_for_url(request.getfixturevalue("postgres_db"), blob_dir=tmp_path / "blobs")
    yield found
    found.close()


def add_runs(store: RunStore, rows: list[tuple[str, str, str, float]]) -> None:
    """(name, task, phase, created_at) rows."""
    full = [
        (
            n,
            t,
            p,
            at,
            None if p == "running" else at + 1,
            "test:0:0",
            None,
            None,
            None,
            None,
            "wf",
            None,
            None,
            None,
        )
        for n, t, p, at in rows
    ]
    store.execute_write(
        lambda c: c.executemany(
            "INSERT INTO runs (name, task_name, phase, created_at, ended_at, owner, error_type, error_message,"
            " source_run, abort_reason, task_module, task_file, root_dir, labels)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            full,
        )
    )


def add_actions(
    store: RunStore, run: str, rows: list[tuple[str, str | None, str, str | None, str, float]]
) -> None:
    """(name, parent, task, group, phase, created_at) rows."""
    full = [
        (run, n, parent, task, group, phase, 1, at, at, None if phase == "running" else at + 0.5,
         None, None, None, None, "ValueError" if phase == "failed" else None,
         "bad <input>" if phase == "failed" else None, None, b"\x90", None)
        for n, parent, task, group, phase, at in rows
    ]  # fmt: skip
    store.execute_write(
        lambda c: c.executemany(
            "INSERT INTO actions (run_name, name, parent, task_name, group_name, phase, attempts, created_at,"
            " started_at, ended_at, inputs, inputs_ref, outputs, outputs_ref, error_type, error_message,"
            " cache_status, history, report_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            full,
        )
    )


def test_paging_shows_every_run_once_newest_first_even_with_equal_times(store: RunStore) -> None:
    # 237 runs, three at a time sharing one creation time: an offset-free cursor must still split them
    rows = [
        (f"r{i:04d}", f"env.task{i % 3}", "failed" if i % 5 == 0 else "succeeded", T0 + i // 3)
        for i in range(237)
    ]
    add_runs(store, rows)
    reader = ConsoleReader(store)
    seen, cursor = [], None
    while True:
        page = reader.runs_page(RunFilter(), cursor, limit=50)
        seen += [r.name for r in page.runs]
        cursor = page.next_cursor
        if cursor is None:
            break
    expected = [n for n, *_ in sorted(rows, key=lambda r: (r[3], r[0]), reverse=True)]
    assert seen == expected

    failed = reader.runs_page(RunFilter(phases=(ActionPhase.FAILED,)), limit=1000).runs
    assert len(failed) == 48 and {r.phase for r in failed} == {ActionPhase.FAILED}
    by_short_task = reader.runs_page(RunFilter(task="task1"), limit=1000).runs
    assert len(by_short_task) == 79 and {r.task_name for r in by_short_task} == {"env.task1"}
    assert [r.name for r in reader.runs_page(RunFilter(search="r012"), limit=1000).runs] == [
        f"r012{i}" for i in range(9, -1, -1)
    ]
    assert reader.newer_runs(RunFilter(), T0 + 77) == 3  # r0234..r0236, the last second


def test_a_search_takes_wildcards_literally(store: RunStore) -> None:
    add_runs(
        store,
        [("a_b", "t", "succeeded", T0), ("axb", "t", "succeeded", T0 + 1), ("50%", "t", "failed", T0 + 2)],
    )
    reader = ConsoleReader(store)
    assert [r.name for r in reader.runs_page(RunFilter(search="a_b")).runs] == ["a_b"]
    assert [r.name for r in reader.runs_page(RunFilter(search="%")).runs] == ["50%"]


def test_a_fan_out_is_one_group_with_counts_and_pages_of_members(store: RunStore) -> None:
    add_runs(store, [("run1", "env.main", "running", T0)])
    rows: list[tuple[str, str | None, str, str | None, str, float]] = [
        ("a0", None, "env.main", None, "running", T0)
    ]
    rows.append(("mk", "a0", "env.make", None, "succeeded", T0 + 0.1))
    for i in range(250):
        phase = "failed" if i == 7 else "running" if i >= 240 else "succeeded"
        rows.append((f"sq{i:03d}", "a0", "env.square", None, phase, T0 + 1 + i * 0.001))
    rows += [(f"g{i}", "a0", "env.square", "batch 1", "succeeded", T0 + 2 + i) for i in range(3)]
    rows.append(("child", "sq000", "env.leaf", None, "succeeded", T0 + 5))
    add_actions(store, "run1", rows)
    reader = ConsoleReader(store)

    groups = reader.child_groups("run1", "a0")
    assert [(g.task_name, g.group, g.size) for g in groups] == [
        ("env.make", None, 1), ("env.square", None, 250), ("env.square", "batch 1", 3)
    ]  # fmt: skip
    assert groups[0].single is not None and groups[0].single.name == "mk"
    fan = groups[1]
    assert fan.counts == {ActionPhase.SUCCEEDED: 239, ActionPhase.FAILED: 1, ActionPhase.RUNNING: 10}
    assert fan.done == 240 and fan.phase is ActionPhase.FAILED
    assert split_group_key(groups[2].key) == ("batch 1", "env.square")
    assert reader.parents("run1") == {"a0", "sq000"}

    names, cursor, pages = [], None, 0
    while True:
        page, cursor = reader.group_members("run1", "a0", fan.key, cursor)
        names += [a.name for a in page]
        pages += 1
        if cursor is None:
            break
    assert pages == 3 and names == [f"sq{i:03d}" for i in range(250)]
    failed, more = reader.group_members("run1", "a0", fan.key, phase=ActionPhase.FAILED)
    assert [a.name for a in failed] == ["sq007"] and more is None
    assert reader.phase_counts("run1")[ActionPhase.SUCCEEDED] == 239 + 1 + 3 + 1

    html = views.groups_html(groups, "run1", reader.parents("run1"))
    assert "× 250" in html and "240/250 done" in html and "1 failed" in html
    first, _ = reader.group_members("run1", "a0", fan.key)
    rows_html = views.members_html(first, "run1", reader.parents("run1"))
    assert rows_html.count('class="node"') == 100
    assert 'data-children="sq000"' in rows_html  # sq000 has a child: it gets an expand button
    assert "bad &lt;input&gt;" in rows_html and "bad <input>" not in rows_html


def test_names_and_messages_never_become_markup(store: RunStore) -> None:
    evil = '<script>alert("x")</script>'
    add_runs(store, [(evil, f"env.{evil}", "failed", T0)])
    reader = ConsoleReader(store)
    page = reader.runs_page(RunFilter())
    html = views.runs_body(page, RunFilter(search=evil), reader.task_names(), None)
    assert "<script>" not in html and "&lt;script&gt;" in html
    run = page.runs[0]
    body = views.run_body(run, None, [], set(), {}, (None, None), "tok", lambda p: p, evil)
    assert "<script>" not in body
    assert "/runs/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E/rerun" in body  # URLs are encoded too
    labelled = dataclasses.replace(run, labels={"project": "ml", "team": evil}, abort_reason="wrong inputs")
    body = views.run_body(labelled, None, [], set(), {}, (None, None), "tok", lambda p: p, None)
    assert '<span class="tag">project=ml</span>' in body and "abort requested: wrong inputs" in body
    assert "<script>" not in body


def test_an_error_shows_its_type_message_and_a_traceback_it_carries(store: RunStore) -> None:
    add_runs(store, [("run1", "env.main", "failed", T0)])
    add_actions(store, "run1", [("a0", None, "env.main", None, "failed", T0)])
    message = 'bad <input>\nTraceback (most recent call last):\n  File "wf.py", line 3, in main'
    store.execute_write(
        lambda c: c.execute("UPDATE actions SET error_message = ? WHERE name = 'a0'", (message,))
    )
    reader = ConsoleReader(store)
    action = reader.get_action("run1", "a0")
    assert action is not None
    run = reader.get_run("run1")
    assert run is not None
    html = views.action_body(run, action, [], (None, None), ([], 0), [], "", lambda p: p, None)
    assert '<span class="error-type">ValueError</span>' in html
    assert '<pre class="error-box">ValueError: bad &lt;input&gt;</pre>' in html
    assert '<pre class="traceback">Traceback (most recent call last):\n  File &quot;wf.py&quot;' in html


def test_an_action_page_starts_at_the_end_of_long_logs_and_tails_from_there(store: RunStore) -> None:
    def write(lines: range) -> None:
        rows = [("run1", "a0", 1, "stderr" if i % 2 else "stdout", T0 + i, f"line {i} <b>") for i in lines]
        store.execute_write(
            lambda c: c.executemany(
                "INSERT INTO logs (run_name, action, attempt, stream, at, line) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        )

    write(range(2500))
    reader = ConsoleReader(store)
    lines, total = reader.logs_tail("run1", "a0", limit=2000)
    assert total == 2500 and [r.line for _i, r in lines] == [f"line {i} <b>" for i in range(500, 2500)]
    last = lines[-1][0]
    assert reader.logs("run1", "a0", after=last) == []
    write(range(2500, 2503))
    more = reader.logs("run1", "a0", after=last)
    assert [r.line for _i, r in more] == ["line 2500 <b>", "line 2501 <b>", "line 2502 <b>"]
    payload = views.logs_payload(more, last)
    assert payload["after"] == more[-1][0] and "line 2501 &lt;b&gt;" in payload["html"]
    assert '<span class="err">line 2501' in payload["html"]


def test_the_server_console_serves_files_only_from_its_storage(store: RunStore, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    (storage / "data" / "r1").mkdir(parents=True)
    inside = storage / "data" / "r1" / "out.csv"
    inside.write_text("a,b")
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the console")
    server = ServerSource(store, None, None, storage)  # type: ignore[arg-type]  (no buttons used here)
    assert server.local_path(str(inside)) == inside.resolve()
    assert server.local_path(f"file://{inside}") == inside.resolve()
    assert server.local_path("data/r1/out.csv") == inside.resolve()  # a data-proxy key
    assert server.local_path(str(outside)) is None
    assert server.local_path(f"{storage}/../secret.txt") is None
    assert server.local_path("../secret.txt") is None
    assert server.local_path("s3://bucket/out.csv") is None
    local = LocalSource(store, tmp_path / "home")
    assert local.local_path(str(outside)) == outside.resolve()  # local runs are the user's own files
