"""Style profiles: which model, LoRAs, sampler and sizes each public style uses.

Loaded from `config/styles.yaml` by the backend (request validation, /styles) and by the
worker (graph filling). Cross-checks against ComfyUI's schema live in gpu_server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.protocol import Architecture

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STYLES_PATH = REPO_ROOT / "config" / "styles.yaml"


class StyleError(Exception):
    """Raised when the styles file is missing, malformed or inconsistent."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoraDefault(_Strict):
    """A LoRA applied by default, with its weight."""

    name: str
    weight: float = Field(ge=0.0, le=1.0)


class StyleProfile(_Strict):
    """One public style and the model profile behind it."""

    id: str
    display_name: str
    architecture: Architecture
    checkpoint: str
    vae: str | None = None
    loras: list[LoraDefault] = Field(default_factory=list, max_length=3)
    loras_offered: list[str] = Field(default_factory=list)
    sampler: str
    scheduler: str
    steps: int = Field(ge=20, le=50)
    cfg: float = Field(ge=5.0, le=15.0)
    resolutions: list[tuple[int, int]] = Field(min_length=1)
    prompt_template: str = "{prompt}"
    negative_prompt: str = ""
    controlnet: dict[Literal["canny", "depth"], str] = Field(default_factory=dict)
    restyle_denoise: float = Field(default=0.6, ge=0.2, le=0.9)
    license: str

    @model_validator(mode="after")
    def _check(self) -> StyleProfile:
        if "{prompt}" not in self.prompt_template:
            raise ValueError("prompt_template must contain {prompt}")
        for lora in self.loras:
            if lora.name not in self.loras_offered:
                raise ValueError(f"default LoRA {lora.name!r} is not in loras_offered")
        return self

    @property
    def default_resolution(self) -> tuple[int, int]:
        """The first listed resolution is the default."""
        return self.resolutions[0]

    def render_prompt(self, prompt: str) -> str:
        """The user's prompt inside the style's template."""
        return self.prompt_template.replace("{prompt}", prompt.strip())


class UpscaleProfile(_Strict):
    """The model used by the upscale mode."""

    model: str
    scale: int = Field(default=4, ge=1, le=8)
    max_input_side: int = Field(default=2048, ge=64)
    license: str


class StyleCatalog(_Strict):
    """All styles plus the upscaler, as loaded from config."""

    styles: dict[str, StyleProfile]
    upscale: UpscaleProfile

    @model_validator(mode="after")
    def _ids_match_keys(self) -> StyleCatalog:
        for key, style in self.styles.items():
            if key != style.id:
                raise ValueError(f"style key {key!r} differs from its id {style.id!r}")
        return self

    def get(self, style_id: str) -> StyleProfile | None:
        """The style with this id, or None."""
        return self.styles.get(style_id)


def load_styles(path: Path = DEFAULT_STYLES_PATH) -> StyleCatalog:
    """Read and validate the styles file; StyleError names the file and the problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise StyleError(f"{path}: cannot read styles: {exc}") from exc
    if not isinstance(raw, dict):
        raise StyleError(f"{path}: expected a mapping with 'styles' and 'upscale'")
    styles = raw.get("styles")
    if isinstance(styles, dict):
        raw = {**raw, "styles": {k: {"id": k, **v} for k, v in styles.items()}}
    try:
        return StyleCatalog.model_validate(raw)
    except ValidationError as exc:
        raise StyleError(f"{path}: {exc}") from exc
