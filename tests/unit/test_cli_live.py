"""The live view of ``flyte run``: rendering of a synthetic action tree, collapse logic, summary."""

from __future__ import annotations

import io
import sys
import time
from types import SimpleNamespace

from rich.console import Console

from flyte._internal.controllers._action import ActionNode
from flyte.cli._live import LiveView, RenderOptions, render_tree, summary_line
from flyte.models import ActionID, ActionPhase


def node(name: str, task: str, parent: ActionNode | None = None, *, phase: ActionPhase = ActionPhase.QUEUED,
         group: str | None = None) -> ActionNode:  # fmt: skip
    n = ActionNode(ActionID(name=name, run_name="rlive"), task, parent, group, b"")
    n.phase = phase
    if phase is not ActionPhase.QUEUED:
        n.attempts = 1
        n.started_at = n.created_at
    if phase.is_terminal:
        n.ended_at = n.created_at + 1.5
    if parent is not None:
        parent.children.append(n)
    return n


def big_fan_out() -> ActionNode:
    """a0 running: 10,000 `wf.score` children (6000 succeeded, 3 failed, 20 running, rest queued),
    two `wf.report` children (one with a child of its own) and one cache hit."""
    root = node("a0", "wf.main", phase=ActionPhase.RUNNING)
    for i in range(10_000):
        if i < 6000:
            phase = ActionPhase.SUCCEEDED
        elif i < 6003:
            phase = ActionPhase.FAILED
        elif i < 6023:
            phase = ActionPhase.RUNNING
        else:
            phase = ActionPhase.QUEUED
        child = node(f"s{i:05d}", "wf.score", root, phase=phase, group="scoring")
        if phase is ActionPhase.FAILED:
            child.error = ValueError(f"bad item {i}")
    report = node("r1", "wf.report", root, phase=ActionPhase.RUNNING)
    node("r1c", "wf.render", report, phase=ActionPhase.SUCCEEDED)
    node("r2", "wf.report", root, phase=ActionPhase.QUEUED)
    hit = node("c1", "wf.lookup", root, phase=ActionPhase.SUCCEEDED)
    hit.cache_status = "hit"
    return root


def rendered(renderable, width: int = 160) -> str:
    console = Console(record=True, width=width, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def test_ten_thousand_siblings_collapse_into_one_progress_line():
    root = big_fan_out()
    started = time.perf_counter()
    text = rendered(render_tree(root))
    assert time.perf_counter() - started < 2.0
    lines = text.splitlines()
    assert len(lines) < 20, text
    assert "Run rlive" in lines[0]
    assert "10005 actions" in lines[0]
    score_lines = [line for line in lines if "wf.score ×10000" in line]
    assert len(score_lines) == 1
    line = score_lines[0]
    assert "(scoring)" in line
    assert "6003/10000" in line  # finished (succeeded + failed) of total
    assert "3977 queued" in line and "20 running" in line and "6000 succeeded" in line and "3 failed" in line
    assert "━" in line  # the progress bar
    # the failures of the collapsed group are listed under it, with their errors
    assert "s06000" in text and "ValueError: bad item 6000" in text
    assert "s00001" not in text  # succeeded members are not listed one by one


def test_small_sibling_sets_stay_listed_with_their_children():
    text = rendered(render_tree(big_fan_out()))
    assert "r1  wf.report  running" in text
    assert "r2  wf.report  queued" in text
    assert "r1c  wf.render  succeeded" in text
    assert "c1  wf.lookup  succeeded" in text and "[hit]" in text
    assert "a0  wf.main  running" in text


def test_failures_beyond_the_limit_are_counted_not_listed():
    root = node("a0", "wf.main", phase=ActionPhase.FAILED)
    for i in range(10):
        child = node(f"f{i}", "wf.boom", root, phase=ActionPhase.FAILED)
        child.error = RuntimeError("boom")
    text = rendered(render_tree(root, RenderOptions(max_failures=2)))
    assert "f0" in text and "f1" in text and "f2" not in text
    assert "… 8 more failed" in text


def test_many_distinct_tasks_are_capped_per_parent():
    root = node("a0", "wf.main", phase=ActionPhase.RUNNING)
    for i in range(40):
        node(f"t{i}", f"wf.task{i}", root, phase=ActionPhase.SUCCEEDED)
    text = rendered(render_tree(root, RenderOptions(max_entries=5)))
    assert "t4 " in text and "t5 " not in text
    assert "… 35 more actions: 35 succeeded" in text


def test_collapse_threshold():
    root = node("a0", "wf.main", phase=ActionPhase.SUCCEEDED)
    for i in range(3):
        node(f"g{i}", "wf.greet", root, phase=ActionPhase.SUCCEEDED)
    assert "×3" not in rendered(render_tree(root))  # below COLLAPSE_AT: listed
    assert "wf.greet ×3" in rendered(render_tree(root, RenderOptions(collapse_at=3)))


def test_summary_line_counts_per_phase():
    assert summary_line(big_fan_out()) == "10005 actions: 3978 queued, 22 running, 6002 succeeded, 3 failed"
    single = node("a0", "wf.main", phase=ActionPhase.SUCCEEDED)
    assert summary_line(single) == "1 action: 1 succeeded"


def test_not_a_terminal_prints_a_summary_at_the_end():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=120)
    controller = SimpleNamespace(root=None)
    with LiveView(lambda: controller, console=console) as view:
        assert not view.interactive
        root = node("a0", "wf.main", phase=ActionPhase.SUCCEEDED)
        for i in range(11):
            node(f"c{i}", "wf.step", root, phase=ActionPhase.SUCCEEDED)
        controller.root = root
    assert out.getvalue().strip() == "12 actions: 12 succeeded"


def test_nothing_printed_when_the_run_never_started():
    out = io.StringIO()
    with LiveView(lambda: None, console=Console(file=out, force_terminal=False)):
        pass
    assert out.getvalue() == ""


def test_terminal_refreshes_from_a_thread_and_keeps_the_final_tree():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    root = node("a0", "wf.main", phase=ActionPhase.RUNNING)
    controller = SimpleNamespace(root=None)
    with LiveView(lambda: controller, console=console, refresh_per_second=50) as view:
        assert view.interactive
        time.sleep(0.05)
        controller.root = root
        for i in range(200):  # the tree grows while the refresh thread reads it
            node(f"m{i:03d}", "wf.map", root, phase=ActionPhase.RUNNING)
            time.sleep(0.0005)
        for child in root.children:
            child.phase = ActionPhase.SUCCEEDED
        root.phase = ActionPhase.SUCCEEDED
    final = out.getvalue()
    assert "wf.map ×200" in final
    assert "200/200" in final
    assert "201 actions: 201 succeeded" in final


def test_getter_errors_do_not_break_the_view():
    def broken():
        raise RuntimeError("not yet")

    view = LiveView(broken, console=Console(file=io.StringIO()), live=False)
    assert "Starting" in rendered(view.render())


def test_prints_during_the_live_view_appear_above_it_once():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    root = node("a0", "wf.main", phase=ActionPhase.RUNNING)
    before = sys.stdout
    with LiveView(lambda: root, console=console, refresh_per_second=50):
        assert sys.stdout is not before  # held while the view is up
        for i in range(500):
            print(f"line {i}")
        print("partial", end="")
        time.sleep(0.1)
        root.phase = ActionPhase.SUCCEEDED
    final = out.getvalue()
    for i in (0, 250, 499):
        assert final.count(f"line {i}\n") == 1
    assert "partial" in final
    assert final.index("line 499") < final.rindex("a0  wf.main  succeeded")
    assert sys.stdout is before
