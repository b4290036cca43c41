"""Run one job on ComfyUI: screen inputs, fill the graph, queue it, follow it, screen outputs.

`submit` and `collect` are separate so the pull loop can queue the next job in ComfyUI
while the current one runs; `run` does both for the synchronous `/generate`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from common.error_codes import ErrorCode
from common.protocol import JobSpec, Mode, OutputFormat
from common.styles import StyleCatalog, StyleProfile
from gpu_server.comfy_answers import ImageRef, image_refs
from gpu_server.comfy_client import ComfyClient, ProgressCallback
from gpu_server.errors import JobRejected
from gpu_server.safety.base import ImageGuard
from gpu_server.safety.marking import encode_marked
from gpu_server.workflows import TemplateSet, fill_graph

# (png from ComfyUI, output format, job id) -> final bytes; marking is the default
Encoder = Callable[[bytes, OutputFormat, str], bytes]


@dataclass(frozen=True)
class OutputImage:
    """One screened, marked and encoded output."""

    data: bytes
    format: OutputFormat
    width: int
    height: int
    adult: bool = False


@dataclass
class Submitted:
    """A job queued in ComfyUI, waiting to be collected."""

    job: JobSpec
    prompt_id: str
    checkpoint: str | None
    save_nodes: set[str]
    started: float
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecutionOutcome:
    """What a finished job produced."""

    job_id: str
    images: list[OutputImage]
    seed: int
    timings_ms: dict[str, float]
    blocked: int = 0


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


class Executor:
    """Turns JobSpecs into ComfyUI prompts and their outputs into screened images."""

    def __init__(
        self,
        comfy: ComfyClient,
        templates: TemplateSet,
        catalog: StyleCatalog,
        guard: ImageGuard,
        *,
        encode: Encoder = encode_marked,
    ) -> None:
        self.comfy = comfy
        self.encode = encode
        self.templates = templates
        self.catalog = catalog
        self.guard = guard
        self.last_checkpoint: str | None = None
        self._active: dict[str, str] = {}

    async def run(
        self, job: JobSpec, on_progress: ProgressCallback | None = None
    ) -> ExecutionOutcome:
        """Submit and collect one job."""
        return await self.collect(await self.submit(job), on_progress)

    async def submit(self, job: JobSpec) -> Submitted:
        """Screen and upload inputs, fill the template and queue the prompt in ComfyUI."""
        started = time.perf_counter()
        style = self._style(job)
        images = await self._screened_inputs(job)
        uploads = {role: await self._upload(data, role) for role, data in images.items()}
        upload_ms = _ms(started)
        template = self.templates.pick(
            job.mode, style.architecture, controlnet=job.params.controlnet is not None
        )
        graph = fill_graph(
            template,
            job,
            style=style,
            upscale=self.catalog.upscale,
            uploads=uploads,
            prefix=f"genpod_{uuid.uuid4().hex}",
        )
        prompt_id = await self.comfy.submit(graph)
        self._active[job.job_id] = prompt_id
        checkpoint = None if job.mode is Mode.UPSCALE else style.checkpoint
        timings = {"upload_ms": upload_ms, "submit_ms": _ms(started)}
        return Submitted(job, prompt_id, checkpoint, set(template.nodes("$save")), started, timings)

    async def collect(
        self,
        submitted: Submitted,
        on_progress: ProgressCallback | None = None,
        *,
        on_comfy_done: Callable[[], None] | None = None,
    ) -> ExecutionOutcome:
        """Wait for the prompt, then download, screen, mark and encode every output.

        on_comfy_done runs as soon as ComfyUI is finished with the prompt (before the
        outputs are screened and marked), so a caller can queue the next prompt.
        """
        job = submitted.job
        remaining = job.deadline_s - (time.perf_counter() - submitted.started)
        try:
            entry = await self.comfy.wait(
                submitted.prompt_id, deadline_s=remaining, on_progress=on_progress
            )
        finally:
            self._active.pop(job.job_id, None)
            if on_comfy_done is not None:
                on_comfy_done()
        if submitted.checkpoint is not None:
            self.last_checkpoint = submitted.checkpoint
        timings = {**submitted.timings_ms, "comfy_ms": _ms(submitted.started)}
        refs = image_refs(entry, submitted.save_nodes)
        finishing = time.perf_counter()
        results = await asyncio.gather(*(self._output(job, ref) for ref in refs))
        images = [image for image in results if image is not None]
        if not images:
            raise JobRejected(
                "every output was blocked by the content policy"
                if refs
                else "ComfyUI produced no image",
                error_code=ErrorCode.OUTPUT_BLOCKED if refs else ErrorCode.COMFY_EXECUTION,
            )
        timings |= {"finish_ms": _ms(finishing), "total_ms": _ms(submitted.started)}
        return ExecutionOutcome(
            job.job_id, images, job.params.seed, timings, len(refs) - len(images)
        )

    async def cancel(self, job_id: str) -> bool:
        """Interrupt (running) or dequeue (pending) a job's prompt; False when it is not active."""
        prompt_id = self._active.get(job_id)
        if prompt_id is None:
            return False
        await self.comfy.cancel(prompt_id)
        return True

    def _style(self, job: JobSpec) -> StyleProfile:
        style = self.catalog.get(job.style)
        if style is None and job.mode is Mode.UPSCALE:
            style = next(iter(self.catalog.styles.values()))  # upscale uses no style model
        if style is None:
            raise JobRejected(f"unknown style {job.style!r}", error_code=ErrorCode.UNKNOWN_STYLE)
        return style

    async def _screened_inputs(self, job: JobSpec) -> dict[str, bytes]:
        needed = {"target"} if job.mode in (Mode.RESTYLE, Mode.UPSCALE) else set()
        if job.mode is Mode.FREE and job.params.controlnet is not None:
            needed.add("control")
        images: dict[str, bytes] = {}
        for role in sorted(needed):
            if role not in job.images:
                raise JobRejected(
                    f"the {role} image is missing", error_code=ErrorCode.IMAGE_REQUIRED
                )
            images[role] = _decode(job.images[role], role)
            self._check_size(job, role, images[role])
            verdict = await self.guard.check_input(images[role], job.content, job_id=job.job_id)
            if verdict.blocked:
                raise JobRejected(
                    f"the {role} image was refused ({verdict.category})",
                    error_code=ErrorCode.INPUT_BLOCKED,
                )
        return images

    def _check_size(self, job: JobSpec, role: str, data: bytes) -> None:
        """Refuse undecodable photos, and upscale inputs over the profile's largest side."""
        try:
            with Image.open(io.BytesIO(data)) as img:
                side = max(img.size)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            message = f"the {role} image is not a readable image"
            raise JobRejected(message, error_code=ErrorCode.IMAGE_INVALID) from exc
        limit = self.catalog.upscale.max_input_side
        if job.mode is Mode.UPSCALE and side > limit:
            message = f"the image is {side} px on its longest side; upscale takes up to {limit} px"
            raise JobRejected(message, error_code=ErrorCode.IMAGE_TOO_LARGE)

    async def _upload(self, data: bytes, role: str) -> str:
        return await self.comfy.upload_image(data, f"genpod-{uuid.uuid4().hex}-{role}.png")

    async def _output(self, job: JobSpec, ref: ImageRef) -> OutputImage | None:
        png = await self.comfy.view(ref)
        verdict = await self.guard.check_output(png, job.content, job_id=job.job_id)
        if verdict.blocked:
            return None  # blocked images never leave the worker
        fmt = job.params.output_format
        data = await asyncio.to_thread(self.encode, png, fmt, job.job_id)
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
        return OutputImage(data, fmt, width, height, verdict.adult)


def _decode(b64: str, role: str) -> bytes:
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise JobRejected(
            f"the {role} image is not valid base64", error_code=ErrorCode.INVALID_BASE64
        ) from exc
