"""Executor against the fake ComfyUI: every template x style, screening, marking, cancel."""

from __future__ import annotations

import asyncio
import base64
import io

import pytest
from PIL import Image

from common.protocol import ContentContext, ControlNetSpec, JobSpec, LoraSpec, Mode
from gpu_server.errors import JobCancelled, JobRejected
from gpu_server.workflows.defaults import default_params

from .conftest import png_bytes

STYLES = ["realism", "lux", "chatgpt", "anime"]
PHOTO = base64.b64encode(png_bytes(120, 90)).decode()


def make_job(
    catalog, style: str, mode: Mode = Mode.FREE, job_id: str = "job-1", **params
) -> JobSpec:
    base = default_params(catalog.styles[style], seed=4242).model_dump()
    return JobSpec(
        job_id=job_id,
        mode=mode,
        style=style,
        prompt="a lighthouse",
        params={**base, **params},
        images={"target": PHOTO, "control": PHOTO},
        content=ContentContext(image_conditioned=mode is not Mode.FREE),
    )


def last_prompt(fake) -> dict:
    accepted = [s for s in fake.submitted if s.get("accepted", True)]
    return accepted[-1]["body"]["prompt"] if "body" in accepted[-1] else accepted[-1]["prompt"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("variant", ["free", "free+controlnet", "restyle", "upscale"])
async def test_every_template_and_style_runs(executor, catalog, fake, style, variant):
    """Each template filled for each style is accepted by the fake and yields a real image."""
    mode = Mode.FREE if variant.startswith("free") else Mode(variant)
    extra = {"controlnet": ControlNetSpec()} if variant == "free+controlnet" else {}
    job = make_job(catalog, style, mode, **extra)
    outcome = await executor.run(job)
    assert len(outcome.images) == 1
    image = outcome.images[0]
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.size == (image.width, image.height)
    if mode is Mode.UPSCALE:
        assert (image.width, image.height) == (120 * 4, 90 * 4)
    else:
        assert (image.width, image.height) == catalog.styles[style].default_resolution
    assert outcome.seed == 4242


async def test_submitted_graph_carries_the_parameters(executor, catalog, fake):
    """The graph ComfyUI received has the job's seed, steps, size, batch and LoRA chain."""
    loras = [LoraSpec(name="sd_xl_offset_example-lora_1.0.safetensors", weight=0.7)]
    job = make_job(catalog, "lux", steps=22, cfg=11.0, seed=77, width=832, height=1216, loras=loras)
    await executor.run(job)
    prompt = last_prompt(fake)
    by_class = {node["class_type"]: node["inputs"] for node in prompt.values()}
    assert by_class["KSampler"]["seed"] == 77
    assert by_class["KSampler"]["steps"] == 22
    assert by_class["KSampler"]["cfg"] == 11.0
    assert (by_class["EmptyLatentImage"]["width"], by_class["EmptyLatentImage"]["height"]) == (
        832,
        1216,
    )
    assert by_class["LoraLoader"]["strength_model"] == 0.7


async def test_batch_of_four_and_output_formats(executor, catalog):
    """batch_size 4 returns four images, encoded in the requested format."""
    for fmt, pil_name in (("webp", "WEBP"), ("jpeg", "JPEG")):
        job = make_job(catalog, "anime", batch_size=4, output_format=fmt)
        outcome = await executor.run(job)
        assert len(outcome.images) == 4
        for image in outcome.images:
            assert image.format == fmt
            with Image.open(io.BytesIO(image.data)) as decoded:
                assert decoded.format == pil_name


async def test_png_outputs_are_marked_ai_generated(executor, catalog):
    """Every PNG output carries the AI-generated metadata and the job id."""
    outcome = await executor.run(make_job(catalog, "realism", job_id="job-mark"))
    with Image.open(io.BytesIO(outcome.images[0].data)) as decoded:
        assert decoded.info.get("genpod:job_id") == "job-mark"
        assert "trainedAlgorithmicMedia" in decoded.info.get("DigitalSourceType", "")


async def test_blocked_output_is_dropped(executor, catalog, guard):
    """A blocked output never comes back; the others do, and the count says one was blocked."""
    guard.block_output_indexes = {1}
    outcome = await executor.run(make_job(catalog, "anime", batch_size=3))
    assert len(outcome.images) == 2
    assert outcome.blocked == 1


async def test_all_outputs_blocked_fails_the_job(executor, catalog, guard):
    """When every output is blocked the job fails with output_blocked."""
    guard.block_output_indexes = {0, 1}
    with pytest.raises(JobRejected) as caught:
        await executor.run(make_job(catalog, "anime", batch_size=2))
    assert caught.value.error_code == "output_blocked"


async def test_blocked_input_never_reaches_comfyui(executor, catalog, guard, fake):
    """A refused photo fails with input_blocked before anything is uploaded or queued."""
    guard.block_inputs = True
    before = len(fake.submitted)
    with pytest.raises(JobRejected) as caught:
        await executor.run(make_job(catalog, "realism", Mode.RESTYLE))
    assert caught.value.error_code == "input_blocked"
    assert len(fake.submitted) == before
    assert list(fake.input_dir.iterdir()) == []


async def test_guard_screens_the_bytes_comfyui_produced(executor, catalog, guard, fake):
    """The guard sees exactly the image ComfyUI wrote (here a given image), before marking."""
    given = png_bytes(64, 64, (1, 2, 3))
    fake.faults.next_outputs.append(given)
    outcome = await executor.run(make_job(catalog, "anime"))
    assert guard.outputs == [given]
    assert outcome.images[0].data != given  # re-encoded with the marking


async def test_cancel_running_job(executor, catalog, fake):
    """executor.cancel interrupts the running prompt; collect raises JobCancelled."""
    fake.faults.step_time = 0.05
    submitted = await executor.submit(make_job(catalog, "anime", steps=40, job_id="job-c"))
    collecting = asyncio.create_task(executor.collect(submitted))
    await asyncio.sleep(0.3)
    assert await executor.cancel("job-c") is True
    with pytest.raises(JobCancelled):
        await collecting
    assert await executor.cancel("job-c") is False


async def test_missing_photo_is_refused(executor, catalog):
    """Restyle without a target image fails with image_required."""
    job = make_job(catalog, "realism", Mode.RESTYLE).model_copy(update={"images": {}})
    with pytest.raises(JobRejected) as caught:
        await executor.run(job)
    assert caught.value.error_code == "image_required"


@pytest.mark.parametrize(
    ("image", "code"),
    [
        (base64.b64encode(b"not an image at all").decode(), "image_invalid"),
        (base64.b64encode(png_bytes(2100, 64)).decode(), "image_too_large"),
    ],
)
async def test_unreadable_or_oversized_upscale_input_is_refused(
    executor, catalog, fake, image, code
):
    """Upscale refuses undecodable bytes and sides over max_input_side before ComfyUI sees them."""
    job = make_job(catalog, "realism", Mode.UPSCALE).model_copy(
        update={"images": {"target": image}}
    )
    before = len(fake.submitted)
    with pytest.raises(JobRejected) as caught:
        await executor.run(job)
    assert caught.value.error_code == code
    assert len(fake.submitted) == before
