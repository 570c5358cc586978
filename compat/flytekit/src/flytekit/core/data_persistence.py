"""``FlyteContext.file_access``: moving local data into the engine's blob store and back."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path


class FileAccessProvider:
    """The calls flytekit transformers use (``put_raw_data``, ``get_data``, random paths)."""

    def get_random_local_path(self, file_path_or_file_name: str | None = None) -> str:
        base = Path(tempfile.mkdtemp(prefix="flytekit-"))
        return str(base / (Path(file_path_or_file_name).name if file_path_or_file_name else uuid.uuid4().hex))

    def get_random_local_directory(self) -> str:
        return tempfile.mkdtemp(prefix="flytekit-")

    def get_random_remote_path(self, file_path_or_file_name: str | None = None) -> str:
        from flyte.io import File

        return File.new_remote(file_path_or_file_name).path

    def put_raw_data(
        self,
        lpath: str | os.PathLike[str],
        upload_prefix: str | None = None,
        is_multipart: bool = False,
        file_name: str | None = None,
    ) -> str:
        """Copy a local file or directory into storage and return where it went."""
        from flyte.io import Dir, File

        if Path(lpath).is_dir():
            return str(Dir.from_local_sync(lpath).path)
        return str(File.from_local_sync(lpath).path)

    def put_data(self, lpath: str, rpath: str, is_multipart: bool = False) -> str:
        from flyte.io import Dir, File

        if Path(lpath).is_dir():
            return str(Dir.from_local_sync(lpath, rpath).path)
        return str(File.from_local_sync(lpath, rpath).path)

    def get_data(self, remote_path: str, local_path: str, is_multipart: bool = False) -> str:
        """Copy stored data (a file or a directory) to ``local_path``."""
        from flyte.storage._default import to_local_path

        src = to_local_path(remote_path)
        if src.is_dir():
            shutil.copytree(src, local_path, dirs_exist_ok=True)
        else:
            Path(local_path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, local_path)
        return local_path
