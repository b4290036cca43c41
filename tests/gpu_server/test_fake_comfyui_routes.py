"""The fake ComfyUI's files, system routes, graphs and faults, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
import yaml
from PIL import Image

from gpu_server.comfy_schema import PromptValidation, model_missing
from gpu_server.fake_comfyui import FakeComfyUI, FakeConfig, demo_models
from gpu_server.fake_comfyui.images import render_png
from tests.gpu_server.test_fake_comfyui import (
    CLIENT,
    RECORDED_MODELS,
    connect,
    run,
    submit,
    txt2img,
)
from tests.support.procs import REPO, free_port


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeComfyUI]:
    config = FakeConfig(
        models=RECORDED_MODELS,
        output_dir=tmp_path / "out",
        input_dir=tmp_path / "in",
        temp_dir=tmp_path / "tmp",
    )
    server = FakeComfyUI(config)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(fake: FakeComfyUI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, timeout=5.0) as client:
        yield client


def png(width: int, height: int, color: tuple[int, int, int] = (10, 200, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


async def upload(http, name: str, data: bytes | None, **fields: str) -> httpx.Response:
    files = {"image": (name, data, "image/png")} if data is not None else None
    return await http.post("/upload/image", data=fields, files=files)


def size_of(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


async def test_upload_dedupe_rules_match_recording(fake, http) -> None:
    """Same name: same bytes keep it, new bytes get (1), (2); overwrite replaces; 400s refuse."""
    a, b, c = png(8, 8, (1, 1, 1)), png(8, 8, (2, 2, 2)), png(8, 8, (3, 3, 3))
    steps = [
        (a, {"overwrite": "true", "type": "input"}, "rec_upload.png"),
        (a, {"type": "input"}, "rec_upload.png"),
        (b, {"overwrite": "false", "type": "input"}, "rec_upload (1).png"),
        (b, {"overwrite": "false", "type": "input"}, "rec_upload (1).png"),
        (c, {"type": "input"}, "rec_upload (2).png"),
        (c, {"overwrite": "true", "type": "input"}, "rec_upload.png"),
    ]
    for data, fields, name in steps:
        answer = await upload(http, "rec_upload.png", data, **fields)
        assert answer.json() == {"name": name, "subfolder": "", "type": "input"}
    assert (fake.input_dir / "rec_upload.png").read_bytes() == c
    sub = await upload(http, "rec_upload.png", a, overwrite="true", subfolder="rec_sub")
    assert sub.json() == {"name": "rec_upload.png", "subfolder": "rec_sub", "type": "input"}
    assert (await upload(http, "n.png", b, overwrite="true")).json()["type"] == "input"
    assert (await upload(http, "t.png", b, overwrite="1", type="temp")).json()["type"] == "temp"
    assert (await upload(http, "g.png", b"not an image", overwrite="true")).status_code == 200
    escaping = await upload(http, "rec_upload.png", a, overwrite="true", subfolder="../out")
    assert (escaping.status_code, escaping.content) == (400, b"")
    missing = await upload(http, "x.png", None, overwrite="true")
    assert (missing.status_code, missing.content) == (400, b"")
    view = await http.get(
        "/view", params={"filename": "rec_upload.png", "subfolder": "rec_sub", "type": "input"}
    )
    assert view.content == a
    temp = await http.get("/view", params={"filename": "t.png", "type": "temp"})
    assert temp.content == b
    rgb = await http.get(
        "/view", params={"filename": "rec_upload.png", "type": "input", "channel": "rgb"}
    )
    assert rgb.headers["content-type"] == "image/png"
    webp = await http.get(
        "/view", params={"filename": "rec_upload.png", "type": "input", "preview": "webp;50"}
    )
    assert webp.headers["content-type"] == "image/webp"


async def test_view_refusals_have_empty_bodies(fake, http) -> None:
    """/view answers 404, 400 and 403 with empty bodies and no content type, as recorded."""
    cases = [
        ("/view?filename=does_not_exist.png&subfolder=&type=output", 404),
        ("/view?filename=..%2Fsecret.png&type=output", 400),
        ("/view?filename=x.png&subfolder=..%2F..&type=output", 403),
        ("/view?filename=x.png&type=bogus", 400),
    ]
    for path, status in cases:
        answer = await http.get(path)
        assert (answer.status_code, answer.content) == (status, b"")
        assert "content-type" not in answer.headers


async def test_system_routes(fake, http) -> None:
    """system_stats names the demo engine; object_info, models, features and 404s as recorded."""
    stats = (await http.get("/system_stats")).json()
    assert set(stats["system"]) >= {
        "os",
        "ram_total",
        "ram_free",
        "comfyui_version",
        "python_version",
        "pytorch_version",
        "embedded_python",
        "argv",
    }
    device = stats["devices"][0]
    assert set(device) == {
        "name",
        "type",
        "index",
        "vram_total",
        "vram_free",
        "torch_vram_total",
        "torch_vram_free",
    }
    assert "DEMO" in device["name"]
    ksampler = (await http.get("/object_info/KSampler")).json()
    assert set(ksampler["KSampler"]) >= {"input", "input_order", "output", "output_node"}
    assert (await http.get("/api/object_info/NoSuchNode")).json() == {}
    await upload(http, "fresh.png", png(8, 8), overwrite="true")
    info = (await http.get("/object_info")).json()
    assert (
        info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
        == fake.state.config.models["checkpoints"]
    )
    assert info["LoadImage"]["input"]["required"]["image"][0] == ["fresh.png"]
    assert "controlnet" in (await http.get("/models")).json()
    assert (await http.get("/models/checkpoints")).json() == [
        "random_sd15.safetensors",
        "random_sdxl.safetensors",
    ]
    missing = await http.get("/models/no_such_folder")
    assert (missing.status_code, missing.content) == (404, b"")
    features = {"supports_preview_metadata": True, "max_upload_size": 104857600}
    assert (await http.get("/features")).json() == features
    assert (await http.get("/api/features")).json() == features
    assert (await http.get("/embeddings")).json() == []
    for path in ("/api/jobs", "/no_such_route"):
        unknown = await http.get(path)
        assert (unknown.status_code, unknown.content) == (404, b"")
        assert unknown.headers["content-type"] == "application/octet-stream"
    assert (await http.post("/free", json={"unload_models": True, "free_memory": True})).text == ""


async def test_history_listing_and_delete(fake, http) -> None:
    """GET /history?max_items gives the newest entries; POST /history deletes and clears."""
    sock, _ = await connect(fake)
    for index in range(3):
        await run(http, sock, txt2img(seed=index, prefix=f"h{index}"), f"h{index}")
    assert list((await http.get("/history", params={"max_items": 2})).json()) == ["h1", "h2"]
    assert list((await http.get("/history")).json()) == ["h0", "h1", "h2"]
    await http.post("/history", json={"delete": ["h1"]})
    assert (await http.get("/history/h1")).json() == {}
    await http.post("/history", json={"clear": True})
    assert (await http.get("/history")).json() == {}
    await sock.conn.close()


async def test_socket_handshakes(fake, http) -> None:
    """A socket without clientId gets a 32-hex sid; feature_flags is answered with /features."""
    sock, first = await connect(fake, "")
    sid = first["data"]["sid"]
    assert len(sid) == 32
    assert int(sid, 16) >= 0
    await sock.conn.close()
    sock, _ = await connect(fake, "flags")
    await sock.conn.send(
        json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
    )
    assert await sock.frame() == {
        "type": "feature_flags",
        "data": {"supports_preview_metadata": True, "max_upload_size": 104857600},
    }
    await sock.conn.close()


def img2img(image: str, prefix: str = "rec_sd15_img2img") -> dict:
    """The recorded img2img workflow."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "random_sd15.safetensors"},
        },
        "2": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "an oil painting of a lighthouse", "clip": ["1", 1]},
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "4": {"class_type": "LoadImage", "inputs": {"image": image}},
        "5": {"class_type": "VAEEncode", "inputs": {"pixels": ["4", 0], "vae": ["1", 2]}},
        "6": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": 1695729417,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["5", 0],
                "denoise": 0.6,
            },
        },
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": prefix}},
    }


