"""Real services on loopback ports, started and stopped by the tests that use them.

- :func:`serve_hooks`: an HTTP server recording every POST it is sent (``/fail...`` answers 500);
- :func:`serve_smtp`: an SMTP server (aiosmtpd) keeping every message and login;
- :func:`registry_server`: Debian's ``docker-registry``; :func:`push_minimal_image` makes a tag exist in it;
- :func:`devbox_process` / :func:`running_devbox`: a devbox (``flyte.server``) in a subprocess, ready once it
  answers; :func:`launch_args` and :func:`cli_args` are the two ways to start one.

Shared by every suite that needs one of them (``tests/`` is on ``sys.path``: its conftest is
the rootdir's). ``.ci/run`` installs ``docker-registry``; without it the registry tests skip.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from flyte.remote._remote_run import close_clients

REGISTRY_BINARY = "/usr/bin/docker-registry"
SRC = str(Path(__file__).resolve().parents[1] / "src")


@dataclass
class Hooks:
    """A loopback HTTP server: ``POST /fail...`` always answers 500, any other POST 200."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["path"] == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.at(path)) < count:
            assert time.monotonic() < deadline, f"{path}: {self.at(path)} after {timeout}s"
            time.sleep(0.05)
        return self.at(path)


@contextmanager
def serve_hooks() -> Iterator[Hooks]:
    """Start the recording HTTP server on a free loopback port; stop it on exit."""
    box: list[Hooks] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hooks = box[0]
            with hooks.lock:
                hooks.received.append({"path": self.path, "json": json.loads(body or b"null")})
            self.send_response(500 if self.path.startswith("/fail") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Hooks(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield box[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Mailbox:
    port: int
    messages: list[Any] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} messages after {timeout}s"
            time.sleep(0.05)
        return self.messages


@contextmanager
def serve_smtp() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a loopback port, keeping every message it accepts and the
    credentials of every login (AUTH without TLS: loopback only)."""
    import socket
    from email import message_from_bytes

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox(port)

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            message = message_from_bytes(envelope.content)
            box.messages.append({"to": list(envelope.rcpt_tos), "message": message})
            return "250 OK"

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        box.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    controller = Controller(
        Keep(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


# -- a container registry ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def registry_server(root: Path, htpasswd: Path | None = None, auth_block: str = "") -> Iterator[str]:
    """Start a registry storing its data under ``root``; yield ``127.0.0.1:<port>``; stop it afterwards.

    ``htpasswd`` turns on Basic auth; ``auth_block`` is any other ``auth:`` config (token auth).
    """
    binary = REGISTRY_BINARY if Path(REGISTRY_BINARY).exists() else shutil.which("docker-registry")
    if binary is None:
        import pytest

        pytest.skip(
            "Debian's docker-registry is not installed (apt-get install docker-registry; .ci/run does)"
        )
    port = _free_port()
    auth = auth_block
    if htpasswd is not None:
        auth = f"auth:\n  htpasswd:\n    realm: flyte-test\n    path: {htpasswd}\n"
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n" + auth,
        encoding="utf-8",
    )
    log = (root / "registry.log").open("wb")
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # 200 without auth, 401 with it: either way the registry answers.
                if httpx.get(f"http://{address}/v2/", timeout=1).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not start: {(root / 'registry.log').read_text()}")
            time.sleep(0.1)
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _upload_blob(client: httpx.Client, base: str, repository: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = client.post(f"{base}/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    if location.startswith("/"):
        location = base + location
    # The upload URL carries the registry's own query (its upload state): append the digest to it.
    done = client.put(
        location + ("&" if "?" in location else "?") + f"digest={digest}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert done.status_code == 201, done.text
    return digest


def _empty_layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w"):
        pass
    return gzip.compress(raw.getvalue(), mtime=0)


def push_minimal_image(
    address: str, uri: str, auth: tuple[str, str] | None = None, token: str | None = None
) -> None:
    """Make ``uri`` (``<address>/<repository>:<tag>``) exist in the registry at ``address``."""
    assert uri.startswith(address + "/"), uri
    repository, tag = uri[len(address) + 1 :].rsplit(":", 1)
    base = f"http://{address}"
    layer = _empty_layer()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()],
            },
            "config": {},
        }
    ).encode()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(auth=auth, headers=headers, timeout=10) as client:
        config_digest = _upload_blob(client, base, repository, config)
        layer_digest = _upload_blob(client, base, repository, layer)
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": len(layer),
                }
            ],
        }
        put = client.put(
            f"{base}/v2/{repository}/manifests/{tag}",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201, put.text


# -- a devbox in a subprocess ------------------------------------------------------------------------

LAUNCH = (
    "import sys; from pathlib import Path; from flyte.server.settings import ServerSettings; "
    "from flyte.server.devbox import run_devbox; "
    "run_devbox(ServerSettings(home=Path(sys.argv[1]), host='127.0.0.1', port=0, workers=int(sys.argv[2]), "
    "db_url=sys.argv[3] if len(sys.argv) > 3 else None))"
)
"""A ``python -c`` program starting a devbox in-process: ``home``, worker count, optional database URL."""


def launch_args(home: Path, *, workers: int = 2, db_url: str | None = None) -> list[str]:
    """The command running :data:`LAUNCH` (the server API, no CLI) on ``home``."""
    return [sys.executable, "-c", LAUNCH, str(home), str(workers), *([db_url] if db_url else [])]


def cli_args(*options: str, workers: int = 2) -> list[str]:
    """``flyte start devbox --port 0 --workers N *options`` as a command."""
    cmd = [sys.executable, "-m", "flyte.cli.main", "start", "devbox", "--port", "0"]
    return [*cmd, "--workers", str(workers), *options]


@dataclass
class Devbox:
    """A devbox the test started: where it answers, its key, its home, its process and its log."""

    endpoint: str
    api_key: str
    home: Path
    proc: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        """Everything the devbox printed (stdout and stderr)."""
        return self.home / "server.log"

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment pointed at the devbox (for a CLI run as a client)."""
        return dict(os.environ, FLYTE_ENDPOINT=self.endpoint, FLYTE_API_KEY=self.api_key, **extra)


@contextmanager
def devbox_process(
    home: Path,
    args: list[str],
    env: dict[str, str] | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    new_session: bool = False,
    timeout: float = 60.0,
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, Any]]]:
    """Run ``args`` (a command that starts a devbox on ``home``: :func:`launch_args`,
    :func:`cli_args`) with ``FLYTE_HOME=home``, its output appended to ``home/server.log``.

    Its environment is ``env`` (default: this process's) plus ``extra_env``. Yields the process and
    its ``devbox.json`` (endpoint, api_key, pid) once the record names this process and the endpoint
    answers ``/healthz`` (a record left by an earlier devbox on the same home is not mistaken for
    it); ``PYTHONPATH`` starts with this checkout's ``src``. On exit the client connections are closed and the devbox is stopped, unless it already
    ended: SIGTERM (to its process group with ``new_session``), SIGKILL after 30 s.
    """
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")  # noqa: SIM115 (the server writes it until stopped)
    full_env = dict(os.environ if env is None else env, **(extra_env or {}), FLYTE_HOME=str(home))
    # the devbox and its workers import this tree's code, whatever is installed in the venv
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [SRC, full_env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        args, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=new_session
    )
    try:
        deadline = time.monotonic() + timeout
        info: dict[str, Any] = {}
        while not info:
            assert proc.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, f"the devbox did not start in {timeout:g}s"
            try:
                info = json.loads((home / "devbox.json").read_text())
                if info.get("pid") != proc.pid:
                    raise ValueError("devbox.json is an earlier devbox's")
                httpx.get(f"{info['endpoint']}/healthz", timeout=2).raise_for_status()
            except (OSError, ValueError, KeyError, httpx.HTTPError):
                info = {}
                time.sleep(0.1)
        yield proc, info
    finally:
        close_clients()
        stop = (lambda sig: os.killpg(proc.pid, sig)) if new_session else proc.send_signal
        if proc.poll() is None:
            try:
                stop(signal.SIGTERM)
                proc.wait(30)
            except ProcessLookupError:  # ended between poll() and the signal
                proc.wait()
            except subprocess.TimeoutExpired:
                stop(signal.SIGKILL)
                proc.wait()
        log.close()


@contextmanager
def running_devbox(
    home: Path,
    args: list[str] | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    new_session: bool = True,
) -> Iterator[Devbox]:
    """:func:`devbox_process` as a :class:`Devbox` (default command: :func:`launch_args`)."""
    with devbox_process(home, args or launch_args(home), extra_env=extra_env, new_session=new_session) as (
        proc,
        info,
    ):
        yield Devbox(info["endpoint"], info["api_key"], home, proc)
