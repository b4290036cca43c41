"""End to end with real processes: fake ComfyUI -> gpu_server pull loop -> backend -> client."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.stack import Stack, run_stack

pytestmark = pytest.mark.e2e

STYLES = ["realism", "lux", "chatgpt", "anime"]


def photo() -> str:
    """A blue-green gradient photo (a flat skin-like colour would trip the nudity screen)."""
    image = Image.new("RGB", (320, 256))
    image.putdata([(0, (x * 255) // 320, 200) for _ in range(256) for x in range(320)])
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def wait_for(
    client: httpx.Client, task_id: str, states: set[str], within: float = 30.0
) -> dict[str, Any]:
    """Poll a task until its status is one of `states`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        view = client.get(f"/tasks/{task_id}").json()
        if view["status"] in states:
            return dict(view)
        time.sleep(0.1)
    raise AssertionError(f"task {task_id} never reached {states}: {view}")


def set_faults(stack: Stack, **faults: Any) -> None:
    """Inject faults into the fake ComfyUI."""
    httpx.post(f"{stack.comfy_url}/fake/faults", json=faults, timeout=5).raise_for_status()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One stack for the tests that do not kill anything (prefetch off: queued stays queued)."""
    base = tmp_path_factory.mktemp("stack")
    with run_stack(base, worker_env={"PREFETCH": "0"}) as stack:
        yield stack


def _decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


@pytest.mark.parametrize("style", STYLES)
def test_sync_generate_free_and_restyle_for_each_style(shared: Stack, style: str) -> None:
    """POST /generate returns a real image for free and restyle in every style."""
    with shared.client() as client:
        free = client.post(
            "/generate", json={"mode": "free", "prompt": "a lighthouse at dusk", "style": style}
        )
        body = {"mode": "restyle", "style": style, "target_image": photo()}
        restyle = client.post("/generate", json=body)
    for mode, answer in (("free", free), ("restyle", restyle)):
        assert answer.status_code == 200, shared.logs()
        assert answer.json()["status"] == "done", (mode, answer.json()["error_code"])
        assert answer.json()["status"] == "done", (
            answer.json()["error_code"],
            answer.json()["error"],
        )
        assert _decoded(answer.json()["image"]).format == "PNG"


def test_sync_generate_upscale_and_batch(shared: Stack) -> None:
    """Upscale returns a bigger image; a batch of 2 returns two images."""
    with shared.client() as client:
        up = client.post("/generate", json={"mode": "upscale", "target_image": photo()}).json()
        batch = client.post(
            "/generate",
            json={
                "mode": "free",
                "prompt": "two cats",
                "style": "anime",
                "extra_params": {"batch_size": 2},
            },
        ).json()
    assert up["status"] == "done", up
    assert _decoded(up["image"]).size[0] > 320
    assert batch["status"] == "done", batch
    assert len(batch["images"]) == 2


def test_health_shows_the_demo_engine_worker(shared: Stack) -> None:
    """/health lists the connected worker, labelled as the demo engine."""
    health = httpx.get(f"{shared.backend_url}/health").json()
    assert health["store"] == "ok"
    assert any("DEMO" in w["gpu_name"].upper() for w in health["workers"]), health


def test_async_flow_with_event_stream(shared: Stack) -> None:
    """POST /tasks then the SSE stream: running progress and a final done; the image downloads."""
    with shared.client() as client:
        task_id = client.post(
            "/tasks", json={"mode": "free", "prompt": "a fox", "style": "anime"}
        ).json()["task_id"]
        events: list[tuple[str, Any]] = []
        with client.stream("GET", f"/tasks/{task_id}/events") as stream:
            name = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.append((name, json.loads(line[6:])))
        image = client.get(f"/tasks/{task_id}/image", params={"format": "jpeg"})
    names = [n for n, _ in events]
    assert names[-1] == "done", events
    assert "running" in names
    assert image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).format == "JPEG"


def test_cancel_queued_and_running(shared: Stack) -> None:
    """A queued job never runs; a running one is interrupted and the worker goes on."""
    set_faults(shared, step_time=0.3)
    try:
        with shared.client() as client:
            body = {"mode": "free", "prompt": "a slow painting", "style": "anime"}
            running = client.post("/tasks", json=body).json()["task_id"]
            queued = client.post("/tasks", json=body).json()["task_id"]
            wait_for(client, running, {"running"})
            assert client.delete(f"/tasks/{queued}").json()["status"] == "cancelled"
            assert client.delete(f"/tasks/{running}").json()["status"] == "cancelled"
            set_faults(shared, step_time=0.0)
            after = client.post("/generate", json=body).json()
            queued_view = client.get(f"/tasks/{queued}").json()
    finally:
        set_faults(shared, step_time=0.0)
    assert after["status"] == "done", shared.logs()
    assert queued_view["started_at"] is None


def test_sync_timeout_answers_processing_then_completes(tmp_path: Path) -> None:
    """With a short REQUEST_TIMEOUT, /generate answers processing and the task completes later."""
    env = {"REQUEST_TIMEOUT": "1"}
    with (
        run_stack(tmp_path, backend_env=env, comfy_args=["--step-time", "0.15"]) as stack,
        stack.client() as client,
    ):
        answer = client.post(
            "/generate", json={"mode": "free", "prompt": "a quiet lake", "style": "anime"}
        ).json()
        assert answer["status"] == "processing"
        view = wait_for(client, answer["task_id"], {"done", "failed"})
    assert view["status"] == "done", (view["error_code"], view["error"])


def test_killed_worker_job_finishes_on_second_worker(tmp_path: Path) -> None:
    """A worker killed mid-job loses its lease; after expiry a second worker finishes the job."""
    env = {"LEASE_TTL_S": "2", "REAPER_INTERVAL_S": "0.2"}
    with (
        run_stack(tmp_path, backend_env=env, comfy_args=["--step-time", "0.2"]) as stack,
        stack.client() as client,
    ):
        task_id = client.post(
            "/tasks", json={"mode": "free", "prompt": "a bridge", "style": "anime"}
        ).json()["task_id"]
        deadline = time.monotonic() + 30
        while client.get(f"/tasks/{task_id}").json().get("progress", {}) in (None, {}) or (
            client.get(f"/tasks/{task_id}").json()["progress"]["step"] < 2
        ):
            assert time.monotonic() < deadline, stack.logs()
            time.sleep(0.1)
        stack.kill_worker(0)
        set_faults(stack, step_time=0.0)
        stack.start_worker()
        view = wait_for(client, task_id, {"done", "failed"}, within=60)
    assert view["status"] == "done", stack.logs()


def test_backend_restart_keeps_queued_jobs(tmp_path: Path) -> None:
    """Jobs queued before a backend crash are still there after restart and complete."""
    with run_stack(tmp_path, workers=0) as stack:
        with stack.client() as client:
            ids = [
                client.post(
                    "/tasks", json={"mode": "free", "prompt": f"tree {i}", "style": "anime"}
                ).json()["task_id"]
                for i in range(2)
            ]
        stack.restart_backend()
        stack.start_worker()
        with stack.client() as client:
            views = [wait_for(client, task_id, {"done", "failed"}) for task_id in ids]
    assert [v["status"] for v in views] == ["done", "done"], stack.logs()


def test_comfyui_down_gives_a_clear_failure(tmp_path: Path) -> None:
    """With ComfyUI answering 503, the job ends failed with comfy_unavailable and a sentence."""
    env = {"MAX_ATTEMPTS": "2", "REQUEST_TIMEOUT": "60"}
    with run_stack(tmp_path, backend_env=env) as stack, stack.client() as client:
        set_faults(stack, down=True)
        answer = client.post(
            "/generate", json={"mode": "free", "prompt": "a storm", "style": "anime"}
        ).json()
    assert answer["status"] == "failed", stack.logs()
    assert answer["error_code"] == "comfy_unavailable"
    assert answer["error"]
