"""Fixtures for infra: a pod started by startup.sh, and a real sshd on loopback."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.procs import REPO, free_port


@dataclass
class Pod:
    """A workspace brought up by startup.sh (demo engine) on free loopback ports."""

    workspace: Path
    env: dict[str, str]
    ports: dict[str, int]

    def startup(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """Run ./startup.sh with this pod's settings."""
        return subprocess.run(
            ["bash", str(REPO / "startup.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def supervisorctl(self, *args: str) -> str:
        """supervisorctl output for this pod."""
        conf = self.workspace / "config" / "supervisord.conf"
        cmd = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def pod_env(workspace: Path, ports: dict[str, int]) -> dict[str, str]:
    """Environment for startup.sh: this interpreter's venv, no install, demo engine."""
    # Settings of the caller's own platform must not leak into the test pod.
    own = ("TELEGRAM_BOT_TOKEN", "VIRTUAL_ENV", "COMFYUI_URL", "MODELS_MANIFEST")
    env = {k: v for k, v in os.environ.items() if k not in own}
    env.update(
        WORKSPACE=str(workspace),
        VENV_DIR=sys.prefix,
        SKIP_INSTALL="1",
        BACKEND_PORT=str(ports["backend"]),
        GPU_SERVER_PORT=str(ports["gpu_server"]),
        COMFYUI_PORT=str(ports["comfyui"]),
    )
    return env


@pytest.fixture(scope="session")
def pod() -> Iterator[Pod]:
    """startup.sh run once for the session; stopped with --stop at the end."""
    # A short path: supervisord's unix socket path must stay under ~100 characters.
    workspace = Path(tempfile.mkdtemp(prefix="gp-pod-"))
    ports = {name: free_port() for name in ("backend", "gpu_server", "comfyui")}
    the_pod = Pod(workspace, pod_env(workspace, ports), ports)
    # Ports also in .env, as an operator would set them, so runs over ssh see them too.
    settings = "".join(f"{name.upper()}_PORT={port}\n" for name, port in ports.items())
    # Short worker long-polls: the backend's graceful stop waits for an open one.
    settings += "LEASE_WAIT_S=1\n"
    (workspace / ".env").write_text(settings)
    result = the_pod.startup()
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield the_pod
    finally:
        the_pod.startup("--stop", timeout=60)
        shutil.rmtree(workspace, ignore_errors=True)


def _sshd_binary() -> str:
    path = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(path).is_file():
        pytest.fail(
            "sshd not found: install openssh-server (scripts/install-system-deps.sh); "
            "the ssh tests need a real sshd"
        )
    return path


@dataclass
class Sshd:
    """A loopback sshd accepting one generated client key."""

    port: int
    key: Path
    host_key: Path
    dir: Path


def _keygen(path: Path) -> None:
    cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)]
    subprocess.run(cmd, check=True)


@pytest.fixture(scope="session")
def sshd() -> Iterator[Sshd]:
    """A real sshd on 127.0.0.1 with a host key and a client key made for the test."""
    exe = _sshd_binary()
    root = Path(tempfile.mkdtemp(prefix="gp-sshd-"))
    _keygen(root / "host_key")
    _keygen(root / "client_key")
    shutil.copy(root / "client_key.pub", root / "authorized_keys")
    port = free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_key'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPidFile {root / 'sshd.pid'}\n"
        "StrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nAllowTcpForwarding yes\n"
        f"AllowUsers {getpass.getuser()}\nLogLevel ERROR\n"
    )
    with contextlib.suppress(PermissionError):  # non-root sshd runs without privilege separation
        Path("/run/sshd").mkdir(exist_ok=True)  # root's sshd insists on this directory
    proc = subprocess.Popen([exe, "-D", "-e", "-f", str(root / "sshd_config")])
    try:
        _wait_port(port, proc)
        yield Sshd(port, root / "client_key", root / "host_key", root)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, "sshd exited at start"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("sshd did not listen")


def write_ssh_config(path: Path, sshd: Sshd, pod: Pod, **overrides: object) -> Path:
    """An ssh_config.json pointing at the loopback sshd and the test pod."""
    host: dict[str, object] = {
        "type": "direct",
        "host": "127.0.0.1",
        "port": sshd.port,
        "user": getpass.getuser(),
        "key": str(sshd.key),
        "workspace": str(pod.workspace),
        "repo": str(REPO),
        "python": sys.executable,
        "env": {"VENV_DIR": sys.prefix, "SKIP_INSTALL": "1"},
    }
    host.update(overrides)
    known = str(path.parent / "known_hosts")
    config = {"default": "pod", "known_hosts": known, "hosts": {"pod": host}}
    path.write_text(json.dumps(config))
    return path
