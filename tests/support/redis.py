"""A throwaway redis-server on a free loopback port, without persistence, in a temp dir."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.pg import missing
from tests.support.procs import free_port


def _wait_ping(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 10) -> None:
    """Poll PING until the server answers PONG, or fail with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"redis-server did not answer within {timeout}s:\n{log.read_text()}")


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server, yield its redis:// URL, stop it after."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server not found on PATH")
    root = Path(tempfile.mkdtemp(prefix="genpod-redis-"))
    port, log = free_port(), root / "redis.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with log.open("wb") as out:
        proc = subprocess.Popen([*args, "--dir", str(root)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_ping(port, proc, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