def controlnet(image: str) -> dict:
    """The recorded ControlNet canny workflow, with a second SaveImage for the edges."""
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "random_sd15.safetensors"},
        },
        "2": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "a lighthouse on a cliff", "clip": ["1", 1]},
        },
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "4": {"class_type": "LoadImage", "inputs": {"image": image}},
        "5": {
            "class_type": "Canny",
            "inputs": {"image": ["4", 0], "low_threshold": 0.4, "high_threshold": 0.8},
        },
        "6": {
            "class_type": "ControlNetLoader",
            "inputs": {"control_net_name": "random_cn_sd15.safetensors"},
        },
        "7": {
            "class_type": "ControlNetApplyAdvanced",
            "inputs": {
                "positive": ["2", 0],
                "negative": ["3", 0],
                "control_net": ["6", 0],
                "image": ["5", 0],
                "strength": 1.0,
                "start_percent": 0.0,
                "end_percent": 1.0,
                "vae": ["1", 2],
            },
        },
        "8": {
            "class_type": "EmptyLatentImage",
            "inputs": {"width": 128, "height": 128, "batch_size": 1},
        },
        "9": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": 1614192064,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["7", 0],
                "negative": ["7", 1],
                "latent_image": ["8", 0],
                "denoise": 1.0,
            },
        },
        "10": {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}},
        "11": {
            "class_type": "SaveImage",
            "inputs": {"images": ["10", 0], "filename_prefix": "rec_sd15_controlnet_canny"},
        },
        "12": {
            "class_type": "SaveImage",
            "inputs": {"images": ["5", 0], "filename_prefix": "rec_sd15_canny_edges"},
        },
    }


