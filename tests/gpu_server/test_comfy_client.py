"""ComfyClient against the fake ComfyUI over loopback: follow, recover, cancel, map errors."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest

from gpu_server.comfy_answers import image_refs
from gpu_server.comfy_client import ComfyClient
from gpu_server.errors import (
    ComfyExecutionError,
    ComfyUnavailable,
    ComfyValidationError,
    JobCancelled,
    JobTimeout,
    ModelMissing,
    OutOfMemory,
)
from tests.support.procs import free_port


def sd15_prompt(steps: int = 4, seed: int = 1, prefix: str | None = None) -> dict:
    """A minimal valid SD1.5 txt2img graph for the fake's demo models."""
    sampler = {
        "model": ["1", 0],
        "seed": seed,
        "steps": steps,
        "cfg": 7.0,
        "sampler_name": "euler",
        "scheduler": "normal",
        "positive": ["2", 0],
        "negative": ["3", 0],
        "latent_image": ["4", 0],
        "denoise": 1.0,
    }
    nodes = [
        ("CheckpointLoaderSimple", {"ckpt_name": "Counterfeit-V3.0_fp16.safetensors"}),
        ("CLIPTextEncode", {"text": "a fox", "clip": ["1", 1]}),
        ("CLIPTextEncode", {"text": "blurry", "clip": ["1", 1]}),
        ("EmptyLatentImage", {"width": 64, "height": 64, "batch_size": 1}),
        ("KSampler", sampler),
        ("VAEDecode", {"samples": ["5", 0], "vae": ["1", 2]}),
        ("SaveImage", {"images": ["6", 0], "filename_prefix": prefix or uuid.uuid4().hex}),
    ]
    return {str(i): {"class_type": c, "inputs": inputs} for i, (c, inputs) in enumerate(nodes, 1)}


@pytest.fixture
async def recorded(fake):
    """A ComfyClient whose http client records every request it sends."""
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async with httpx.AsyncClient(event_hooks={"request": [record]}, timeout=5.0) as http:
        client = ComfyClient(http, fake.url, poll_interval=0.3)
        client.start()
        await client.events.connected.wait()
        yield client, sent
        await client.close()


async def test_success_reports_progress_and_lists_outputs(comfy, fake):
    """A prompt runs to the end: steps arrive in order and history lists the saved PNG."""
    fake.faults.step_time = 0.01
    steps: list[tuple[int, int]] = []

    async def on_progress(step: int, total: int) -> bool:
        steps.append((step, total))
        return False

    prompt_id = await comfy.submit(sd15_prompt(steps=5))
    entry = await comfy.wait(prompt_id, deadline_s=10, on_progress=on_progress)
    assert steps == [(i, 5) for i in range(1, 6)]
    refs = image_refs(entry, {"7"})
    assert len(refs) == 1
    assert (await comfy.view(refs[0])).startswith(b"\x89PNG")


async def test_socket_drop_mid_job_still_completes(comfy, fake):
    """The socket is dropped after step 2; the job still finishes (history poll, reconnect)."""
    fake.faults.step_time = 0.05
    fake.faults.drop_ws_after_step = 2
    reconnects = comfy.events.reconnects
    prompt_id = await comfy.submit(sd15_prompt(steps=8))
    entry = await comfy.wait(prompt_id, deadline_s=10)
    assert entry["status"]["status_str"] == "success"
    assert comfy.events.reconnects > reconnects


async def test_socket_never_back_still_completes(fake, http):
    """With the websocket refused outright, history polling alone finishes the job."""
    client = ComfyClient(http, fake.url, poll_interval=0.2)
    client.events._url = f"ws://127.0.0.1:{free_port()}/ws"  # nothing listens there
    client.start()
    try:
        prompt_id = await client.submit(sd15_prompt())
        entry = await client.wait(prompt_id, deadline_s=10)
        assert entry["status"]["completed"] is True
    finally:
        await client.close()


async def test_timeout_interrupts_only_that_prompt(recorded, fake):
    """A job past its deadline raises JobTimeout and interrupts its own prompt id only."""
    client, sent = recorded
    fake.faults.step_time = 0.1
    slow = await client.submit(sd15_prompt(steps=50))
    other = await client.submit(sd15_prompt(steps=2, seed=2))
    with pytest.raises(JobTimeout):
        await client.wait(slow, deadline_s=0.5)
    interrupts = [json.loads(r.content) for r in sent if r.url.path == "/interrupt"]
    assert interrupts == [{"prompt_id": slow}]
    entry = await client.wait(other, deadline_s=10)
    assert entry["status"]["status_str"] == "success"
    history = await client.history(slow)
    assert history is not None
    assert history["status"]["status_str"] == "error"


