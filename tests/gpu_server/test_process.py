"""`python -m gpu_server` as a real process next to `python -m gpu_server.fake_comfyui`."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.procs import REPO, free_port, service

pytestmark = pytest.mark.e2e
TOKEN = "process-test-token"


@pytest.fixture
def fake_comfyui(tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "gpu_server.fake_comfyui", "--port", str(port), "--log-level", "WARNING"]
    with service("fake_comfyui", args, health_url=f"{url}/system_stats", log_dir=tmp_path):
        yield url


def worker_env(comfy_url: str, port: int, **extra: str) -> dict[str, str]:
    return {
        "COMFYUI_URL": comfy_url,
        "GPU_SERVER_PORT": str(port),
        "WORKER_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def test_worker_process_serves_health_and_generate(fake_comfyui, tmp_path: Path):
    """The worker starts, says (log, /health) it talks to the demo engine, returns a PNG + seed."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = worker_env(fake_comfyui, port)
    with service("gpu_server", ["-m", "gpu_server"], health_url=f"{url}/health", env=env,
                 log_dir=tmp_path, timeout=60) as worker:  # fmt: skip
        assert "DEMO ENGINE" in worker.log()
        health = httpx.get(f"{url}/health", timeout=10).json()
        assert health["engine"] == "demo"
        assert health["comfyui"]["reachable"] is True
        body = {"style": "anime", "prompt": "a cat on a roof", "params": {"seed": 5}}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        response = httpx.post(f"{url}/generate", json=body, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["seed"] == 5
        with Image.open(io.BytesIO(base64.b64decode(answer["images"][0]["image"]))) as image:
            assert image.format == "PNG"
            assert image.size == (512, 768)


def test_worker_process_refuses_a_broken_template(fake_comfyui, tmp_path: Path):
    """A broken template makes `python -m gpu_server` exit non-zero naming file, node and input."""
    workflows = tmp_path / "workflows"
    shutil.copytree(REPO / "workflows", workflows)
    path = workflows / "sdxl" / "restyle.json"
    graph = json.loads(path.read_text())
    graph["14"]["inputs"]["pixels"] = ["11", 0]  # a CONTROL_NET where an IMAGE belongs
    path.write_text(json.dumps(graph))
    env = {**worker_env(fake_comfyui, free_port(), WORKFLOWS_DIR=str(workflows))}
    done = subprocess.run(
        [sys.executable, "-m", "gpu_server"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert str(path) in done.stderr
    assert "node 14 (VAEEncode) input pixels" in done.stderr
