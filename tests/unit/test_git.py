"""flyte.git: facts about the current git repository, from a real repository made by the test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import flyte.config
from flyte.git import GitConfig, config_from_root


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    (root / "pkg" / "wf.py").write_text("print('hi')\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    git(root, "remote", "add", "origin", "git@github.com:acme/flows.git")
    monkeypatch.chdir(root / "pkg")
    return root


def test_git_config_describes_the_repository(repo: Path):
    config = GitConfig()
    assert config.is_valid
    assert config.repo_dir.resolve() == repo.resolve()
    assert config.commit_sha == git(repo, "rev-parse", "HEAD")
    assert config.branch_name == "main"
    assert config.is_tree_clean
    assert config.remote_url == "https://github.com/acme/flows"


def test_links_point_at_the_commit_and_line_only_when_clean(repo: Path):
    sha = git(repo, "rev-parse", "HEAD")
    config = GitConfig()
    assert (
        config.build_url(repo / "pkg" / "wf.py", 1)
        == f"https://github.com/acme/flows/blob/{sha}/pkg/wf.py#L1"
    )
    (repo / "pkg" / "wf.py").write_text("print('changed')\n")
    dirty = GitConfig()
    assert not dirty.is_tree_clean
    assert dirty.build_url("wf.py", 1) == f"https://github.com/acme/flows/blob/{sha}/pkg/wf.py"
    assert dirty.build_url("/elsewhere/x.py", 3) == ""


def test_the_first_remote_is_used_without_origin(repo: Path):
    git(repo, "remote", "remove", "origin")
    git(repo, "remote", "add", "zeta", "https://gitlab.com/acme/z.git")
    git(repo, "remote", "add", "alpha", "https://gitlab.com/acme/flows.git")
    config = GitConfig()
    assert config.remote_url == "https://gitlab.com/acme/flows"
    assert config.build_url(repo / "pkg" / "wf.py", 7).startswith("https://gitlab.com/acme/flows/-/blob/")


def test_without_a_remote_or_outside_a_repository_it_is_not_valid(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    git(repo, "remote", "remove", "origin")
    assert not GitConfig().is_valid
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    config = GitConfig()
    assert not config.is_valid and config.commit_sha == "" and config.build_url("x.py", 1) == ""
    assert config_from_root() is None


def test_config_from_root_reads_the_repositorys_config(repo: Path):
    assert config_from_root() is None  # no file yet
    (repo / ".flyte").mkdir()
    (repo / ".flyte" / "config.yaml").write_text(
        "admin:\n  endpoint: http://127.0.0.1:8090\ntask:\n  project: p1\n"
    )
    config = config_from_root()
    assert isinstance(config, flyte.config.Config)
    assert config.platform.endpoint == "http://127.0.0.1:8090"
    assert config.task.project == "p1"
    assert config.source == repo / ".flyte" / "config.yaml"
