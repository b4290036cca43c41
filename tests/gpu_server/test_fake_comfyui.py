"""The fake ComfyUI speaks the protocol recorded from a real ComfyUI 0.3.64, over real loopback.

Expected frame sequences below are the recorded ones (transcripts txt2img_success,
cached_rerun, execution_error, interrupt, queue_two, reconnect, img2img_and_controlnet), summed
up as (type, key) pairs: status -> queue_remaining, execution_cached -> number of nodes,
executing/executed/progress -> node id.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from PIL import Image

from gpu_server.fake_comfyui import FakeComfyUI, FakeConfig

RECORDED_MODELS = {
    "checkpoints": ["random_sd15.safetensors", "random_sdxl.safetensors"],
    "controlnet": ["random_cn_sd15.safetensors"],
    "loras": ["broken.safetensors"],
    "upscale_models": ["RealESRGAN_x4plus.pth"],
}
CLIENT = "b0f77c6c-667f-4d11-bd55-97e1789af9a0"

TXT2IMG_FRAMES = [
    ("status", 1), ("status", 1), "execution_start", ("execution_cached", 0),
    "progress_state", ("executing", "1"), "progress_state",
    "progress_state", ("executing", "4"), "progress_state",
    "progress_state", ("executing", "3"), "progress_state",
    "progress_state", ("executing", "2"), "progress_state",
    "progress_state", ("executing", "5"), "progress_state", ("progress", "5"),
    "progress_state", ("progress", "5"), "progress_state",
    "progress_state", ("executing", "6"), "progress_state",
    "progress_state", ("executing", "7"), ("executed", "7"), "progress_state",
    "execution_success", ("status", 0), ("executing", None),
]  # fmt: skip
CACHED_FRAMES = [
    ("status", 1), ("status", 1), "execution_start", ("execution_cached", 7),
    ("executed", "7"), "progress_state", "execution_success", ("status", 0), ("executing", None),
]  # fmt: skip
SEED_CHANGED_FRAMES = [
    ("status", 1), ("status", 1), "execution_start", ("execution_cached", 4),
    "progress_state", ("executing", "5"), "progress_state", ("progress", "5"),
    "progress_state", ("progress", "5"), "progress_state",
    "progress_state", ("executing", "6"), "progress_state",
    "progress_state", ("executing", "7"), ("executed", "7"), "progress_state",
    "execution_success", ("status", 0), ("executing", None),
]  # fmt: skip
ERROR_FRAMES = [
    ("status", 1), ("status", 1), "execution_start", ("execution_cached", 2),
    "progress_state", ("executing", "8"), "execution_error", ("status", 0), ("executing", None),
]  # fmt: skip


def txt2img(seed: int = 413969573, prefix: str = "rec_txt2img_success", **latent: int) -> dict:
    """The recorded SD1.5 txt2img workflow."""
    size = {"width": 64, "height": 64, "batch_size": 1, **latent}
    return {
        "1": {
            "class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "random_sd15.safetensors"},
        },
        "2": {
            "class_type": "CLIPTextEncode",
            "inputs": {
                "text": "a photo of a red fox in the snow, highly detailed",
                "clip": ["1", 1],
            },
        },
        "3": {
            "class_type": "CLIPTextEncode",
            "inputs": {"text": "blurry, low quality", "clip": ["1", 1]},
        },
        "4": {"class_type": "EmptyLatentImage", "inputs": size},
        "5": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": seed,
                "steps": 2,
                "cfg": 7.0,
                "sampler_name": "euler",
                "scheduler": "normal",
                "positive": ["2", 0],
                "negative": ["3", 0],
                "latent_image": ["4", 0],
                "denoise": 1.0,
            },
        },
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": prefix}},
    }


def with_steps(prompt: dict, steps: int) -> dict:
    out = copy.deepcopy(prompt)
    out["5"]["inputs"]["steps"] = steps
    return out


def summary(frames: list[dict[str, Any]]) -> list[Any]:
    """Frames as (type, key) pairs, the form the expected sequences use."""
    out: list[Any] = []
    for frame in frames:
        kind, data = frame["type"], frame["data"]
        if kind == "status":
            out.append((kind, data["status"]["exec_info"]["queue_remaining"]))
        elif kind == "execution_cached":
            out.append((kind, len(data["nodes"])))
        elif kind in ("executing", "executed", "progress"):
            out.append((kind, data["node"]))
        else:
            out.append(kind)
    return out


class Socket:
    """A websocket client that keeps what it received."""

    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn

    async def frame(self, timeout: float = 5.0) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def until_done(self, prompt_id: str) -> list[dict[str, Any]]:
        """Frames up to and including executing null for this prompt."""
        frames = []
        while True:
            frame = await self.frame()
            frames.append(frame)
            data = frame["data"]
            if (
                frame["type"] == "executing"
                and data.get("node") is None
                and data.get("prompt_id") == prompt_id
            ):
                return frames

    async def drain(self) -> None:
        """Read until the server closes the socket."""
        while True:
            await self.frame()

    async def until(self, kind: str) -> list[dict[str, Any]]:
        frames = []
        while not frames or frames[-1]["type"] != kind:
            frames.append(await self.frame())
        return frames


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeComfyUI]:
    server = FakeComfyUI(
        FakeConfig(
            models=RECORDED_MODELS,
            output_dir=tmp_path / "out",
            input_dir=tmp_path / "in",
            temp_dir=tmp_path / "tmp",
        )
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(fake: FakeComfyUI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, timeout=5.0) as client:
        yield client


async def connect(fake: FakeComfyUI, client_id: str = CLIENT) -> tuple[Socket, dict[str, Any]]:
    """Open /ws?clientId= and return the socket with its first frame."""
    conn = await websockets.connect(fake.url.replace("http", "ws") + f"/ws?clientId={client_id}")
    sock = Socket(conn)
    return sock, await sock.frame()


async def submit(
    http: httpx.AsyncClient, prompt: dict, prompt_id: str, client_id: str | None = CLIENT
) -> httpx.Response:
    body: dict[str, Any] = {"prompt": prompt, "prompt_id": prompt_id}
    if client_id is not None:
        body["client_id"] = client_id
    return await http.post("/prompt", json=body)


async def run(
    http: httpx.AsyncClient, sock: Socket, prompt: dict, prompt_id: str, client_id: str = CLIENT
) -> list[dict[str, Any]]:
    answer = await submit(http, prompt, prompt_id, client_id)
    assert answer.status_code == 200, answer.text
    return await sock.until_done(prompt_id)


async def test_txt2img_stream_history_and_view_match_recording(fake, http) -> None:
    """A cold run sends the recorded frames, then history and /view serve the PNG output."""
    sock, first = await connect(fake)
    assert first == {
        "type": "status",
        "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": CLIENT},
    }
    answer = await submit(http, txt2img(), "p1")
    assert answer.json() == {"prompt_id": "p1", "number": 0, "node_errors": {}}
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    frames = await sock.until_done("p1")
    assert summary(frames) == TXT2IMG_FRAMES
    executed = next(f["data"] for f in frames if f["type"] == "executed")
    assert executed["output"] == {
        "images": [
            {"filename": "rec_txt2img_success_00001_.png", "subfolder": "", "type": "output"}
        ]
    }
    last_state = [f for f in frames if f["type"] == "progress_state"][-1]["data"]["nodes"]
    assert list(last_state) == ["1", "4", "3", "2", "5", "6", "7"]
    assert last_state["5"]["value"] == 2
    assert last_state["7"] == {
        "value": 1.0,
        "max": 1.0,
        "state": "finished",
        "node_id": "7",
        "prompt_id": "p1",
        "display_node_id": "7",
        "parent_node_id": None,
        "real_node_id": "7",
    }
    history = (await http.get("/history/p1")).json()["p1"]
    assert history["prompt"] == [0, "p1", txt2img(), {"client_id": CLIENT}, ["7"]]
    assert history["outputs"] == {"7": executed["output"]}
    assert history["status"]["status_str"] == "success"
    assert history["status"]["completed"] is True
    assert [m[0] for m in history["status"]["messages"]] == [
        "execution_start",
        "execution_cached",
        "execution_success",
    ]
    assert history["meta"] == {
        "7": {"node_id": "7", "display_node": "7", "parent_node": None, "real_node_id": "7"}
    }
    assert (await http.get("/api/history/p1")).json() == {"p1": history}
    assert (await http.get("/history/unknown")).json() == {}
    assert (await http.get("/queue")).json() == {"queue_running": [], "queue_pending": []}
    view = await http.get(
        "/view",
        params={"filename": "rec_txt2img_success_00001_.png", "subfolder": "", "type": "output"},
    )
    assert view.headers["content-type"] == "image/png"
    assert view.headers["content-disposition"] == 'filename="rec_txt2img_success_00001_.png"'
    image = Image.open(io.BytesIO(view.content))
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", (64, 64))
    assert json.loads(image.info["prompt"]) == txt2img()
    await sock.conn.close()


async def test_identical_resubmission_is_cached(fake, http) -> None:
    """The same prompt again: everything cached, one executed with the old file, no new file."""
    sock, _ = await connect(fake)
    await run(http, sock, txt2img(), "a")
    files = sorted(p.name for p in fake.output_dir.iterdir())
    frames = await run(http, sock, txt2img(), "rec-job-8c5ef2b6")
    assert summary(frames) == CACHED_FRAMES
    assert frames[3]["data"]["nodes"] == ["1", "2", "3", "4", "5", "6", "7"]
    assert frames[4]["data"]["output"]["images"][0]["filename"] == "rec_txt2img_success_00001_.png"
    assert frames[5]["data"]["nodes"]["7"]["value"] == 1
    assert sorted(p.name for p in fake.output_dir.iterdir()) == files
    history = (await http.get("/history/rec-job-8c5ef2b6")).json()["rec-job-8c5ef2b6"]
    assert history["outputs"]["7"]["images"][0]["filename"] == "rec_txt2img_success_00001_.png"
    await sock.conn.close()


async def test_changes_invalidate_only_downstream_nodes(fake, http) -> None:
    """A new prefix re-runs only SaveImage; a new seed re-runs the sampler and below."""
    sock, _ = await connect(fake)
    await run(http, sock, txt2img(), "a")
    frames = await run(http, sock, txt2img(prefix="rec_cached_prefix"), "b")
    assert frames[3]["data"]["nodes"] == ["1", "2", "3", "4", "5", "6"]
    assert [f["data"]["node"] for f in frames if f["type"] == "executing"] == ["7", None]
    assert frames[-5]["data"]["output"]["images"][0]["filename"] == "rec_cached_prefix_00001_.png"
    frames = await run(http, sock, txt2img(seed=7, prefix="rec_cached_seed"), "c")
    assert summary(frames) == SEED_CHANGED_FRAMES
    await sock.conn.close()


async def test_prompt_without_client_id_sends_only_broadcasts(fake, http) -> None:
    """Without client_id the socket sees status frames and the broadcast progress_state only."""
    other = "286d2d25-f96c-4a9b-bce7-a710a230306f"
    sock, _ = await connect(fake, other)
    await run(http, sock, txt2img(), "a", other)
    answer = await submit(http, txt2img(), "b", client_id=None)
    assert answer.status_code == 200
    frames = [await sock.frame() for _ in range(4)]
    assert summary(frames) == [("status", 1), ("status", 1), "progress_state", ("status", 0)]
    await asyncio.sleep(0.05)
    assert (await http.get("/history/b")).json()["b"]["status"]["status_str"] == "success"
    await sock.conn.close()


async def test_prompt_id_is_generated_and_numbers_count_rejected_prompts(fake, http) -> None:
    """Rejected prompts use numbers up; a missing prompt_id gets a fresh UUID."""
    bad = txt2img()
    bad["5"]["inputs"]["steps"] = 0
    assert (await http.post("/prompt", json={"prompt": bad})).status_code == 400
    assert (await http.post("/prompt", json={"client_id": "x"})).json()["error"][
        "type"
    ] == "no_prompt"
    answer = (await http.post("/prompt", json={"prompt": txt2img()})).json()
    assert answer["number"] == 2
    assert len(answer["prompt_id"]) == 36
    assert [p["accepted"] for p in fake.submitted] == [False, False, True]


async def test_validation_answers_over_http(fake, http) -> None:
    """400 with error + node_errors, malformed JSON is ComfyUI's plain-text 500."""
    bad = txt2img()
    bad["1"]["inputs"]["ckpt_name"] = "does_not_exist.safetensors"
    answer = await submit(http, bad, "v1")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["node_errors"]["1"]["errors"][0]["details"] == (
        "ckpt_name: 'does_not_exist.safetensors' not in "
        "['random_sd15.safetensors', 'random_sdxl.safetensors']"
    )
    crash = await http.post(
        "/prompt", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert crash.status_code == 500
    assert crash.headers["content-type"] == "text/plain; charset=utf-8"
    assert crash.text == "500 Internal Server Error\n\nServer got itself in trouble"


async def test_only_the_valid_output_runs(fake, http) -> None:
    """One of two outputs invalid: 200 with node_errors and only the valid output executes."""
    sock, _ = await connect(fake)
    prompt = txt2img()
    prompt["8"] = {
        "class_type": "SaveImage",
        "inputs": {"images": ["1", 2], "filename_prefix": "bad"},
    }
    answer = await submit(http, prompt, "two")
    assert answer.status_code == 200
    assert answer.json()["node_errors"]["8"]["dependent_outputs"] == ["8"]
    frames = await sock.until_done("two")
    assert [f["data"]["node"] for f in frames if f["type"] == "executed"] == ["7"]
    assert (await http.get("/history/two")).json()["two"]["prompt"][4] == ["7"]
    await sock.conn.close()


def lora_workflow() -> dict:
    """The recorded execution_error workflow: a LoraLoader between checkpoint and sampler."""
    prompt = txt2img(seed=584707022, prefix="rec_execution_error")
    for node_id in ("2", "3"):
        prompt[node_id]["inputs"]["clip"] = ["8", 1]
    prompt["5"]["inputs"]["model"] = ["8", 0]
    prompt["8"] = {
        "class_type": "LoraLoader",
        "inputs": {
            "model": ["1", 0],
            "clip": ["1", 1],
            "lora_name": "broken.safetensors",
            "strength_model": 1.0,
            "strength_clip": 1.0,
        },
    }
    return prompt


async def test_execution_error_fault_matches_recording(fake, http) -> None:
    """An injected error at the LoraLoader sends the recorded frames and an error history."""
    sock, _ = await connect(fake)
    plain = txt2img()
    plain["2"]["inputs"]["text"] = "warm up the cache for the loader and latent"
    await run(http, sock, plain, "warm")
    fake.faults.error, fake.faults.error_node_class = "generic", "LoraLoader"
    frames = await run(http, sock, lora_workflow(), "err")
    assert summary(frames) == ERROR_FRAMES
    error = frames[6]["data"]
    assert set(error) == {
        "prompt_id",
        "node_id",
        "node_type",
        "executed",
        "exception_message",
        "exception_type",
        "traceback",
        "current_inputs",
        "current_outputs",
        "timestamp",
    }
    assert (error["node_id"], error["node_type"], error["executed"]) == ("8", "LoraLoader", [])
    assert error["exception_message"].endswith("\n")
    history = (await http.get("/history/err")).json()["err"]
    assert history["status"]["status_str"] == "error"
    assert history["status"]["completed"] is False
    assert [m[0] for m in history["status"]["messages"]] == [
        "execution_start",
        "execution_cached",
        "execution_error",
    ]
    assert (history["outputs"], history["meta"]) == ({}, {})
    frames = await run(http, sock, txt2img(seed=5), "after")
    assert frames[-3]["type"] == "execution_success"
    await sock.conn.close()


async def test_oom_fault_reads_like_a_cuda_oom(fake, http) -> None:
    """The OOM fault fails the sampler with torch.OutOfMemoryError and ComfyUI's TIPS text."""
    sock, _ = await connect(fake)
    fake.faults.error = "oom"
    frames = await run(http, sock, txt2img(), "oom")
    error = next(f["data"] for f in frames if f["type"] == "execution_error")
    assert error["node_type"] == "KSampler"
    assert error["exception_type"] == "torch.OutOfMemoryError"
    assert "Allocation on device" in error["exception_message"]
    assert "TIPS:" in error["exception_message"]
    assert error["executed"] == ["1", "2", "3", "4"]
    await sock.conn.close()


async def test_interrupt_with_prompt_id(fake, http) -> None:
    """An interrupt for another prompt is ignored; for the running one it stops the sampler."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.05
    await submit(http, with_steps(txt2img(), 4), "run")
    await sock.until("progress")
    await http.post("/interrupt", json={"prompt_id": "not-running"})
    assert (await sock.until("progress"))[-1]["data"]["value"] == 2
    assert (await http.post("/interrupt", json={"prompt_id": "run"})).text == ""
    frames = await sock.until_done("run")
    assert summary(frames)[-3:] == ["execution_interrupted", ("status", 0), ("executing", None)]
    stop = frames[-3]["data"]
    assert set(stop) == {"prompt_id", "node_id", "node_type", "executed", "timestamp"}
    assert (stop["node_id"], stop["node_type"], stop["executed"]) == (
        "5",
        "KSampler",
        ["1", "2", "3", "4"],
    )
    history = (await http.get("/history/run")).json()["run"]
    assert (
        history["status"]["status_str"],
        history["status"]["completed"],
        history["outputs"],
    ) == ("error", False, {})
    assert history["status"]["messages"][-1][0] == "execution_interrupted"
    await sock.conn.close()


async def test_interrupt_without_body(fake, http) -> None:
    """POST /interrupt with no body stops whatever runs, at the next step."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.05
    await submit(http, with_steps(txt2img(), 4), "run")
    await sock.until("progress")
    assert (await http.post("/interrupt")).status_code == 200
    frames = await sock.until_done("run")
    assert [f["type"] for f in frames][-3] == "execution_interrupted"
    assert sum(f["type"] == "progress" for f in frames) <= 1
    await sock.conn.close()


async def test_two_prompts_run_one_after_the_other(fake, http) -> None:
    """The second prompt waits in the queue and starts only after the first ends."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.02
    await submit(http, txt2img(prefix="rec_queue_a"), "A")
    await submit(http, txt2img(seed=9, prefix="rec_queue_b"), "B")
    queue = (await http.get("/queue")).json()
    assert [item[1] for item in queue["queue_pending"]] == ["B"]
    assert (await http.get("/prompt")).json() == {"exec_info": {"queue_remaining": 2}}
    frames = await sock.until_done("A") + await sock.until_done("B")
    between = summary(frames)
    index = between.index("execution_success")
    assert between[index : index + 5] == [
        "execution_success",
        ("status", 1),
        ("executing", None),
        ("status", 1),
        "execution_start",
    ]
    assert frames[index + 4]["data"]["prompt_id"] == "B"
    assert (await http.get("/history/B")).json()["B"]["prompt"][0] == 1
    await sock.conn.close()


async def test_queue_delete_and_clear(fake, http) -> None:
    """Deleting a pending prompt sends two status frames, a repeat none; clear empties pending."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.1
    await submit(http, with_steps(txt2img(), 6), "first")
    await submit(http, txt2img(seed=2), "second")
    await sock.until("execution_start")
    while (await sock.frame())["data"].get("status", {}).get("exec_info", {}).get(
        "queue_remaining"
    ) != 2:
        pass
    await http.post("/queue", json={"delete": ["second"]})
    assert summary([await sock.frame(), await sock.frame()]) == [("status", 1), ("status", 1)]
    await http.post("/queue", json={"delete": ["second"]})
    await submit(http, txt2img(seed=3), "third")
    assert summary([await sock.frame()]) == [("status", 2)]
    await http.post("/queue", json={"clear": True})
    assert summary([await sock.frame()]) == [("status", 1)]
    frames = await sock.until_done("first")
    assert {f["data"].get("prompt_id") for f in frames if f["type"] != "status"} == {"first"}
    assert (await http.get("/history/second")).json() == {}
    assert (await http.get("/history/third")).json() == {}
    await sock.conn.close()


async def test_reconnect_same_client_gets_the_running_node(fake, http) -> None:
    """Reconnecting mid-run: status with sid, executing {node} without prompt_id, then the rest."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.1
    await submit(http, with_steps(txt2img(), 4), "r")
    await sock.until("progress")
    await sock.conn.close()
    await asyncio.sleep(0.15)
    again, first = await connect(fake)
    assert first["data"]["sid"] == CLIENT
    assert first["data"]["status"] == {"exec_info": {"queue_remaining": 1}}
    assert await again.frame() == {"type": "executing", "data": {"node": "5"}}
    rest = await again.until_done("r")
    assert rest[-3]["type"] == "execution_success"
    progress = [f["data"]["value"] for f in rest if f["type"] == "progress"]
    assert progress
    assert 1 not in progress
    late, first = await connect(fake)
    assert first["data"]["status"] == {"exec_info": {"queue_remaining": 0}}
    with pytest.raises(asyncio.TimeoutError):
        await late.frame(timeout=0.2)
    await again.conn.close()
    await late.conn.close()


async def test_socket_drop_fault_mid_job_still_completes(fake, http) -> None:
    """The drop fault closes every socket after step k; the job finishes and history has it."""
    sock, _ = await connect(fake)
    fake.faults.step_time = 0.02
    fake.faults.drop_ws_after_step = 1
    await submit(http, with_steps(txt2img(), 3), "drop")
    with pytest.raises(websockets.ConnectionClosed):
        await sock.drain()
    for _ in range(50):
        entry = (await http.get("/history/drop")).json()
        if entry:
            break
        await asyncio.sleep(0.05)
    assert entry["drop"]["status"]["status_str"] == "success"
