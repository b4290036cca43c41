"""Table of bad requests: each gets its status and stable error_code, never a 5xx."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.backend.conftest import free_body, make_settings, png_b64, serve


def _raw_b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _bomb_png() -> str:
    """A PNG header promising 30000 x 30000 pixels in a few hundred bytes."""
    image = Image.new("1", (30000, 30000))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return _raw_b64(out.getvalue())


BOMB = _bomb_png()
BIG = png_b64(4200, 4100, fmt="JPEG")  # more pixels than the 4096^2 default limit


def restyle(image: str, **extra: Any) -> dict[str, Any]:
    """A restyle request with this target image."""
    return {"mode": "restyle", "style": "realism", "target_image": image, "extra_params": extra}


CASES: list[tuple[str, Any, int, str]] = [
    ("not json", b"{not json", 400, "invalid_request"),
    ("body is a list", [], 422, "invalid_request"),
    ("mode missing", {"prompt": "x"}, 422, "invalid_request"),
    ("unknown mode", {"mode": "video", "prompt": "x"}, 422, "invalid_param"),
    ("unknown top-level field", {**free_body(), "priority": 9}, 422, "unknown_field"),
    ("unknown extra param", free_body(guidance=3), 422, "unknown_field"),
    ("prompt wrong type", {**free_body(), "prompt": 5}, 422, "invalid_request"),
    ("steps as string", free_body(steps="30"), 422, "invalid_request"),
    ("steps too low", free_body(steps=19), 422, "invalid_param"),
    ("steps too high", free_body(steps=51), 422, "invalid_param"),
    ("cfg too low", free_body(cfg_scale=4.9), 422, "invalid_param"),
    ("cfg too high", free_body(cfg_scale=15.5), 422, "invalid_param"),
    ("seed below -1", free_body(seed=-2), 422, "invalid_param"),
    ("seed too large", free_body(seed=2**32), 422, "invalid_param"),
    ("batch size 0", free_body(batch_size=0), 422, "invalid_param"),
    ("batch size 5", free_body(batch_size=5), 422, "invalid_param"),
    ("unknown sampler", free_body(sampler="warp_drive"), 422, "invalid_param"),
    ("unknown scheduler", free_body(scheduler="sometimes"), 422, "invalid_param"),
    ("size not offered", free_body(width=1000, height=1000), 422, "invalid_param"),
    ("width only", free_body(width=1024), 422, "invalid_param"),
    ("unknown output format", free_body(output_format="gif"), 422, "invalid_param"),
    (
        "four loras",
        free_body(loras=[{"name": f"l{i}", "weight": 0.5} for i in range(4)]),
        422,
        "invalid_param",
    ),
    (
        "lora not offered",
        free_body(loras=[{"name": "secret.safetensors", "weight": 0.5}]),
        422,
        "unknown_lora",
    ),
    (
        "lora weight > 1",
        free_body(loras=[{"name": "sd_xl_offset_example-lora_1.0.safetensors", "weight": 1.5}]),
        422,
        "invalid_param",
    ),
    ("unknown style", {**free_body(), "style": "vaporwave"}, 422, "unknown_style"),
    ("free without prompt", {"mode": "free", "prompt": "   "}, 422, "prompt_required"),
    ("prompt too long", free_body("x" * 1501), 422, "prompt_too_long"),
    ("negative prompt too long", free_body(negative_prompt="y" * 1501), 422, "prompt_too_long"),
    ("denoise in free", free_body(denoise=0.5), 422, "invalid_param"),
    ("target image in free", {**free_body(), "target_image": png_b64()}, 422, "invalid_param"),
    ("face images", {**free_body(), "face_images": [png_b64()]}, 422, "invalid_param"),
    (
        "controlnet in restyle",
        restyle(png_b64(), controlnet={"image": png_b64()}),
        422,
        "invalid_param",
    ),
    (
        "depth controlnet on sdxl",
        free_body(controlnet={"type": "depth", "image": png_b64()}),
        422,
        "invalid_param",
    ),
    ("restyle without image", {"mode": "restyle", "style": "realism"}, 422, "image_required"),
    (
        "upscale with prompt",
        {"mode": "upscale", "prompt": "x", "target_image": png_b64()},
        422,
        "invalid_param",
    ),
    (
        "upscale batch",
        {"mode": "upscale", "target_image": png_b64(), "extra_params": {"batch_size": 2}},
        422,
        "invalid_param",
    ),
    ("base64 malformed", restyle("###not-base64###"), 400, "invalid_base64"),
    ("base64 of text", restyle(_raw_b64(b"hello, this is not an image")), 422, "image_invalid"),
    ("truncated png", restyle(png_b64(200, 200)[:200]), 422, "image_invalid"),
    ("image too small", restyle(png_b64(63, 200)), 422, "image_too_small"),
    ("decompression bomb", restyle(BOMB), 422, "image_decompression_bomb"),
    ("too many pixels", restyle(BIG), 422, "image_too_large"),
    (
        "upscale input too big",
        {"mode": "upscale", "target_image": png_b64(2100, 100)},
        422,
        "image_too_large",
    ),
    ("denoise out of range", restyle(png_b64(), denoise=0.95), 422, "invalid_param"),
    (
        "clothes removal",
        {"mode": "clothes_removal", "target_image": png_b64()},
        422,
        "mode_declined",
    ),
    ("nsfw face", {"mode": "nsfw_face", "face_images": [png_b64()]}, 422, "mode_declined"),
    ("face swap", {"mode": "face_swap"}, 422, "mode_unavailable"),
]


@pytest.mark.parametrize(("name", "body", "status", "code"), CASES, ids=[c[0] for c in CASES])
async def test_bad_request_gets_its_error_code(
    client: httpx.AsyncClient, name: str, body: Any, status: int, code: str
) -> None:
    """Each bad request answers the expected status and error_code with a plain sentence."""
    if isinstance(body, bytes):
        answer = await client.post(
            "/tasks", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        answer = await client.post("/tasks", json=body)
    assert (answer.status_code, answer.json()["error_code"]) == (status, code), answer.text
    sentence = answer.json()["error"]
    assert sentence
    assert "Traceback" not in sentence
    assert len(sentence) < 300


async def test_oversized_image_is_refused_before_decoding(tmp_path) -> None:
    """An image over MAX_IMAGE_MB is refused from its base64 length alone."""
    async with (
        serve(make_settings(tmp_path, max_image_mb=0.01)) as backend,
        httpx.AsyncClient(base_url=backend.url, headers={"X-API-Key": "test-key-1"}) as c,
    ):
        answer = await c.post("/tasks", json=restyle("A" * 20_000))
    assert (answer.status_code, answer.json()["error_code"]) == (422, "image_too_large")


async def test_body_size_limit_declared_and_streamed(tmp_path) -> None:
    """A body over MAX_BODY_MB gets 413 body_too_large, by Content-Length and when streamed."""
    async with (
        serve(make_settings(tmp_path, max_body_mb=0.01)) as backend,
        httpx.AsyncClient(base_url=backend.url, headers={"X-API-Key": "test-key-1"}) as c,
    ):
        declared = await c.post("/tasks", json=free_body("z" * 20_000))

        async def chunks():
            for _ in range(10):
                yield b" " * 5000

        streamed = await c.post(
            "/tasks", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert (declared.status_code, declared.json()["error_code"]) == (413, "body_too_large")
    assert (streamed.status_code, streamed.json()["error_code"]) == (413, "body_too_large")


async def test_photo_modes_are_open_and_refused_modes_stay_refused(
    client: httpx.AsyncClient,
) -> None:
    """restyle and upscale are accepted and queued; undressing modes and face_swap are not."""
    accepted = [
        await client.post("/tasks", json={**restyle(png_b64()), "prompt": "an oil painting"}),
        await client.post("/tasks", json={"mode": "upscale", "target_image": png_b64()}),
    ]
    refused = [
        await client.post("/tasks", json={"mode": mode, "target_image": png_b64()})
        for mode in ("clothes_removal", "nsfw_face", "face_swap")
    ]
    views = [(await client.get(f"/tasks/{a.json()['task_id']}")).json() for a in accepted]
    modes = (await client.get("/styles")).json()["modes"]
    assert [a.status_code for a in accepted] == [202, 202], [a.text for a in accepted]
    queued = [("restyle", "queued"), ("upscale", "queued")]
    assert [(v["mode"], v["status"]) for v in views] == queued
    assert [(r.status_code, r.json()["error_code"]) for r in refused] == [
        (422, "mode_declined"),
        (422, "mode_declined"),
        (422, "mode_unavailable"),
    ]
    assert {m: modes[m]["available"] for m in modes} == {
        "free": True,
        "restyle": True,
        "upscale": True,
        "clothes_removal": False,
        "nsfw_face": False,
        "face_swap": False,
    }


async def test_unknown_route_and_task_use_the_error_shape(client: httpx.AsyncClient) -> None:
    """Unknown routes and task ids answer 404 not_found in the common shape."""
    route = await client.get("/nowhere")
    task = await client.get("/tasks/doesnotexist")
    assert (route.status_code, route.json()["error_code"]) == (404, "not_found")
    assert (task.status_code, task.json()["error_code"]) == (404, "not_found")
