"""Stopping the backend process: open long polls are answered at once, not waited out."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.support.procs import Service, free_port, service

pytestmark = pytest.mark.e2e

API_KEY = "shutdown-api-key"
WORKER_TOKEN = "shutdown-worker-token"
EXIT_WITHIN_S = 2.0


def _wait_until_seen(url: str, worker_id: str) -> None:
    """Block until /health lists the worker, i.e. its lease call is being served."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        workers = httpx.get(f"{url}/health", timeout=2).json()["workers"]
        if any(w["worker_id"] == worker_id for w in workers):
            return
        time.sleep(0.02)
    raise TimeoutError(f"{worker_id} never showed up in /health")


def _start(tmp_path: Path, port: int) -> AbstractContextManager[Service]:
    env = {
        "BACKEND_HOST": "127.0.0.1",
        "BACKEND_PORT": str(port),
        "DATA_DIR": str(tmp_path / "data"),
        "API_KEYS": f"{API_KEY}:client",
        "WORKER_TOKEN": WORKER_TOKEN,
        "ENVIRONMENT": "test",
    }
    url = f"http://127.0.0.1:{port}"
    return service(
        "backend", ["-m", "backend"], health_url=f"{url}/health", env=env, log_dir=tmp_path
    )


def test_sigterm_answers_open_lease_and_exits_promptly(tmp_path: Path) -> None:
    """SIGTERM during a 20 s lease long poll: it gets 503 busy at once and the process exits."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = {"worker_id": "w-stop", "capabilities": {"architectures": ["sdxl"]}, "wait_s": 20}
    auth = {"Authorization": f"Bearer {WORKER_TOKEN}"}
    with _start(tmp_path, port) as backend, ThreadPoolExecutor(1) as pool:
        lease_url = f"{url}/worker/lease"
        pending = pool.submit(httpx.post, lease_url, json=body, headers=auth, timeout=30)
        _wait_until_seen(url, "w-stop")
        stopped_at = time.monotonic()
        backend.proc.send_signal(signal.SIGTERM)
        answer = pending.result(timeout=30)
        answered_s = time.monotonic() - stopped_at
        backend.proc.wait(timeout=30)
        exited_s = time.monotonic() - stopped_at
        log = backend.log()
    assert answer.status_code == 503, (answer.status_code, answer.text, log)
    assert answer.json()["error_code"] == "busy"
    assert int(answer.headers["Retry-After"]) >= 1
    assert answered_s < 1.0, log
    assert exited_s < EXIT_WITHIN_S, log
    assert "graceful shutdown exceeded" not in log


def _follow(url: str, task_id: str, started: threading.Event) -> list[str]:
    """Read a task's event stream to its end; the names of the events seen."""
    events: list[str] = []
    headers = {"X-API-Key": API_KEY}
    with httpx.stream("GET", f"{url}/tasks/{task_id}/events", headers=headers, timeout=30) as r:
        for line in r.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
                started.set()
    return events


def test_sigterm_answers_sync_wait_and_stream_and_keeps_the_job(tmp_path: Path) -> None:
    """SIGTERM: a waiting /generate answers processing, streams end, the job survives restart."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = {"X-API-Key": API_KEY}
    with (
        httpx.Client(base_url=url, headers=client) as queued,
        _start(tmp_path, port) as backend,
        ThreadPoolExecutor(2) as pool,
    ):
        first = queued.post("/tasks", json={"mode": "free", "prompt": "a lighthouse"}).json()
        streaming = threading.Event()
        stream = pool.submit(_follow, url, first["task_id"], streaming)
        body = {"mode": "free", "prompt": "a harbour at dawn"}
        sync = pool.submit(httpx.post, f"{url}/generate", json=body, headers=client, timeout=30)
        assert streaming.wait(10)
        while httpx.get(f"{url}/health").json()["queue_depth"] < 2:
            time.sleep(0.02)
        stopped_at = time.monotonic()
        backend.proc.send_signal(signal.SIGTERM)
        answer, events = sync.result(timeout=30), stream.result(timeout=30)
        backend.proc.wait(timeout=30)
        exited_s = time.monotonic() - stopped_at
        log = backend.log()
    waited = answer.json()
    assert (answer.status_code, waited["status"]) == (200, "processing"), (answer.text, log)
    # a position update (the sync job went ahead), then the end of the stream: no final event
    assert set(events) == {"queued"}
    assert exited_s < EXIT_WITHIN_S, log
    with _start(tmp_path, port), httpx.Client(base_url=url, headers=client) as again:
        views = [again.get(f"/tasks/{t}").json() for t in (first["task_id"], waited["task_id"])]
    assert [v["status"] for v in views] == ["queued", "queued"]
