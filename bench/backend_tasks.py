"""Benchmark (c): GET /tasks/{id} throughput at 32 concurrent clients.

Starts the backend as its own process (`python -m backend`, uvloop + httptools), fills
it with finished tasks through the worker protocol, then runs the load from a separate
process (aiohttp, keep-alive, N concurrent clients) for a fixed time.

    .venv/bin/python bench/backend_tasks.py --clients 32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx
import uvloop
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
API_KEY = "bench-key"
WORKER_TOKEN = "bench-worker-token"


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_backend(port: int, data_dir: str) -> subprocess.Popen[bytes]:
    """python -m backend on the port, waiting for /health."""
    env = {
        **os.environ,
        "BACKEND_PORT": str(port),
        "DATA_DIR": data_dir,
        "API_KEYS": f"{API_KEY}:bench",
        "WORKER_TOKEN": WORKER_TOKEN,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_KEY": "100000",
    }
    proc = subprocess.Popen([sys.executable, "-m", "backend"], cwd=REPO, env=env)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("backend did not start")


def _png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 90, 200)).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def seed_tasks(url: str, count: int, finish: bool) -> list[str]:
    """Queue `count` tasks; with finish, complete each through the worker protocol."""
    api = httpx.Client(base_url=url, headers={"X-API-Key": API_KEY})
    worker = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {WORKER_TOKEN}"})
    body = {"mode": "free", "prompt": "a lighthouse", "style": "anime"}
    ids = [api.post("/tasks", json=body).json()["task_id"] for _ in range(count)]
    image = {"data_b64": _png(), "format": "png", "width": 64, "height": 64}
    while finish:
        answer = worker.post(
            "/worker/lease", json={"worker_id": "bench", "capabilities": {}, "wait_s": 0}
        )
        if answer.status_code == 204:
            break
        lease = answer.json()
        job_id = lease["job"]["job_id"]
        result = {"lease_id": lease["lease_id"], "images": [image], "seed": 1}
        worker.post(f"/worker/jobs/{job_id}/result", json=result).raise_for_status()
    return ids


async def _client(
    session: aiohttp.ClientSession, url: str, ids: list[str], stop: float, lat: list[float]
) -> int:
    done = 0
    i = 0
    while time.perf_counter() < stop:
        task_id = ids[i % len(ids)]
        i += 1
        start = time.perf_counter()
        async with session.get(f"{url}/tasks/{task_id}") as answer:
            await answer.read()
            if answer.status != 200:
                raise RuntimeError(f"status {answer.status}")
        lat.append(time.perf_counter() - start)
        done += 1
    return done


async def _load(url: str, ids: list[str], clients: int, seconds: float) -> tuple[int, list[float]]:
    connector = aiohttp.TCPConnector(limit=clients)
    lat: list[float] = []
    async with aiohttp.ClientSession(
        connector=connector, headers={"X-API-Key": API_KEY}
    ) as session:
        await _client(session, url, ids, time.perf_counter() + 1.0, [])  # warm-up
        stop = time.perf_counter() + seconds
        counts = await asyncio.gather(
            *(_client(session, url, ids, stop, lat) for _ in range(clients))
        )
    return sum(counts), lat


def load_process(
    url: str, ids: list[str], clients: int, seconds: float, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    """Runs in its own process so the load does not share the backend's event loop."""
    uvloop.install()
    total, lat = asyncio.run(_load(url, ids, clients, seconds))
    out.put((total, lat))


def measure(url: str, ids: list[str], clients: int, seconds: float) -> dict[str, float]:
    """Requests per second and latency percentiles from a separate load process."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    proc = multiprocessing.Process(target=load_process, args=(url, ids, clients, seconds, queue))
    proc.start()
    total, lat = queue.get()
    proc.join()
    lat.sort()
    return {
        "rps": total / seconds,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        proc = start_backend(port, data_dir)
        try:
            done = seed_tasks(url, args.tasks, finish=True)
            queued = seed_tasks(url, args.tasks, finish=False)
            print(f"load average before: {os.getloadavg()}")
            for name, ids in (
                ("done tasks (cached view)", done),
                ("queued tasks (store + position)", queued),
            ):
                cpu_before = _cpu_seconds(proc.pid)
                figures = measure(url, ids, args.clients, args.seconds + 1.0)
                figures["backend_cpu"] = (_cpu_seconds(proc.pid) - cpu_before) / (
                    args.seconds + 1.0
                )
                print(
                    f"GET /tasks/{{id}} {name}: {figures['rps']:.0f} req/s, "
                    f"{args.clients} clients, "
                    f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, "
                    f"backend CPU {figures['backend_cpu']:.0%} of one core"
                )
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