async def test_cancel_pending_deletes_it_from_the_queue(recorded, fake):
    """Cancelling a queued prompt removes it with /queue delete; the running one goes on."""
    client, sent = recorded
    fake.faults.step_time = 0.05
    running = await client.submit(sd15_prompt(steps=10))
    pending = await client.submit(sd15_prompt(steps=2, seed=3))
    await asyncio.sleep(0.1)
    assert await client.cancel(pending) == "deleted"
    with pytest.raises(JobCancelled):
        await client.wait(pending, deadline_s=5)
    deletes = [json.loads(r.content) for r in sent if r.url.path == "/queue" and r.method == "POST"]
    assert deletes == [{"delete": [pending]}]
    assert not [r for r in sent if r.url.path == "/interrupt"]
    assert (await client.wait(running, deadline_s=10))["status"]["status_str"] == "success"
    assert await client.history(pending) is None


async def test_progress_callback_cancel_interrupts(recorded, fake):
    """on_progress returning True interrupts the running prompt and raises JobCancelled."""
    client, sent = recorded
    fake.faults.step_time = 0.05

    async def stop_at_three(step: int, total: int) -> bool:
        return step >= 3

    prompt_id = await client.submit(sd15_prompt(steps=40))
    with pytest.raises(JobCancelled):
        await client.wait(prompt_id, deadline_s=10, on_progress=stop_at_three)
    assert [json.loads(r.content) for r in sent if r.url.path == "/interrupt"] == [
        {"prompt_id": prompt_id}
    ]


async def test_validation_error_names_node_and_input(comfy):
    """A 400 answer becomes ComfyValidationError naming the node, its class and the input."""
    prompt = sd15_prompt()
    prompt["5"]["inputs"]["steps"] = 0
    with pytest.raises(ComfyValidationError) as caught:
        await comfy.submit(prompt)
    assert "node 5 (KSampler) input steps" in caught.value.message
    assert caught.value.error_code == "comfy_validation"
    assert not caught.value.retryable


async def test_missing_model_is_model_missing(comfy, fake):
    """A checkpoint ComfyUI does not have maps to ModelMissing naming the file, retryable."""
    fake.set_models({"checkpoints": ["other.safetensors"]})
    with pytest.raises(ModelMissing) as caught:
        await comfy.submit(sd15_prompt())
    assert "Counterfeit-V3.0_fp16.safetensors" in caught.value.message
    assert caught.value.error_code == "model_missing"
    assert caught.value.retryable


async def test_out_of_memory_maps_to_oom(comfy, fake):
    """A CUDA out-of-memory execution error is OutOfMemory with error_code out_of_memory."""
    fake.faults.error = "oom"
    prompt_id = await comfy.submit(sd15_prompt())
    with pytest.raises(OutOfMemory) as caught:
        await comfy.wait(prompt_id, deadline_s=10)
    assert caught.value.error_code == "out_of_memory"
    assert "KSampler" in caught.value.message


async def test_generic_execution_error(comfy, fake):
    """Any other node failure is ComfyExecutionError (not OOM), naming the node."""
    fake.faults.error = "generic"
    prompt_id = await comfy.submit(sd15_prompt())
    with pytest.raises(ComfyExecutionError) as caught:
        await comfy.wait(prompt_id, deadline_s=10)
    assert not isinstance(caught.value, OutOfMemory)
    assert caught.value.error_code == "comfy_execution"


async def test_unreachable_comfyui_is_reported_quickly(http):
    """Nothing listening: submit raises ComfyUnavailable within a second, never hangs."""
    client = ComfyClient(http, f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(ComfyUnavailable) as caught:
        await client.submit(sd15_prompt())
    assert time.monotonic() - started < 1.0
    assert caught.value.error_code == "comfy_unavailable"
    assert caught.value.retryable


async def test_comfyui_going_down_mid_job_is_reported(comfy, fake):
    """ComfyUI dying while a job waits ends in ComfyUnavailable within seconds, not a hang."""
    comfy._unavailable_after = 0.5
    fake.faults.step_time = 0.2
    prompt_id = await comfy.submit(sd15_prompt(steps=50))
    fake.faults.down = True  # every route answers 503 ...
    await fake.state.hub.close_all()  # ... and the socket goes away, as when ComfyUI dies
    started = time.monotonic()
    with pytest.raises(ComfyUnavailable):
        await comfy.wait(prompt_id, deadline_s=10)
    assert time.monotonic() - started < 5
