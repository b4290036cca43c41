"""The backend <-> gpu_server worker protocol: job specs, leases, progress and results.

Both sides import these models, so a field added here is one both understand.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Architecture = Literal["sdxl", "sd15"]
OutputFormat = Literal["png", "webp", "jpeg"]


class Mode(StrEnum):
    """Generation modes that can reach a worker."""

    FREE = "free"
    RESTYLE = "restyle"
    UPSCALE = "upscale"


class JobState(StrEnum):
    """Job lifecycle: queued -> running -> done | failed | cancelled, plus expired."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINAL_STATES = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSpec(_Strict):
    """One LoRA in the chain: a file name the style offers and its weight."""

    name: str
    weight: float = Field(ge=0.0, le=1.0)


class ControlNetSpec(_Strict):
    """ControlNet conditioning for `free` (image in JobSpec.images['control'])."""

    type: Literal["canny", "depth"] = "canny"
    strength: float = Field(default=0.8, ge=0.0, le=2.0)


class JobParams(_Strict):
    """Fully resolved generation parameters: the backend fills every default from the style."""

    steps: int = Field(ge=1, le=150)
    cfg: float = Field(ge=0.0, le=30.0)
    seed: int = Field(ge=0, le=2**64 - 1, description="Resolved seed; never -1 here.")
    sampler: str
    scheduler: str
    width: int = Field(ge=64, le=4096)
    height: int = Field(ge=64, le=4096)
    batch_size: int = Field(default=1, ge=1, le=4)
    denoise: float = Field(default=1.0, ge=0.0, le=1.0)
    loras: list[LoraSpec] = Field(default_factory=list, max_length=3)
    controlnet: ControlNetSpec | None = None
    output_format: OutputFormat = "png"


class ContentContext(_Strict):
    """What the image side of the content policy needs to know about a job."""

    policy: Literal["sfw", "adult"] = "sfw"
    image_conditioned: bool = False
    adult_allowed: bool = False


class JobSpec(_Strict):
    """Everything a worker needs to run one job; images travel as base64 strings."""

    job_id: str
    mode: Mode
    style: str
    prompt: str = ""
    negative_prompt: str = ""
    params: JobParams
    images: dict[Literal["target", "control"], str] = Field(default_factory=dict)
    content: ContentContext = Field(default_factory=ContentContext)
    deadline_s: float = Field(default=170.0, gt=0)


def _all_architectures() -> list[Architecture]:
    return ["sdxl", "sd15"]


class Capabilities(_Strict):
    """What a worker can run right now."""

    architectures: list[Architecture] = Field(default_factory=_all_architectures)
    checkpoints_present: list[str] = Field(default_factory=list)
    checkpoints_loaded: list[str] = Field(default_factory=list)
    upscalers_present: list[str] = Field(default_factory=list)
    gpu_name: str = ""
    vram_total_mb: int = 0


class LeaseRequest(_Strict):
    """POST /worker/lease body: a long poll for one job."""

    worker_id: str = Field(min_length=1, max_length=128)
    capabilities: Capabilities
    wait_s: float = Field(default=20.0, ge=0.0, le=60.0)


class Lease(_Strict):
    """POST /worker/lease 200 answer (204 means no job within wait_s)."""

    lease_id: str
    lease_ttl_s: float
    attempt: int
    job: JobSpec


class ProgressReport(_Strict):
    """POST /worker/jobs/{job_id}/progress body; renews the lease."""

    lease_id: str
    stage: Literal["submitted", "running", "finishing"] = "running"
    step: int = Field(default=0, ge=0)
    total_steps: int = Field(default=0, ge=0)


class ProgressAnswer(_Strict):
    """Progress answer: cancel tells the worker to interrupt the prompt."""

    cancel: bool
    lease_ttl_s: float


class ResultImage(_Strict):
    """One output image, already screened and marked by the worker."""

    data_b64: str
    format: OutputFormat
    width: int
    height: int
    adult: bool = False


class JobResult(_Strict):
    """POST /worker/jobs/{job_id}/result body; idempotent per (job, lease)."""

    lease_id: str
    images: list[ResultImage] = Field(min_length=1, max_length=4)
    seed: int
    timings_ms: dict[str, float] = Field(default_factory=dict)


class JobFailure(_Strict):
    """POST /worker/jobs/{job_id}/failure body; idempotent per (job, lease)."""

    lease_id: str
    error_code: str
    message: str = Field(max_length=2000)
    retryable: bool = False
