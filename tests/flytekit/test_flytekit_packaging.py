"""How the layer is installed and imported: a separate distribution that never shadows flytekit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
COMPAT_SRC = str(ROOT / "compat" / "flytekit" / "src")


def _python(code: str, extra_path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    paths = [p for p in (extra_path, COMPAT_SRC, env.get("PYTHONPATH")) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_import_flytekit_is_lazy():
    result = _python("import sys, flytekit; print('flyte' in sys.modules, flytekit.__version__)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "1.16.0+flyte.engine"]


def test_a_real_flytekit_next_to_it_is_refused_in_one_line(tmp_path):
    (tmp_path / "flytekit-1.16.3.dist-info").mkdir()
    result = _python("import flytekit", extra_path=str(tmp_path))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: flyte-engine-flytekit refuses to load: the real flytekit 1.16.3")
    assert "pip uninstall flytekit" in last


def test_a_separate_distribution_not_in_the_main_wheel():
    main = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert main["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/flyte"]
    compat = tomllib.loads((ROOT / "compat" / "flytekit" / "pyproject.toml").read_text())
    assert compat["project"]["name"] == "flyte-engine-flytekit"
    assert any(d.startswith("flyte-engine") for d in compat["project"]["dependencies"])
    assert compat["project"]["scripts"]["pyflyte"] == "flytekit.clis.sdk_in_container.pyflyte:main"
    assert compat["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["src/flytekit"]
    assert not (ROOT / "src" / "flytekit").exists()


def test_the_readme_documents_the_install_command():
    readme = (ROOT / "README.md").read_text()
    assert "## flytekit 1 programs" in readme
    assert "pip install . ./compat/flytekit" in readme


def test_the_readme_example_runs(tmp_path):
    import re

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## flytekit 1 programs", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "wf.py").write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([COMPAT_SRC, os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(
        [sys.executable, "wf.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "9.0"