async def view_image(http, record: dict) -> bytes:
    answer = await http.get("/view", params=record)
    assert answer.status_code == 200
    return answer.content


async def test_img2img_and_controlnet_run_in_the_recorded_order(fake, http) -> None:
    """The recorded graphs run in ComfyUI's order, reuse cached nodes, and size outputs right."""
    sock, _ = await connect(fake)
    name = (await upload(http, "peer_test_input.png", png(100, 76))).json()["name"]
    await run(http, sock, txt2img(), "warm")
    frames = await run(http, sock, img2img(name), "i2i")
    assert frames[3]["data"]["nodes"] == ["1"]
    executing = [f["data"]["node"] for f in frames if f["type"] == "executing"]
    assert executing == ["4", "5", "3", "2", "6", "7", "8", None]
    output = next(f for f in frames if f["type"] == "executed")["data"]["output"]["images"][0]
    assert size_of(await view_image(http, output)) == (96, 72)
    frames = await run(http, sock, controlnet(name), "cn")
    assert frames[3]["data"]["nodes"] == ["1", "3", "4"]
    executing = [f["data"]["node"] for f in frames if f["type"] == "executing"]
    assert executing == ["5", "12", "8", "6", "2", "7", "9", "10", "11", None]
    outputs = {
        f["data"]["node"]: f["data"]["output"]["images"][0]
        for f in frames
        if f["type"] == "executed"
    }
    assert size_of(await view_image(http, outputs["12"])) == (100, 76)
    assert size_of(await view_image(http, outputs["11"])) == (128, 128)
    await sock.conn.close()


async def test_upscale_output_is_four_times_the_input(fake, http) -> None:
    """UpscaleModelLoader + ImageUpscaleWithModel quadruples the loaded image's size."""
    sock, _ = await connect(fake)
    name = (await upload(http, "small.png", png(40, 30), overwrite="true")).json()["name"]
    prompt = {
        "1": {
            "class_type": "UpscaleModelLoader",
            "inputs": {"model_name": "RealESRGAN_x4plus.pth"},
        },
        "2": {"class_type": "LoadImage", "inputs": {"image": name}},
        "3": {
            "class_type": "ImageUpscaleWithModel",
            "inputs": {"upscale_model": ["1", 0], "image": ["2", 0]},
        },
        "4": {
            "class_type": "ImageScaleBy",
            "inputs": {"image": ["3", 0], "upscale_method": "lanczos", "scale_by": 0.5},
        },
        "5": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "up"}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "half"}},
    }
    frames = await run(http, sock, prompt, "up")
    outputs = {
        f["data"]["node"]: f["data"]["output"]["images"][0]
        for f in frames
        if f["type"] == "executed"
    }
    assert size_of(await view_image(http, outputs["5"])) == (160, 120)
    assert size_of(await view_image(http, outputs["6"])) == (80, 60)
    await sock.conn.close()


