"""The whole genpod request path as real processes on loopback: fake ComfyUI, backend, workers.

    with run_stack(tmp_path, workers=1) as stack:
        answer = stack.client().post("/generate", json={...})
        stack.kill_worker(0); stack.start_worker(); stack.restart_backend()

Every process gets a free port and a folder under the given base directory; logs go to
`<base>/logs/<name>.log` and are printed by `Stack.logs()` when a test needs them.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.procs import Service, free_port, service

API_KEY = "stack-api-key"
WORKER_TOKEN = "stack-worker-token"


@dataclass
class Stack:
    """Handles and URLs of a running stack; methods start, kill and restart its parts."""

    base: Path
    exits: ExitStack
    comfy_args: list[str]
    backend_env: dict[str, str]
    worker_env: dict[str, str]
    comfy: Service | None = None
    backend: Service | None = None
    workers: list[Service] = field(default_factory=list)
    comfy_port: int = field(default_factory=free_port)
    backend_port: int = field(default_factory=free_port)

    @property
    def comfy_url(self) -> str:
        """Base URL of the fake ComfyUI."""
        return f"http://127.0.0.1:{self.comfy_port}"

    @property
    def backend_url(self) -> str:
        """Base URL of the backend."""
        return f"http://127.0.0.1:{self.backend_port}"

    @property
    def log_dir(self) -> Path:
        """Where every process writes its log."""
        path = self.base / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def client(self, timeout: float = 60.0, **headers: str) -> httpx.Client:
        """A sync client for the backend with the stack's API key."""
        return httpx.Client(
            base_url=self.backend_url, headers={"X-API-Key": API_KEY, **headers}, timeout=timeout
        )

    def start_comfy(self) -> Service:
        """Start (or start again) the fake ComfyUI on its port."""
        args = ["-m", "gpu_server.fake_comfyui", "--port", str(self.comfy_port), *self.comfy_args]
        self.comfy = self._start("comfy", args, f"{self.comfy_url}/queue", {})
        return self.comfy

    def start_backend(self) -> Service:
        """Start (or start again) the backend on its port, with the same data dir."""
        env = {
            "BACKEND_HOST": "127.0.0.1",
            "BACKEND_PORT": str(self.backend_port),
            "DATA_DIR": str(self.base / "backend-data"),
            "API_KEYS": f"{API_KEY}:stack",
            "WORKER_TOKEN": WORKER_TOKEN,
            "ENVIRONMENT": "test",
            **self.backend_env,
        }
        self.backend = self._start("backend", ["-m", "backend"], f"{self.backend_url}/health", env)
        return self.backend

    def start_worker(self, **env: str) -> Service:
        """Start one more gpu_server pulling from the backend; returns its handle."""
        index = len(self.workers)
        port = free_port()
        full_env = {
            "GPU_SERVER_HOST": "127.0.0.1",
            "GPU_SERVER_PORT": str(port),
            "COMFYUI_URL": self.comfy_url,
            "BACKEND_URL": self.backend_url,
            "WORKER_TOKEN": WORKER_TOKEN,
            "WORKER_ID": f"stack-worker-{index}",
            "DATA_DIR": str(self.base / f"worker-{index}"),
            "ENVIRONMENT": "test",
            "LEASE_WAIT_S": "5",
            "PROGRESS_INTERVAL_S": "0.5",
            "BACKOFF_MAX_S": "1",
            **self.worker_env,
            **env,
        }
        worker = self._start(
            f"worker-{index}", ["-m", "gpu_server"], f"http://127.0.0.1:{port}/health", full_env
        )
        self.workers.append(worker)
        return worker

    def kill_worker(self, index: int) -> None:
        """SIGKILL a worker: it gets no chance to report anything."""
        self.workers[index].kill(signal.SIGKILL)

    def kill_backend(self) -> None:
        """SIGKILL the backend."""
        if self.backend is not None:
            self.backend.kill(signal.SIGKILL)

    def restart_backend(self) -> Service:
        """Kill the backend and start it again on the same port and data dir."""
        self.kill_backend()
        return self.start_backend()

    def logs(self) -> str:
        """Every process log, for assertion messages."""
        return "\n".join(
            f"===== {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )

    def _start(self, name: str, args: list[str], health: str, env: Mapping[str, str]) -> Service:
        # A restarted process appends to a new log file so the first run's log stays readable.
        runs = len(list(self.log_dir.glob(f"{name}*.log")))
        log_name = name if runs == 0 else f"{name}.{runs}"
        return self.exits.enter_context(
            service(log_name, args, health_url=health, env=env, log_dir=self.log_dir, timeout=60.0)
        )


@contextmanager
def run_stack(
    base: Path,
    *,
    workers: int = 1,
    comfy_args: list[str] | None = None,
    backend_env: Mapping[str, str] | None = None,
    worker_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start fake ComfyUI, backend and `workers` gpu_servers; stop them all at the end."""
    with ExitStack() as exits:
        stack = Stack(
            base=base,
            exits=exits,
            comfy_args=list(comfy_args or []),
            backend_env=dict(backend_env or {}),
            worker_env=dict(worker_env or {}),
        )
        stack.start_comfy()
        stack.start_backend()
        for _ in range(workers):
            stack.start_worker()
        yield stack
