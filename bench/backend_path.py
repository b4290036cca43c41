"""Benchmarks (a) and (b): the whole backend -> worker -> ComfyUI path on the fake ComfyUI.

(a) Added latency: sequential jobs, interleaved one by one, through a bare ComfyUI client
    and through `POST /generate` on the backend (served by `python -m backend`) with a
    gpu_server pull loop (prefetch 1) in this process. Both sides use the same style,
    size and graph shape; the worker's image guard is a pass-through and its encoder keeps
    ComfyUI's PNG, as in bench/worker_overhead.py, so the figure is the plumbing only
    (the guard's own cost is in bench/safety_latency.py).
(b) Throughput: the fake takes 200 ms per prompt; 32 concurrent clients call
    `POST /generate` until `--jobs` are done. The ideal is 5 jobs/s.

    .venv/bin/python -m bench backend_path --jobs 40 --throughput-jobs 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.worker_overhead import BareClient, PassGuard, job, keep_png  # noqa: E402
from common.protocol import Capabilities, Mode  # noqa: E402
from common.styles import load_styles  # noqa: E402
from gpu_server.backend_client import BackendClient  # noqa: E402
from gpu_server.comfy_client import ComfyClient  # noqa: E402
from gpu_server.executor import Executor  # noqa: E402
from gpu_server.pull_loop import PullLoop  # noqa: E402
from gpu_server.workflows import fill_graph, load_templates  # noqa: E402
from tests.support.procs import free_port, wait_http  # noqa: E402

API_KEY = "bench-key"
WORKER_TOKEN = "bench-worker-token"
STYLE = "anime"


def spawn(
    name: str, args: list[str], env: dict[str, str], health: str, logs: Path
) -> subprocess.Popen[bytes]:
    """Start `python <args>` and wait until `health` answers."""
    log = logs / f"{name}.log"
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    wait_http(health, proc, 60, log)
    return proc


@contextlib.contextmanager
def processes(job_time: float, logs: Path) -> AsyncIterator[tuple[str, str]]:  # type: ignore[misc]
    """Fake ComfyUI and backend as processes; yields their URLs."""
    comfy_port, backend_port = free_port(), free_port()
    comfy_url, backend_url = f"http://127.0.0.1:{comfy_port}", f"http://127.0.0.1:{backend_port}"
    comfy_args = [
        "-m",
        "gpu_server.fake_comfyui",
        "--port",
        str(comfy_port),
        "--log-level",
        "WARNING",
    ]
    comfy_args += ["--job-time", str(job_time)]
    backend_env = {
        "BACKEND_PORT": str(backend_port),
        "DATA_DIR": str(logs / "backend-data"),
        "API_KEYS": f"{API_KEY}:bench",
        "WORKER_TOKEN": WORKER_TOKEN,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_PER_KEY": "100000",
    }
    procs = [spawn("comfy", comfy_args, {}, f"{comfy_url}/system_stats", logs)]
    try:
        procs.append(
            spawn("backend", ["-m", "backend"], backend_env, f"{backend_url}/health", logs)
        )
        yield comfy_url, backend_url
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.asynccontextmanager
async def worker(
    http: httpx.AsyncClient, comfy_url: str, backend_url: str
) -> AsyncIterator[Executor]:
    """A gpu_server pull loop in this process (pass-through guard, PNG kept as is)."""
    comfy = ComfyClient(http, comfy_url)
    comfy.start()
    await comfy.events.connected.wait()
    executor = Executor(
        comfy, load_templates(REPO / "workflows"), load_styles(), PassGuard(), encode=keep_png
    )

    async def capabilities() -> Capabilities:
        return Capabilities(gpu_name="bench (fake ComfyUI)")

    backend = BackendClient(http, backend_url, WORKER_TOKEN)
    loop = PullLoop(backend, executor, capabilities, worker_id="bench", prefetch=1, lease_wait_s=20)
    task = asyncio.create_task(loop.run())
    try:
        yield executor
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def generate(api: httpx.AsyncClient, seed: int) -> float:
    """One POST /generate; returns its wall time in ms."""
    body = {"mode": "free", "prompt": "a boat", "style": STYLE, "extra_params": {"seed": seed}}
    started = time.perf_counter()
    answer = await api.post("/generate", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200 or answer.json()["status"] != "done":
        raise RuntimeError(f"generate failed: {answer.status_code} {answer.text[:300]}")
    return elapsed


async def latency(comfy_url: str, backend_url: str, jobs: int) -> dict[str, float]:
    """(a): bare client vs the backend path, interleaved job by job."""
    catalog = load_styles()
    templates = load_templates(REPO / "workflows")
    template = templates.pick(Mode.FREE, catalog.styles[STYLE].architecture, controlnet=False)
    bare_ms: list[float] = []
    exec_ms: list[float] = []
    path_ms: list[float] = []
    async with (
        httpx.AsyncClient(timeout=60) as http,
        worker(http, comfy_url, backend_url) as executor,
    ):
        api = httpx.AsyncClient(base_url=backend_url, headers={"X-API-Key": API_KEY}, timeout=60)
        bare = BareClient(http, comfy_url)
        bare.ready = asyncio.Event()
        listener = asyncio.create_task(bare.listen())
        await bare.ready.wait()
        width, height = catalog.styles[STYLE].default_resolution
        for index in range(jobs + 5):  # the first 5 of each are warm-up
            spec = job(STYLE, 3 * index, width, height, catalog)
            graph = fill_graph(template, spec, style=catalog.styles[STYLE], upscale=catalog.upscale,
                               uploads={}, prefix=f"bare_{uuid.uuid4().hex}")  # fmt: skip
            started = time.perf_counter()
            await bare.run(graph)
            elapsed_bare = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await executor.run(job(STYLE, 3 * index + 1, width, height, catalog))
            elapsed_exec = (time.perf_counter() - started) * 1000
            elapsed_path = await generate(api, 3 * index + 2)
            if index >= 5:
                bare_ms.append(elapsed_bare)
                exec_ms.append(elapsed_exec)
                path_ms.append(elapsed_path)
        listener.cancel()
        await api.aclose()
    added = [p - b for p, b in zip(path_ms, bare_ms, strict=True)]
    return {
        "executor_median_ms": statistics.median(exec_ms),
        "backend_over_executor_ms": statistics.median(
            [p - e for p, e in zip(path_ms, exec_ms, strict=True)]
        ),
        "bare_median_ms": statistics.median(bare_ms),
        "path_median_ms": statistics.median(path_ms),
        "added_median_ms": statistics.median(added),
        "added_p90_ms": sorted(added)[int(0.9 * (len(added) - 1))],
    }


async def throughput(comfy_url: str, backend_url: str, jobs: int, clients: int) -> dict[str, float]:
    """(b): `clients` concurrent callers until `jobs` are done; jobs/s over the run."""
    finished: list[float] = []
    counter = iter(range(jobs))

    async def client(api: httpx.AsyncClient) -> None:
        for seed in counter:
            await generate(api, 10_000 + seed)
            finished.append(time.perf_counter())

    limits = httpx.Limits(max_connections=clients + 4)
    headers = {"X-API-Key": API_KEY}
    api = httpx.AsyncClient(base_url=backend_url, headers=headers, timeout=120, limits=limits)
    async with httpx.AsyncClient(timeout=120) as http, worker(http, comfy_url, backend_url), api:
        await generate(api, 99_999)  # warm-up
        started = time.perf_counter()
        await asyncio.gather(*(client(api) for _ in range(clients)))
    finished.sort()
    steady = (len(finished) - 1) / (finished[-1] - finished[0])
    return {
        "jobs": jobs,
        "overall_jobs_per_s": jobs / (finished[-1] - started),
        "steady_jobs_per_s": steady,
    }


async def bare_throughput(comfy_url: str, jobs: int) -> float:
    """The fake's own ceiling: a bare client keeping two prompts in ComfyUI at all times."""
    catalog = load_styles()
    template = load_templates(REPO / "workflows").pick(
        Mode.FREE, catalog.styles[STYLE].architecture, controlnet=False
    )
    width, height = catalog.styles[STYLE].default_resolution
    finished: list[float] = []
    async with httpx.AsyncClient(timeout=60) as http:
        bare = BareClient(http, comfy_url)
        bare.ready = asyncio.Event()
        listener = asyncio.create_task(bare.listen())
        await bare.ready.wait()
        counter = iter(range(jobs))

        async def lane() -> None:
            for index in counter:
                spec = job(STYLE, 50_000 + index, width, height, catalog)
                graph = fill_graph(template, spec, style=catalog.styles[STYLE],
                                   upscale=catalog.upscale, uploads={},
                                   prefix=f"bare_{uuid.uuid4().hex}")  # fmt: skip
                await bare.run(graph)
                finished.append(time.perf_counter())

        await asyncio.gather(lane(), lane())
        listener.cancel()
    finished.sort()
    return (len(finished) - 1) / (finished[-1] - finished[0])