async def test_batch_writes_one_file_per_image_with_a_counter_per_prefix(fake, http) -> None:
    """batch_size 3 writes three numbered files; the next run with that prefix counts on."""
    sock, _ = await connect(fake)
    frames = await run(
        http, sock, txt2img(seed=1, prefix="job/batch", batch_size=3, width=72, height=48), "b1"
    )
    images = next(f for f in frames if f["type"] == "executed")["data"]["output"]["images"]
    assert [i["filename"] for i in images] == [
        "batch_00001_.png",
        "batch_00002_.png",
        "batch_00003_.png",
    ]
    assert {i["subfolder"] for i in images} == {"job"}
    contents = [await view_image(http, i) for i in images]
    assert {size_of(c) for c in contents} == {(72, 48)}
    assert len({hashlib.sha256(c).hexdigest() for c in contents}) == 3
    frames = await run(http, sock, txt2img(seed=2, prefix="job/batch"), "b2")
    images = next(f for f in frames if f["type"] == "executed")["data"]["output"]["images"]
    assert images[0]["filename"] == "batch_00004_.png"
    await sock.conn.close()


def test_demo_pictures_are_deterministic_per_seed() -> None:
    """The same seed gives the same picture, another seed a different one, with metadata."""
    first = render_png(64, 48, 7, {"prompt": {"a": 1}})
    assert first == render_png(64, 48, 7, {"prompt": {"a": 1}})
    assert first != render_png(64, 48, 8, {"prompt": {"a": 1}})
    image = Image.open(io.BytesIO(first))
    assert (image.mode, image.size, json.loads(image.info["prompt"])) == ("RGB", (64, 48), {"a": 1})


async def test_missing_model_is_refused_and_named(fake, http) -> None:
    """With its own model list the fake refuses an absent checkpoint as ComfyUI would."""
    fake.set_models({"checkpoints": ["only_this.safetensors"]})
    answer = await submit(http, txt2img(), "m")
    assert answer.status_code == 400
    body = answer.json()
    validation = PromptValidation(body["error"], body["node_errors"])
    assert model_missing(validation) == ["random_sd15.safetensors"]
    assert (await http.get("/models/checkpoints")).json() == ["only_this.safetensors"]


async def test_faults_over_http(fake, http) -> None:
    """/fake/faults sets down mode and errors; /fake/next_output replaces the next image."""
    listener, _ = await connect(fake, "listener")
    down = await http.post("/fake/faults", json={"down": True})
    assert down.json()["down"] is True
    with pytest.raises(websockets.ConnectionClosed):
        await listener.drain()
    with pytest.raises(websockets.InvalidStatus):
        await connect(fake, "refused")
    assert (await http.get("/system_stats")).status_code == 503
    assert (await submit(http, txt2img(), "x")).status_code == 503
    await http.post("/fake/faults", json={"reset": True})
    assert (await http.get("/system_stats")).status_code == 200
    bad = await http.post("/fake/faults", json={"error": "boom"})
    assert bad.status_code == 400
    await http.post("/fake/faults", json={"reset": True})
    given = png(33, 21, (250, 0, 250))
    assert (await http.post("/fake/next_output", content=given)).json() == {"queued": 1}
    sock, _ = await connect(fake)
    frames = await run(http, sock, txt2img(seed=77, prefix="given"), "given")
    record = next(f for f in frames if f["type"] == "executed")["data"]["output"]["images"][0]
    assert await view_image(http, record) == given
    await http.post("/fake/faults", json={"error": "oom", "error_count": 1})
    frames = await run(http, sock, txt2img(seed=78), "oom")
    assert "execution_error" in [f["type"] for f in frames]
    prompts = (await http.get("/fake/prompts")).json()
    assert [p["prompt_id"] for p in prompts] == ["given", "oom"]
    assert prompts[0]["body"]["client_id"] == CLIENT
    await sock.conn.close()


