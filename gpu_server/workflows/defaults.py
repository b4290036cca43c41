"""Job parameters filled from a style profile: used by `/generate` and the start-up checks."""

from __future__ import annotations

import secrets

from common.protocol import ControlNetSpec, JobParams, LoraSpec, OutputFormat
from common.styles import StyleProfile

MAX_SEED = 2**32 - 1


def resolve_seed(seed: int | None) -> int:
    """-1 or None means a random seed; anything else is used as given."""
    if seed is None or seed < 0:
        return secrets.randbelow(MAX_SEED + 1)
    return seed


def default_params(
    style: StyleProfile,
    *,
    seed: int = 0,
    controlnet: ControlNetSpec | None = None,
    output_format: OutputFormat = "png",
) -> JobParams:
    """Every parameter at the style's default."""
    width, height = style.default_resolution
    return JobParams(
        steps=style.steps,
        cfg=style.cfg,
        seed=seed,
        sampler=style.sampler,
        scheduler=style.scheduler,
        width=width,
        height=height,
        denoise=style.restyle_denoise,
        loras=[LoraSpec(name=lora.name, weight=lora.weight) for lora in style.loras],
        controlnet=controlnet,
        output_format=output_format,
    )
