"""The flytekit-1 compatibility tests import ``flytekit`` from ``compat/flytekit/src``.

The layer is a separate distribution (``pip install ./compat/flytekit``); so that the project's
plain test command runs these tests without installing it, this conftest puts its source on
``sys.path`` and on ``PYTHONPATH`` (for the worker processes and CLIs the tests start).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

COMPAT_SRC = str(Path(__file__).resolve().parents[2] / "compat" / "flytekit" / "src")
PROGRAMS = str(Path(__file__).resolve().parent)

for entry in (COMPAT_SRC, PROGRAMS):
    if entry not in sys.path:
        sys.path.insert(0, entry)
_parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
for entry in (COMPAT_SRC, PROGRAMS):
    if entry not in _parts:
        _parts.insert(0, entry)
os.environ["PYTHONPATH"] = os.pathsep.join(_parts)