def main() -> None:
    """Run (a) and (b) and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=40, help="sequential jobs for (a)")
    parser.add_argument("--throughput-jobs", type=int, default=60, help="jobs for (b)")
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        with processes(0.0, Path(tmp)) as (comfy_url, backend_url):
            a = asyncio.run(latency(comfy_url, backend_url, args.jobs))
        print(
            f"(a) added latency over a bare ComfyUI client: median {a['added_median_ms']:.1f} ms, "
            f"p90 {a['added_p90_ms']:.1f} ms (bare {a['bare_median_ms']:.1f} ms, "
            f"backend path {a['path_median_ms']:.1f} ms, {args.jobs} jobs); of which the "
            f"backend and protocol add {a['backend_over_executor_ms']:.1f} ms over the worker's "
            f"executor called directly ({a['executor_median_ms']:.1f} ms)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        with processes(0.2, Path(tmp)) as (comfy_url, backend_url):
            ceiling = asyncio.run(bare_throughput(comfy_url, args.throughput_jobs // 2))
            b = asyncio.run(throughput(comfy_url, backend_url, args.throughput_jobs, args.clients))
        print(
            f"(b) the fake's own ceiling (bare client, 2 prompts in flight): {ceiling:.2f} jobs/s"
        )
        print(
            f"(b) throughput at {args.clients} clients, 200 ms per job: "
            f"{b['steady_jobs_per_s']:.2f} jobs/s "
            f"steady ({b['steady_jobs_per_s'] / 5:.2f} of ideal 5, "
            f"{b['steady_jobs_per_s'] / ceiling:.2f} of the fake's ceiling), "
            f"{b['overall_jobs_per_s']:.2f} jobs/s overall"
        )


if __name__ == "__main__":
    main()
