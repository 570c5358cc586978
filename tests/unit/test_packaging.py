"""What `pip install` gives a user: the libraries reference-SDK code imports, and every example."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _dist_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _first_install_extras() -> set[str]:
    """The extras named by the README's first `pip install` command."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "the README starts with a bash block"
    match = re.search(r"pip install (\S+)", block.group(1))
    assert match, "the README's first command installs the package"
    spec = match.group(1).strip("'\"")
    extras = re.search(r"\[(.*)\]", spec)
    return {e.strip() for e in extras.group(1).split(",")} if extras else set()


def _installed_by_first_command() -> set[str]:
    project = PYPROJECT["project"]
    reqs = list(project["dependencies"])
    for extra in _first_install_extras():
        reqs += project["optional-dependencies"][extra]
    return {_dist_name(r) for r in reqs}


def test_reference_libraries_are_base_dependencies():
    base = {_dist_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert {"pydantic", "aiofiles", "async-lru", "cloudpickle"} <= base


def test_every_example_runs_after_the_first_readme_command():
    installed = _installed_by_first_command()
    dists_of = importlib.metadata.packages_distributions()
    for example in sorted((ROOT / "examples").glob("*.py")):
        tree = ast.parse(example.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "flyte":
                    continue
                dists = {d.lower().replace("_", "-") for d in dists_of.get(top, [top])}
                assert dists & installed, (
                    f"{example.name} imports {top}, which the README's first command lacks"
                )


def test_the_new_dependencies_stay_lazy():
    heavy = ("pydantic", "aiofiles", "async_lru", "cloudpickle", "greenlet", "pandas")
    code = f"import sys, flyte; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