async def test_slow_job_fault(fake, http) -> None:
    """step_time and job_time make a run take at least their sum."""
    sock, _ = await connect(fake)
    fake.faults.step_time, fake.faults.job_time = 0.05, 0.2
    started = time.perf_counter()
    await run(http, sock, txt2img(seed=3), "slow")
    assert time.perf_counter() - started >= 0.3
    await sock.conn.close()


async def test_job_time_includes_rendering(fake, http) -> None:
    """job_time is the prompt's whole slot time: two 2048² renders fit inside it, not after it."""
    started = time.perf_counter()
    render_png(2048, 2048, 1, {"prompt": {}})
    one_render = time.perf_counter() - started  # this machine's cost of one such picture
    sock, _ = await connect(fake)
    fake.faults.job_time = 0.6
    started = time.perf_counter()
    frames = await run(http, sock, txt2img(seed=5, width=2048, height=2048, batch_size=2), "j")
    elapsed = time.perf_counter() - started
    assert frames[-1]["type"] == "executing"
    assert [f["type"] for f in frames].count("executed") == 1
    # Sleeping the whole job_time after rendering would take 0.6 s plus two renders.
    assert 0.6 <= elapsed < 0.6 + one_render
    await sock.conn.close()


async def test_stopped_server_refuses_connections(fake, http) -> None:
    """After stop() the port is closed: clients get a connection error, not a hang."""
    await fake.stop()
    with pytest.raises(httpx.ConnectError):
        await http.get("/system_stats")


async def test_command_line_serves_the_demo_engine(tmp_path: Path) -> None:
    """`python -m gpu_server.fake_comfyui` logs that it is a demo engine and uses --models."""
    models = tmp_path / "models.json"
    models.write_text(json.dumps({"checkpoints": ["cli.safetensors"]}))
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "gpu_server.fake_comfyui",
        "--port",
        str(port),
        "--models",
        str(models),
        "--output-dir",
        str(tmp_path / "o"),
    ]
    log = tmp_path / "log.txt"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    answer = await client.get("/models/checkpoints")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            assert answer.json() == ["cli.safetensors"]
        assert "DEMO ENGINE" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_preview_image_goes_to_temp_and_models_can_change(fake, http) -> None:
    """PreviewImage writes a temp file served by /view; /fake/models swaps the installed lists."""
    sock, _ = await connect(fake)
    prompt = txt2img(seed=11)
    prompt["7"] = {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}}
    frames = await run(http, sock, prompt, "preview")
    record = next(f for f in frames if f["type"] == "executed")["data"]["output"]["images"][0]
    assert record["type"] == "temp"
    assert record["filename"].startswith("ComfyUI_temp_")
    assert size_of(await view_image(http, record)) == (64, 64)
    changed = await http.post(
        "/fake/models", json={"checkpoints": ["new.safetensors"], "loras": ["x.safetensors"]}
    )
    assert changed.status_code == 200
    assert (await http.get("/models/loras")).json() == ["x.safetensors"]
    assert (await submit(http, txt2img(), "old-model")).status_code == 400
    await sock.conn.close()


