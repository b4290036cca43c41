"""The operator's direct `POST /generate`: request/answer models and the JobSpec they make."""

from __future__ import annotations

import base64
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from common.error_codes import ErrorCode
from common.protocol import (
    ContentContext,
    ControlNetSpec,
    JobParams,
    JobSpec,
    LoraSpec,
    Mode,
    OutputFormat,
)
from common.styles import StyleCatalog
from gpu_server.errors import JobRejected
from gpu_server.executor import ExecutionOutcome
from gpu_server.workflows.defaults import default_params, resolve_seed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GenerateParams(_Strict):
    """Optional overrides; anything left out comes from the style."""

    steps: int | None = None
    cfg: float | None = None
    seed: int = Field(default=-1, ge=-1, le=2**64 - 1)
    sampler: str | None = None
    scheduler: str | None = None
    width: int | None = None
    height: int | None = None
    batch_size: int | None = None
    denoise: float | None = None
    loras: list[LoraSpec] | None = None
    controlnet: ControlNetSpec | None = None
    output_format: OutputFormat | None = None


class GenerateRequest(_Strict):
    """One job for this worker; images are base64."""

    mode: Mode = Mode.FREE
    style: str = "realism"
    prompt: str = Field(default="", max_length=4000)
    negative_prompt: str = Field(default="", max_length=4000)
    params: GenerateParams = Field(default_factory=GenerateParams)
    target_image: str | None = None
    control_image: str | None = None
    content_policy: Literal["sfw", "adult"] = "sfw"
    deadline_s: float | None = Field(default=None, gt=0, le=3600)


class GeneratedImage(_Strict):
    """One output, base64."""

    image: str
    format: OutputFormat
    width: int
    height: int
    adult: bool


class GenerateResponse(_Strict):
    """The finished job."""

    job_id: str
    seed: int
    images: list[GeneratedImage]
    blocked: int
    timings_ms: dict[str, float]


def to_job(request: GenerateRequest, catalog: StyleCatalog, deadline_s: float) -> JobSpec:
    """Resolve defaults from the style and build the JobSpec the executor runs."""
    style = catalog.get(request.style)
    if style is None:
        raise JobRejected(f"unknown style {request.style!r}", error_code=ErrorCode.UNKNOWN_STYLE)
    overrides = request.params.model_dump(exclude_none=True, exclude={"seed"})
    base = default_params(style, seed=resolve_seed(request.params.seed))
    try:
        params = JobParams.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise JobRejected(f"invalid parameters: {_first_error(exc)}") from exc
    images = {"target": request.target_image, "control": request.control_image}
    return JobSpec(
        job_id=f"gen-{uuid.uuid4().hex}",
        mode=request.mode,
        style=request.style,
        prompt=request.prompt,
        negative_prompt=request.negative_prompt,
        params=params,
        images={role: data for role, data in images.items() if data},
        content=ContentContext(
            policy=request.content_policy,
            image_conditioned=request.mode is not Mode.FREE or bool(request.control_image),
        ),
        deadline_s=request.deadline_s or deadline_s,
    )


def to_response(outcome: ExecutionOutcome) -> GenerateResponse:
    """The executor's outcome as the JSON answer."""
    images = [
        GeneratedImage(
            image=base64.b64encode(image.data).decode("ascii"),
            format=image.format,
            width=image.width,
            height=image.height,
            adult=image.adult,
        )
        for image in outcome.images
    ]
    return GenerateResponse(
        job_id=outcome.job_id,
        seed=outcome.seed,
        images=images,
        blocked=outcome.blocked,
        timings_ms=outcome.timings_ms,
    )


def _first_error(exc: ValidationError) -> str:
    err: dict[str, Any] = dict(exc.errors()[0])
    where = ".".join(str(part) for part in err.get("loc", ()))
    return f"{where}: {err.get('msg')}"
