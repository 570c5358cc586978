"""How fast the web console answers in a real browser, with a store the size the targets name.

    python benchmarks/console.py              # 10,000 runs and a run of 10,000 actions
    python benchmarks/console.py --quick      # 1,000 of each: a smoke test of this runner
    python benchmarks/console.py --json out.json --strict

The store is made in a throw-away ``FLYTE_HOME``: one real local run of a fan-out (``flyte run
--local``: N square tasks, one failing), then N - 1 more runs written straight into the store's
``runs`` table (running N real runs would take minutes and show the same rows). The console is the
real ``flyte start ui`` on that home, in its own process; the browser is Debian's Chromium
headless, driven by Playwright, with a fresh profile.

Each page is loaded once unmeasured (the browser caches console.css and console.js, as it would
for a user), then ``--repeat`` times; the table shows the median and the worst of the browser's
own Navigation Timing for those loads, in milliseconds from the start of the navigation:

- ``ttfb``: ``responseStart``, the first byte of the page (the server's work);
- ``interactive``: ``domContentLoadedEventEnd``, when the deferred console.js has run and
  attached its handlers: the page can be used (the target);
- ``load``: ``loadEventEnd``.

``expand`` is separate: the time from clicking the fan-out group's toggle on the run page to its
first page of members being on screen (``performance.now()`` around the click, in the page).

Targets: the run page of the 10,000-action run interactive within 1,000 ms; the runs list of
10,000 runs within 500 ms. Exit status: 0 when measured (targets met or not), 1 when something
failed, 2 with ``--strict`` when a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
MEMBERS = 100
"""Members of a group shown when it is opened (``flyte.server.ui.reader.MEMBERS_PAGE``)."""
TARGETS_MS = {"run page": 1000.0, "runs list": 500.0}

WORKFLOW = textwrap.dedent(
    """
    import asyncio

    import flyte

    env = flyte.TaskEnvironment(name="bench")


    @env.task
    async def square(x: int) -> int:
        if x == 7:
            raise ValueError("seven")
        return x * x


    @env.task
    async def fanout(n: int) -> int:
        results = await asyncio.gather(*(square(i) for i in range(n)), return_exceptions=True)
        return sum(r for r in results if isinstance(r, int))
    """
)


def child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ, FLYTE_HOME=str(home), PYTHONUNBUFFERED="1")
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    try:
        import flyte  # noqa: F401
    except ImportError:
        paths.insert(0, str(REPO / "src"))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths)
    return env


def make_store(home: Path, work: Path, size: int) -> tuple[str, float]:
    """A fan-out run of ``size`` actions, then ``size - 1`` more runs created 5 s apart before it;
    returns the fan-out's name and the creation time of the middle one of the others."""
    (work / "wf.py").write_text(WORKFLOW)
    started = time.perf_counter()
    ran = subprocess.run(
        [sys.executable, "-m", "flyte.cli.main", "run", "--local", "wf.py", "fanout", "--n", str(size)],
        cwd=work, env=child_env(home), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if ran.returncode != 0:
        raise RuntimeError(f"the fan-out run failed: {ran.stdout}{ran.stderr}")
    found = re.search(r"Run (\S+) succeeded", ran.stdout)
    if not found:
        raise RuntimeError(f"no run name in: {ran.stdout}")
    print(f"fan-out of {size} actions ran in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    sys.path.insert(0, str(REPO / "src"))
    from flyte._internal.store import RunStore

    store = RunStore(home / "runs.db")
    now = time.time()
    phases = ["succeeded"] * 8 + ["failed", "running"]
    rows = [
        (f"bench{i:06d}", f"bench.task{i % 7}", phases[i % 10], now - 3600 - i * 5.0,
         None if phases[i % 10] == "running" else now - 3600 - i * 5.0 + 2.0, "bench:0:0",
         "ValueError" if phases[i % 10] == "failed" else None, "bad" if phases[i % 10] == "failed" else None,
         None, None, "wf", None, None, None)
        for i in range(size - 1)
    ]  # fmt: skip
    store.execute_write(
        lambda c: c.executemany(
            "INSERT INTO runs (name, task_name, phase, created_at, ended_at, owner, error_type,"
            " error_message, source_run, abort_reason, task_module, task_file, root_dir, labels)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    )
    store.close()
    middle = rows[len(rows) // 2]
    return found.group(1), middle[3]


def start_console(home: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "flyte.cli.main", "start", "ui", "--port", "0"], env=child_env(home),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
    if not found:
        proc.terminate()
        raise RuntimeError(f"flyte start ui did not start: {line}")
    return proc, found.group(1)


NAV_TIMING = """() => {
  const t = performance.getEntriesByType("navigation")[0];
  return {ttfb: t.responseStart, interactive: t.domContentLoadedEventEnd, load: t.loadEventEnd,
          bytes: t.transferSize || t.encodedBodySize};
}"""


def measure_page(page: Any, url: str, repeat: int) -> dict[str, Any]:
    page.goto(url, wait_until="load")  # unmeasured: fills the browser's cache of the static files
    samples = []
    for _ in range(repeat):
        page.goto(url, wait_until="load")
        page.wait_for_timeout(50)  # loadEventEnd is set just after the load event
        samples.append(page.evaluate(NAV_TIMING))
    out: dict[str, Any] = {"url": url, "samples": samples}
    for key in ("ttfb", "interactive", "load"):
        values = [s[key] for s in samples]
        out[key] = {"median": statistics.median(values), "max": max(values)}
    out["rows"] = page.locator("li.node, li.group, tr[data-run]").count()
    return out


def measure_expand(page: Any, url: str, repeat: int) -> dict[str, Any]:
    values = []
    for _ in range(repeat):
        page.goto(url, wait_until="load")
        page.evaluate("() => { window.__t0 = performance.now(); }")
        page.locator("li.group button[data-members]").first.click()
        page.locator("li.group ul.members li.node").first.wait_for()
        values.append(page.evaluate("() => performance.now() - window.__t0"))
    return {"median": statistics.median(values), "max": max(values), "samples": values}


def table(rows: list[list[str]]) -> str:
    headers = ["page", "url", "rows shown", "ttfb ms", "interactive ms (median / worst)", "load ms"]
    headers += ["target", "status"]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs and actions instead of 10,000")
    parser.add_argument("--repeat", type=int, default=5, help="measured loads of each page (default 5)")
    parser.add_argument("--json", type=Path, default=None, help="also write every number to this file")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)
    size = 1000 if args.quick else 10_000
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed (pip install 'flyte-engine[test]')", file=sys.stderr)
        return 1
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="flyte-console-bench-") as tmp:
        work = Path(tmp)
        home = work / "home"
        fanout, middle = make_store(home, work, size)
        proc, base = start_console(home)
        try:
            with sync_playwright() as driver:
                context = driver.chromium.launch_persistent_context(
                    str(work / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 800},
                )  # fmt: skip
                try:
                    page = context.new_page()
                    results = {
                        "run page": measure_page(page, f"{base}/runs/{fanout}", args.repeat),
                        "runs list": measure_page(page, f"{base}/runs", args.repeat),
                        "runs list, halfway": measure_page(
                            page, f"{base}/runs?cursor={middle!r}~x", args.repeat
                        ),
                        "runs list, search": measure_page(page, f"{base}/runs?q=00099", args.repeat),
                    }
                    expand = measure_expand(page, f"{base}/runs/{fanout}", args.repeat)
                finally:
                    context.close()
        finally:
            proc.terminate()
            proc.wait(30)

    missed = False
    rows = []
    for name, r in results.items():
        target = TARGETS_MS.get(name)
        ok = target is None or r["interactive"]["median"] <= target
        missed = missed or not ok
        rows.append([
            name, r["url"].split("/", 3)[-1][:48], str(r["rows"]), f"{r['ttfb']['median']:.0f}",
            f"{r['interactive']['median']:.0f} / {r['interactive']['max']:.0f}", f"{r['load']['median']:.0f}",
            f"<= {target:.0f} ms" if target else "-",
            ("met" if ok else "MISSED") if target else "-",
        ])  # fmt: skip
    print(f"\nConsole in headless Chromium: {size:,} runs, a run of {size + 1:,} actions", end="")
    print(f" ({args.repeat} loads each)")
    print(table(rows))
    print(f"\nexpand the fan-out group (first {MEMBERS} of {size:,} members): "
          f"median {expand['median']:.0f} ms, worst {expand['max']:.0f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"size": size, "pages": results, "expand": expand}, indent=2))
    return 2 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
