"""gpu_server's HTTP surface over loopback: /generate, /health, /metrics, auth, errors, start-up."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import httpx
import pytest
from PIL import Image
from pydantic import SecretStr

from gpu_server.errors import WorkflowError
from gpu_server.server import create_app
from gpu_server.settings import GpuServerSettings

from .conftest import REPO, png_bytes, serve

TOKEN = "test-worker-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PHOTO = base64.b64encode(png_bytes(100, 80)).decode()


def settings_for(fake_url: str, **overrides) -> GpuServerSettings:
    return GpuServerSettings(
        _env_file=None,
        comfyui_url=fake_url,
        worker_token=SecretStr(TOKEN),
        comfy_poll_interval_s=0.3,
        **overrides,
    )


@pytest.fixture
async def worker_url(fake, guard):
    async with serve(create_app(settings_for(fake.url), guard=guard)) as url:
        yield url


@pytest.fixture
async def client(worker_url):
    async with httpx.AsyncClient(base_url=worker_url, timeout=30.0) as http:
        yield http


@pytest.mark.parametrize("style", ["realism", "lux", "chatgpt", "anime"])
@pytest.mark.parametrize("mode", ["free", "restyle", "upscale"])
async def test_generate_returns_a_png_with_the_seed(client, style, mode):
    """POST /generate answers a real PNG for every style and mode, with the seed it used."""
    body = {"mode": mode, "style": style, "prompt": "a lighthouse", "params": {"seed": -1}}
    if mode != "free":
        body["target_image"] = PHOTO
    response = await client.post("/generate", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert 0 <= answer["seed"] < 2**32
    data = base64.b64decode(answer["images"][0]["image"])
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (answer["images"][0]["width"], answer["images"][0]["height"])


async def test_generate_uses_the_given_seed_and_overrides(client, fake):
    """A given seed is used as is; overrides reach the graph; defaults come from the style."""
    body = {
        "style": "anime",
        "prompt": "cat",
        "params": {"seed": 31337, "steps": 33, "batch_size": 2},
    }
    response = await client.post("/generate", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["seed"] == 31337
    assert len(response.json()["images"]) == 2
    prompt = fake.submitted[-1]["body"]["prompt"]
    sampler = next(n["inputs"] for n in prompt.values() if n["class_type"] == "KSampler")
    assert (sampler["seed"], sampler["steps"], sampler["sampler_name"]) == (31337, 33, "dpmpp_2m")


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
async def test_generate_requires_the_worker_token(client, headers):
    """Without the exact bearer token /generate answers 401 unauthorized."""
    response = await client.post("/generate", json={"prompt": "x"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error_code"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"style": "nope", "prompt": "x"}, 422, "unknown_style"),
        ({"prompt": "x", "colour": "red"}, 422, "unknown_field"),
        ({"prompt": "x", "params": {"steps": 0}}, 422, "invalid_param"),
        ({"prompt": "x", "params": {"batch_size": 9}}, 422, "invalid_param"),
        ({"mode": "restyle", "target_image": "%%%not base64"}, 422, "invalid_base64"),
        ({"mode": "upscale"}, 422, "image_required"),
        ({"mode": "clothes_removal"}, 422, "invalid_request"),
    ],
)
async def test_bad_requests_get_a_stable_error_code(client, body, status, code):
    """Bad input answers 4xx with a stable error_code and a sentence, never a 500."""
    response = await client.post("/generate", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert response.json()["error"]


async def test_oversized_body_is_413(fake, guard):
    """A body over MAX_REQUEST_BYTES is refused with 413 body_too_large before it is parsed."""
    app = create_app(settings_for(fake.url, max_request_bytes=2048), guard=guard)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as http:
        body = {"mode": "upscale", "target_image": PHOTO * 10}
        response = await http.post("/generate", json=body, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["error_code"] == "body_too_large"


async def test_comfyui_down_is_503(client, fake):
    """When ComfyUI answers 503, /generate answers 503 comfy_unavailable quickly."""
    fake.faults.down = True
    response = await client.post("/generate", json={"prompt": "x"}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["error_code"] == "comfy_unavailable"


async def test_health_reports_comfyui_and_demo_engine(client):
    """/health shows ComfyUI reachable, its version, devices, models present and the demo engine."""
    response = await client.get("/health")
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["engine"] == "demo"
    assert health["comfyui"]["reachable"] is True
    assert health["comfyui"]["version"] == "0.3.64"
    assert health["comfyui"]["devices"][0]["vram_total"] > 0
    assert health["comfyui"]["queue_remaining"] == 0
    assert "sd_xl_base_1.0.safetensors" in health["models"]["present"]["checkpoints"]
    assert health["models"]["missing"] == []


async def test_health_degraded_when_models_missing_or_comfyui_down(client, fake):
    """Missing model files and an unreachable ComfyUI show as degraded, still answering 200."""
    fake.set_models({"checkpoints": ["sd_xl_base_1.0.safetensors"]})
    health = (await client.get("/health")).json()
    assert health["status"] == "degraded"
    assert "Counterfeit-V3.0_fp16.safetensors" in health["models"]["missing"]
    fake.faults.down = True
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["comfyui"]["reachable"] is False


async def test_metrics_count_jobs(client):
    """/metrics exposes job counters by mode, style and outcome."""
    await client.post("/generate", json={"style": "anime", "prompt": "x"}, headers=AUTH)
    text = (await client.get("/metrics")).text
    assert 'genpod_worker_jobs_total{mode="free",outcome="done",style="anime"} 1.0' in text


async def test_broken_template_stops_start_up(fake, tmp_path: Path):
    """A template with a bad input refuses start-up; the error names file, node and input."""
    workflows = tmp_path / "workflows"
    shutil.copytree(REPO / "workflows", workflows)
    path = workflows / "sd15" / "txt2img.json"
    graph = json.loads(path.read_text())
    graph["7"]["inputs"]["vae"] = ["1", 0]  # a MODEL where a VAE belongs
    path.write_text(json.dumps(graph))
    app = create_app(settings_for(fake.url, workflows_dir=workflows))
    with pytest.raises(WorkflowError) as caught:
        async with app.router.lifespan_context(app):
            pass
    assert str(path) in str(caught.value)
    assert "node 7 (VAEDecode) input vae" in str(caught.value)
