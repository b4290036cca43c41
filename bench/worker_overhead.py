"""Per-job time added by gpu_server's executor over a bare ComfyUI client, on the fake ComfyUI.

Starts the fake ComfyUI as its own process with zero execution time, then runs N sequential
jobs through (a) a bare client (POST /prompt, wait for `executing null` on the websocket,
GET /history, GET /view) and (b) gpu_server's Executor.run (graph filling, submit, websocket
follow with history fallback, download, output screening with a pass-through guard, marking
and encoding). Both submit the same filled graph shape and image size, interleaved job by job.

    .venv/bin/python -m bench worker_overhead --jobs 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from common.protocol import ContentContext, JobSpec, Mode  # noqa: E402
from common.styles import load_styles  # noqa: E402
from gpu_server.comfy_client import ComfyClient  # noqa: E402
from gpu_server.executor import Executor  # noqa: E402
from gpu_server.safety.base import Verdict  # noqa: E402
from gpu_server.workflows import fill_graph, load_templates  # noqa: E402
from gpu_server.workflows.defaults import default_params  # noqa: E402
from tests.support.procs import free_port, wait_http  # noqa: E402


class PassGuard:
    """Screens nothing: the classifier's own latency is measured by bench/safety_latency.py."""

    async def check_input(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        return Verdict(blocked=False)

    async def check_output(self, image: bytes, ctx: ContentContext, *, job_id: str = "") -> Verdict:
        return Verdict(blocked=False)


class BareClient:
    """The least a ComfyUI client can do: submit, wait for the end frame, history, view."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self.http, self.url, self.client_id = http, url, uuid.uuid4().hex
        self.done: dict[str, asyncio.Future[None]] = {}

    async def listen(self) -> None:
        async with connect(f"ws{self.url[4:]}/ws?clientId={self.client_id}", max_size=None) as ws:
            self.ready.set()
            async for message in ws:
                if isinstance(message, str):
                    frame = json.loads(message)
                    data = frame.get("data", {})
                    if frame["type"] == "executing" and data.get("node") is None:
                        future = self.done.get(data.get("prompt_id"))
                        if future and not future.done():
                            future.set_result(None)

    async def run(self, prompt: dict) -> list[bytes]:
        prompt_id = str(uuid.uuid4())
        self.done[prompt_id] = asyncio.get_running_loop().create_future()
        body = {"prompt": prompt, "client_id": self.client_id, "prompt_id": prompt_id}
        (await self.http.post(f"{self.url}/prompt", json=body)).raise_for_status()
        await self.done[prompt_id]
        del self.done[prompt_id]
        entry = (await self.http.get(f"{self.url}/history/{prompt_id}")).json()[prompt_id]
        images = [img for out in entry["outputs"].values() for img in out.get("images", [])]
        return [(await self.http.get(f"{self.url}/view", params=img)).content for img in images]


def keep_png(png: bytes, fmt: str, job_id: str) -> bytes:
    """Encoder that returns ComfyUI's PNG untouched: isolates the plumbing from the marking."""
    return png


def job(style: str, seed: int, width: int, height: int, catalog) -> JobSpec:
    params = default_params(catalog.styles[style], seed=seed).model_copy(
        update={"width": width, "height": height}
    )
    return JobSpec(
        job_id=f"bench-{seed}-{uuid.uuid4().hex[:6]}",
        mode=Mode.FREE,
        style=style,
        prompt="a boat",
        params=params,
    )


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


async def measure(url: str, jobs: int, style: str, width: int, height: int) -> dict[str, object]:
    catalog = load_styles()
    templates = load_templates(REPO / "workflows")
    async with httpx.AsyncClient(timeout=30.0) as http:
        comfy = ComfyClient(http, url)
        comfy.start()
        await comfy.events.connected.wait()
        executor = Executor(comfy, templates, catalog, PassGuard())
        plain = Executor(comfy, templates, catalog, PassGuard(), encode=keep_png)
        bare = BareClient(http, url)
        bare.ready = asyncio.Event()
        listener = asyncio.create_task(bare.listen())
        await bare.ready.wait()
        template = templates.pick(Mode.FREE, catalog.styles[style].architecture, controlnet=False)
        theirs, unmarked, ours, parts = [], [], [], []
        # Phase 1: bare client and executor (marking off) interleaved job by job.
        for index in range(jobs + 5):  # the first 5 of each are warm-up
            # distinct seeds: the fake caches like ComfyUI, so no run may reuse another's graph
            bare_job = job(style, 3 * index, width, height, catalog)
            graph = fill_graph(template, bare_job, style=catalog.styles[style],
                               upscale=catalog.upscale, uploads={},
                               prefix=f"bare_{uuid.uuid4().hex}")  # fmt: skip
            started = time.perf_counter()
            await bare.run(graph)
            bare_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await plain.run(job(style, 3 * index + 1, width, height, catalog))
            plain_ms = (time.perf_counter() - started) * 1000
            if index >= 5:
                theirs.append(bare_ms)
                unmarked.append(plain_ms)
        # Phase 2: the full executor (AI-marking + watermark on) alone: numpy's worker
        # threads stay busy after the watermark and would slow whatever runs next.
        for index in range(jobs + 5):
            started = time.perf_counter()
            outcome = await executor.run(job(style, 3 * index + 2, width, height, catalog))
            if index >= 5:
                ours.append((time.perf_counter() - started) * 1000)
                parts.append(outcome.timings_ms)
        listener.cancel()
        await comfy.close()
    (bare_med, bare_p95), (our_med, our_p95) = summary(theirs), summary(ours)
    plain_med, plain_p95 = summary(unmarked)
    paired = statistics.median(p - b for p, b in zip(unmarked, theirs, strict=True))
    mean_parts = {k: round(statistics.mean(p[k] for p in parts), 2) for k in parts[0]}
    return {
        "jobs": jobs,
        "size": f"{width}x{height}",
        "bare_median_ms": round(bare_med, 2),
        "bare_p95_ms": round(bare_p95, 2),
        "worker_median_ms": round(our_med, 2),
        "worker_p95_ms": round(our_p95, 2),
        "added_median_ms": round(our_med - bare_med, 2),
        "worker_without_marking_median_ms": round(plain_med, 2),
        "worker_without_marking_p95_ms": round(plain_p95, 2),
        "added_without_marking_median_ms": round(plain_med - bare_med, 2),
        "added_without_marking_paired_median_ms": round(paired, 2),
        "worker_timings_mean_ms": mean_parts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--style", default="realism")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument(
        "--comfyui-url", help="use a running (fake) ComfyUI instead of starting one"
    )
    args = parser.parse_args()
    proc = None
    url = args.comfyui_url
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = Path("/tmp") / f"bench-fake-comfyui-{port}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gpu_server.fake_comfyui",
                "--port",
                str(port),
                "--log-level",
                "WARNING",
            ],
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_http(f"{url}/system_stats", proc, 30, log)
    try:
        result = asyncio.run(measure(url, args.jobs, args.style, args.width, args.height))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    print(json.dumps(result, indent=2))
    print(
        f"added median overhead: {result['added_without_marking_median_ms']} ms per job without"
        f" marking (target < 15 ms); {result['added_median_ms']} ms with AI-marking + watermark"
    )


if __name__ == "__main__":
    main()
