"""Image-guard settings; protections can only be made stricter than the shipped floor."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gpu_server.safety.errors import GuardConfigError

# Start thresholds (docs/content-policy.md explains why): any exposed-part detection at
# or above 0.30, or an Open-NSFW score at or above 0.40 on image-conditioned jobs.
NUDITY_THRESHOLD_MAX = 0.30
OPEN_NSFW_THRESHOLD_MAX = 0.40

BLOCKING_LABELS = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
)

ClassifierName = Literal["nudenet", "opennsfw"]


class GuardConfig(BaseModel):
    """Thresholds and detector geometry; a looser threshold is refused at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # NudeNet drops detections under 0.2 itself, so a stricter value below that is moot.
    nudity_threshold: float = Field(default=NUDITY_THRESHOLD_MAX, ge=0.2)
    open_nsfw_threshold: float = Field(default=OPEN_NSFW_THRESHOLD_MAX, gt=0.0)
    open_nsfw_on_text_only: bool = False
    classifiers: tuple[ClassifierName, ...] = ("nudenet", "opennsfw")
    inference_resolution: int = Field(default=640, ge=320, le=1280)
    single_pass_max: int = Field(default=1024, ge=320, le=4096)
    tile_size: int = Field(default=768, ge=256, le=2048)
    tile_overlap: int = Field(default=256, ge=0, le=1024)
    max_side: int = Field(default=2048, ge=512, le=8192)
    max_pixels: int = Field(default=8192 * 8192, ge=64 * 64)

    @field_validator("nudity_threshold")
    @classmethod
    def _nudity_only_stricter(cls, value: float) -> float:
        if value > NUDITY_THRESHOLD_MAX:
            raise ValueError(f"must be <= {NUDITY_THRESHOLD_MAX}: it can only be made stricter")
        return value

    @field_validator("open_nsfw_threshold")
    @classmethod
    def _nsfw_only_stricter(cls, value: float) -> float:
        if value > OPEN_NSFW_THRESHOLD_MAX:
            raise ValueError(f"must be <= {OPEN_NSFW_THRESHOLD_MAX}: it can only be made stricter")
        return value

    @field_validator("classifiers")
    @classmethod
    def _nudenet_required(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The part detector is the protection that cannot be switched off; Open-NSFW adds to it.
        if "nudenet" not in value:
            raise ValueError("nudenet cannot be removed; other classifiers only add checks")
        return tuple(dict.fromkeys(value))


def guard_config(**values: object) -> GuardConfig:
    """Build a GuardConfig, turning validation errors into one GuardConfigError."""
    try:
        return GuardConfig.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise GuardConfigError(f"invalid content-safety settings: {problems}") from exc