async def test_queue_number_can_be_given_or_put_in_front(fake, http) -> None:
    """A given number is used as is; `front` queues ahead of the waiting prompts."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.05
    await submit(http, txt2img(seed=21), "running")
    await submit(http, txt2img(seed=22), "later")
    front = await http.post(
        "/prompt",
        json={
            "prompt": txt2img(seed=23),
            "prompt_id": "urgent",
            "client_id": CLIENT,
            "front": True,
        },
    )
    assert front.json()["number"] == -2
    pending = (await http.get("/queue")).json()["queue_pending"]
    assert [item[1] for item in pending] == ["urgent", "later"]
    await sock.until_done("running")
    started = [
        f["data"]["prompt_id"]
        for f in await sock.until_done("urgent")
        if f["type"] == "execution_start"
    ]
    assert started == ["urgent"]
    await sock.until_done("later")
    await sock.conn.close()


async def raw_until_done(conn, prompt_id: str) -> list[object]:
    """Frames as parsed JSON, or (event type, payload) for binary frames."""
    out: list[object] = []
    while True:
        message = await asyncio.wait_for(conn.recv(), 5)
        if isinstance(message, bytes):
            out.append((int.from_bytes(message[:4], "big"), message[4:]))
            continue
        frame = json.loads(message)
        out.append(frame)
        if (
            frame["type"] == "executing"
            and frame["data"].get("node") is None
            and frame["data"]["prompt_id"] == prompt_id
        ):
            return out


async def test_binary_previews_follow_the_client_feature_flags(tmp_path: Path) -> None:
    """Previews on: legacy clients get type 1 after progress, metadata clients type 4 before."""
    server = FakeComfyUI(
        FakeConfig(models=RECORDED_MODELS, output_dir=tmp_path / "o", previews=True)
    )
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            legacy, _ = await connect(server, "legacy")
            await submit(client, txt2img(seed=31), "p1", "legacy")
            frames = await raw_until_done(legacy.conn, "p1")
            kinds = [f[0] if isinstance(f, tuple) else f["type"] for f in frames]
            first = kinds.index("progress")
            assert kinds[first - 1 : first + 2] == ["progress_state", "progress", 1]
            payload = next(f[1] for f in frames if isinstance(f, tuple))
            assert payload[:4] == (1).to_bytes(4, "big")
            assert Image.open(io.BytesIO(payload[4:])).format == "JPEG"
            await legacy.conn.close()
            meta, _ = await connect(server, "meta")
            await meta.conn.send(
                json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
            )
            await meta.frame()
            await submit(client, txt2img(seed=32), "p2", "meta")
            frames = await raw_until_done(meta.conn, "p2")
            kinds = [f[0] if isinstance(f, tuple) else f["type"] for f in frames]
            first = kinds.index("progress")
            assert kinds[first - 2 : first + 1] == ["progress_state", 4, "progress"]
            payload = frames[first - 1][1]
            length = int.from_bytes(payload[:4], "big")
            assert json.loads(payload[4 : 4 + length]) == {
                "node_id": "5", "prompt_id": "p2", "display_node_id": "5",
                "parent_node_id": None, "real_node_id": "5", "image_type": "image/jpeg",
            }  # fmt: skip
            await meta.conn.close()
    finally:
        await server.stop()


def test_demo_models_cover_every_style_profile() -> None:
    """The default model lists name every file the style profiles and the upscaler use."""
    doc = yaml.safe_load((REPO / "config" / "styles.yaml").read_text())
    models = demo_models()
    for style in doc["styles"].values():
        assert style["checkpoint"] in models["checkpoints"]
        assert style["vae"] in models["vae"]
        assert set(style.get("loras_offered") or []) <= set(models["loras"])
        assert set((style.get("controlnet") or {}).values()) <= set(models["controlnet"])
    assert doc["upscale"]["model"] in models["upscale_models"]


async def test_other_client_sees_only_broadcasts_and_queue_shows_the_running_prompt(
    fake, http
) -> None:
    """A second client gets status frames only; /queue lists the running prompt in full."""
    owner, _ = await connect(fake)
    other, _ = await connect(fake, "someone-else")
    fake.faults.step_time = 0.05
    await submit(http, txt2img(seed=41), "mine")
    await owner.until("progress")
    running = (await http.get("/queue")).json()["queue_running"]
    assert running == [[0, "mine", txt2img(seed=41), {"client_id": CLIENT}, ["7"]]]
    await owner.until_done("mine")
    seen = []
    while True:
        try:
            seen.append(await other.frame(timeout=0.3))
        except TimeoutError:
            break
    assert {frame["type"] for frame in seen} == {"status"}
    await owner.conn.close()
    await other.conn.close()
