"""Load the tasks a user points the CLI at: a Python file or an importable module."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from flyte._internal.run_guard import exec_user_module
from flyte._task import TaskTemplate
from flyte.errors import ModuleLoadError, TaskNotFoundError


def _module_name_for(path: Path, root: Path) -> str:
    try:
        rel = path.relative_to(root)
    except ValueError:
        return path.stem
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts) if all(p.isidentifier() for p in parts) else path.stem


def load_module(target: str, root_dir: Path | None = None) -> ModuleType:
    """Import ``target``: a path to a ``.py`` file, or a dotted module name."""
    root = (root_dir or Path.cwd()).resolve()
    if target.endswith(".py") or "/" in target or Path(target).is_file():
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ModuleLoadError(f"File '{target}' does not exist")
        name = _module_name_for(path, root)
        if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path):
            return sys.modules[name]
        for extra in (str(root), str(path.parent)):
            if extra not in sys.path:
                sys.path.insert(0, extra)
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ModuleLoadError(f"Cannot load '{target}' as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            exec_user_module(spec, module)
        except Exception as e:
            sys.modules.pop(name, None)
            raise ModuleLoadError(f"Importing '{target}' failed: {type(e).__name__}: {e}") from e
        return module
    try:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return importlib.import_module(target)
    except ImportError as e:
        raise ModuleLoadError(f"Cannot import module '{target}': {e}") from e


def tasks_in(module: ModuleType) -> dict[str, TaskTemplate]:
    """The tasks a module defines at top level, by the name they have in the module."""
    return {name: obj for name, obj in vars(module).items() if isinstance(obj, TaskTemplate)}


def find_task(module: ModuleType, name: str) -> TaskTemplate:
    tasks = tasks_in(module)
    if name in tasks:
        return tasks[name]
    for task in tasks.values():  # also accept the fully qualified name env.func
        if task.name == name:
            return task
    available = ", ".join(sorted(tasks)) or "none"
    raise TaskNotFoundError(f"No task named '{name}' in '{module.__name__}'; tasks there: {available}")


def load_task(
    task_name: str, module: str | None, file: str | None, root_dir: str | None = None
) -> TaskTemplate:
    """Find a task by its fully qualified name, importing where a recorded run says it lives."""
    candidates: list[ModuleType] = []
    for loaded in list(sys.modules.values()):  # already imported in this process (e.g. the same script)
        loaded_file = getattr(loaded, "__file__", None)
        if file and loaded_file and Path(loaded_file).resolve() == Path(file):
            candidates.append(loaded)
    if not candidates:
        root = Path(root_dir) if root_dir else None
        if module and module != "__main__":
            try:
                candidates.append(load_module(module, root))
            except ModuleLoadError:
                if not file:
                    raise
        if not candidates and file:
            candidates.append(load_module(file, root))
    for mod in candidates:
        for task in tasks_in(mod).values():
            if task.name == task_name:
                return task
    where = file or module or "?"
    raise TaskNotFoundError(f"Task '{task_name}' is no longer defined in '{where}'")
