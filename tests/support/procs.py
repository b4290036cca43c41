"""Start genpod services as real processes on loopback and wait until they answer."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A running child process and where its log goes."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal (SIGKILL by default) and reap the process."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        """Terminate gracefully, then kill if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_http(url: str, proc: subprocess.Popen[bytes] | None, timeout: float, log: Path) -> None:
    """Poll url until it answers with any status below 500, or fail with the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


@contextmanager
def service(
    name: str,
    args: list[str],
    *,
    health_url: str | None,
    env: Mapping[str, str] | None = None,
    log_dir: Path,
    timeout: float = 30.0,
) -> Iterator[Service]:
    """Run `python <args>` from the repo root; yield once health_url answers."""
    log_path = log_dir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    svc = Service(name, proc, log_path, health_url or "")
    try:
        if health_url:
            wait_http(health_url, proc, timeout, log_path)
        yield svc
    finally:
        svc.stop()
