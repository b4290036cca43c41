"""End to end through real processes: flagged outputs never reach the client; delivered
ones are marked and land in the takedown registry."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.services.content_policy.takedown import main as takedown
from gpu_server.safety import watermark
from gpu_server.safety.marking import read_marks
from tests.gpu_server.safety import drawings
from tests.support.stack import Stack, run_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Fake ComfyUI, backend and one worker with the real image guard."""
    base = tmp_path_factory.mktemp("safety-stack")
    with run_stack(base) as running:
        yield running


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _next_output(stack: Stack, data: bytes) -> None:
    httpx.post(f"{stack.comfy_url}/fake/next_output", content=data, timeout=5).raise_for_status()


def test_flagged_restyle_output_never_reaches_the_client(stack: Stack) -> None:
    """A restyle whose output the detector flags fails with output_blocked and no image."""
    _next_output(stack, drawings.png(drawings.figure(768)))
    body = {
        "mode": "restyle",
        "style": "realism",
        "target_image": _b64(drawings.png(drawings.shapes(512))),
    }
    with stack.client() as client:
        answer = client.post("/generate", json=body).json()
        image = client.get(f"/tasks/{answer['task_id']}/image")
    assert answer["status"] == "failed", stack.logs()
    assert answer["error_code"] == "output_blocked"
    assert not answer.get("image")
    assert image.status_code in (404, 409)
    results = stack.base / "backend-data" / "results" / answer["task_id"]
    assert not results.exists() or not any(results.iterdir())


def test_nude_input_photo_is_refused(stack: Stack) -> None:
    """A restyle of a photo the detector flags is refused before it reaches ComfyUI."""
    body = {
        "mode": "restyle",
        "style": "anime",
        "target_image": _b64(drawings.png(drawings.figure(640))),
    }
    with stack.client() as client:
        answer = client.post("/generate", json=body).json()
    assert (answer["status"], answer["error_code"]) == ("failed", "input_blocked"), answer


def test_delivered_image_is_marked_and_registered(stack: Stack, tmp_path: Path) -> None:
    """A delivered output carries metadata and watermark, and the takedown CLI finds it."""
    _next_output(stack, drawings.png(drawings.shapes(768)))
    with stack.client() as client:
        answer = client.post(
            "/generate", json={"mode": "free", "prompt": "shapes", "style": "anime"}
        ).json()
    assert answer["status"] == "done", stack.logs()
    data = base64.b64decode(answer["image"])
    marks = read_marks(data)
    assert marks.job_id == answer["task_id"]
    assert marks.watermark_tag == watermark.job_tag(answer["task_id"])
    copy = tmp_path / "copy.png"
    copy.write_bytes(data)
    db = stack.base / "backend-data" / "delivered.sqlite3"
    assert takedown(["check", str(copy), "--db", str(db)]) == 0
