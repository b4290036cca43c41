"""Request and response bodies of the public API (docs/architecture.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from common.protocol import OutputFormat

RequestMode = Literal["free", "restyle", "upscale", "clothes_removal", "nsfw_face", "face_swap"]
TaskStatus = Literal["queued", "running", "done", "failed", "cancelled", "expired"]


class _Strict(BaseModel):
    # strict: a string where a number belongs is an error, not silently converted
    model_config = ConfigDict(extra="forbid", strict=True)


class LoraIn(_Strict):
    """A LoRA the style offers, with its weight."""

    name: str = Field(min_length=1, max_length=255)
    weight: float = Field(ge=0.0, le=1.0)


class ControlNetIn(_Strict):
    """ControlNet conditioning for `free`: type and a base64 control image."""

    type: Literal["canny", "depth"] = "canny"
    image: str = Field(min_length=1)
    strength: float = Field(default=0.8, ge=0.0, le=2.0)


class ExtraParams(_Strict):
    """Optional generation parameters; anything left out comes from the style."""

    negative_prompt: str = ""
    steps: int | None = Field(default=None, ge=20, le=50)
    cfg_scale: float | None = Field(default=None, ge=5.0, le=15.0)
    seed: int = Field(default=-1, ge=-1, le=2**32 - 1, description="-1 picks a random seed")
    sampler: str | None = Field(default=None, max_length=64)
    scheduler: str | None = Field(default=None, max_length=64)
    width: int | None = Field(default=None, ge=64, le=4096)
    height: int | None = Field(default=None, ge=64, le=4096)
    batch_size: int = Field(default=1, ge=1, le=4)
    denoise: float | None = Field(default=None, ge=0.2, le=0.9, description="restyle only")
    loras: list[LoraIn] = Field(default_factory=list, max_length=3)
    controlnet: ControlNetIn | None = None
    output_format: OutputFormat = "png"


class GenerateRequest(_Strict):
    """POST /generate and POST /tasks body."""

    mode: RequestMode
    prompt: str = ""
    style: str | None = Field(default=None, max_length=64)
    face_images: list[str] = Field(default_factory=list, max_length=4)
    target_image: str | None = None
    extra_params: ExtraParams = Field(default_factory=ExtraParams)


class Progress(BaseModel):
    """Sampler progress of a running task."""

    step: int
    total: int


class TaskView(BaseModel):
    """What a client sees of a task."""

    task_id: str
    status: TaskStatus
    mode: str
    style: str
    queue_position: int | None = None
    progress: Progress | None = None
    error: str | None = None
    error_code: str | None = None
    seed: int | None = None
    adult: bool = False
    image_count: int = 0
    timings: dict[str, float] = Field(default_factory=dict)
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None


class GenerateResponse(BaseModel):
    """POST /generate answer; status `processing` means poll GET /tasks/{id}."""

    task_id: str
    status: Literal["done", "failed", "cancelled", "expired", "processing"]
    image: str | None = None
    images: list[str] | None = None
    error: str | None = None
    error_code: str | None = None
    seed: int | None = None
    adult: bool = False
    timings: dict[str, float] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    """The one error shape every endpoint answers with."""

    error_code: str
    error: str
    task_id: str | None = None
