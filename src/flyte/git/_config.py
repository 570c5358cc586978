"""What git says about the repository the code runs from: root, commit, cleanliness, remote.

Everything comes from ``git`` subprocess calls in the current directory; without git, or
outside a repository, ``GitConfig().is_valid`` is False and nothing raises.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol

import flyte.config


def _git(*args: str) -> str | None:
    """``git args...`` run in the current directory: its stripped stdout, or None on failure."""
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    except OSError:  # git is not installed
        return None
    return result.stdout.strip() if result.returncode == 0 else None


class GitUrlBuilder(Protocol):
    """Builds a link to a line of a file at a commit on one git hosting service."""

    @staticmethod
    def build_url(
        remote_url: str, file_path: str, commit_sha: str, line_number: int, is_tree_clean: bool
    ) -> str: ...


class GithubUrlBuilder:
    host_name = "github.com"

    @staticmethod
    def build_url(
        remote_url: str, file_path: str, commit_sha: str, line_number: int, is_tree_clean: bool
    ) -> str:
        url = f"{remote_url}/blob/{commit_sha}/{file_path}"
        return f"{url}#L{line_number}" if is_tree_clean else url


class GitlabUrlBuilder:
    host_name = "gitlab.com"

    @staticmethod
    def build_url(
        remote_url: str, file_path: str, commit_sha: str, line_number: int, is_tree_clean: bool
    ) -> str:
        url = f"{remote_url}/-/blob/{commit_sha}/{file_path}"
        return f"{url}#L{line_number}" if is_tree_clean else url


GIT_URL_BUILDER_REGISTRY: dict[str, type[GitUrlBuilder]] = {
    GithubUrlBuilder.host_name: GithubUrlBuilder,
    GitlabUrlBuilder.host_name: GitlabUrlBuilder,
}


def _to_https(url: str) -> str:
    """``git@host:org/repo.git`` and ``https://host/org/repo.git`` both become ``https://host/org/repo``."""
    url = url.removesuffix(".git")
    if url.startswith("git@"):
        host, _, path = url[len("git@") :].partition(":")
        return f"https://{host}/{path}"
    if url.startswith("ssh://git@"):
        return "https://" + url[len("ssh://git@") :]
    return url


class GitConfig:
    """The git repository of the current directory.

    ``is_valid`` is True when the directory is in a repository with a commit and a remote;
    ``is_tree_clean`` when ``git status`` shows no changes. ``remote_url`` is the push URL of
    ``origin`` (else of the alphabetically first remote), in https form.
    """

    is_valid: bool
    is_tree_clean: bool
    remote_url: str
    repo_dir: Path
    commit_sha: str
    branch_name: str

    def __init__(self) -> None:
        self.is_valid = False
        self.is_tree_clean = False
        self.remote_url = ""
        self.repo_dir = Path.cwd()
        self.commit_sha = ""
        self.branch_name = ""
        root = _git("rev-parse", "--show-toplevel")
        if root is None:
            return
        self.repo_dir = Path(root)
        self.branch_name = _git("rev-parse", "--abbrev-ref", "HEAD") or ""
        sha = _git("rev-parse", "HEAD")
        if sha is None:  # a repository without commits
            return
        self.commit_sha = sha
        status = _git("status", "--porcelain")
        if status is None:
            return
        self.is_tree_clean = status == ""
        self.remote_url = self._get_remote_url()
        self.is_valid = bool(self.remote_url)

    def __repr__(self) -> str:
        return (
            f"GitConfig(is_valid={self.is_valid}, repo_dir={str(self.repo_dir)!r}, "
            f"commit_sha={self.commit_sha!r}, branch_name={self.branch_name!r}, "
            f"is_tree_clean={self.is_tree_clean}, remote_url={self.remote_url!r})"
        )

    @staticmethod
    def _get_remote_url() -> str:
        url = _git("remote", "get-url", "--push", "origin")
        if url is None:
            remotes = sorted(r for r in (_git("remote") or "").splitlines() if r)
            url = _git("remote", "get-url", "--push", remotes[0]) if remotes else None
        return _to_https(url) if url else ""

    @staticmethod
    def _get_remote_host(url: str) -> str:
        _, sep, rest = url.partition("//")
        host, slash, _ = rest.partition("/")
        return host if sep and slash else ""

    def get_file_path(self, path: Path | str) -> Path | str:
        """``path`` relative to the repository root; ``""`` when it is outside the repository."""
        try:
            return Path(path).resolve().relative_to(self.repo_dir.resolve())
        except ValueError:
            return ""

    def build_url(self, path: Path | str, line_number: int) -> str:
        """A link to ``path`` at this commit on GitHub or GitLab (with the line when the tree is
        clean); ``""`` when there is no such link."""
        if not self.is_valid:
            return ""
        builder = GIT_URL_BUILDER_REGISTRY.get(self._get_remote_host(self.remote_url))
        file_path = self.get_file_path(path)
        if builder is None or not file_path:
            return ""
        return builder.build_url(
            self.remote_url, Path(file_path).as_posix(), self.commit_sha, line_number, self.is_tree_clean
        )

    @staticmethod
    async def is_valid_url(url: str) -> bool:
        """Whether GET ``url`` (following redirects) succeeds."""
        import httpx  # the HTTP client loads only when a link is checked

        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(url, follow_redirects=True, timeout=10.0)
        except Exception:
            return False
        return response.is_success


def config_from_root(path: Path | str = ".flyte/config.yaml") -> flyte.config.Config | None:
    """The :class:`flyte.config.Config` of ``path`` under the git root; None outside a
    repository or when the file does not exist."""
    root = _git("rev-parse", "--show-toplevel")
    if root is None:
        return None
    file = Path(root) / path
    if not file.is_file():
        return None
    return flyte.config.auto(file)
