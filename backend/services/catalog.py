"""What GET /styles shows: styles, modes, limits, ComfyUI's sampler and scheduler lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backend.services.requests import RequestRules

MODE_NOTES = {
    "clothes_removal": "declined: genpod does not and will not undress people from photos",
    "nsfw_face": "declined: genpod does not and will not sexualise real faces",
    "face_swap": "not offered",
}


def sampler_lists(object_info_path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """Sampler and scheduler names from ComfyUI's captured KSampler schema."""
    info = json.loads(object_info_path.read_text(encoding="utf-8"))
    required = info["KSampler"]["input"]["required"]
    return frozenset(required["sampler_name"][0]), frozenset(required["scheduler"][0])


def _modes() -> dict[str, dict[str, Any]]:
    modes: dict[str, dict[str, Any]] = {
        "free": {"available": True, "needs": ["prompt"]},
        "restyle": {"available": True, "needs": ["target_image"]},
        "upscale": {"available": True, "needs": ["target_image"]},
    }
    for mode, note in MODE_NOTES.items():
        modes[mode] = {"available": False, "note": note}
    return modes


def styles_view(rules: RequestRules, content_policy: str) -> dict[str, Any]:
    """The body of GET /styles."""
    styles = [
        {
            "id": s.id,
            "display_name": s.display_name,
            "architecture": s.architecture,
            "resolutions": [list(r) for r in s.resolutions],
            "defaults": {
                "steps": s.steps,
                "cfg_scale": s.cfg,
                "sampler": s.sampler,
                "scheduler": s.scheduler,
                "width": s.default_resolution[0],
                "height": s.default_resolution[1],
                "loras": [lora.model_dump() for lora in s.loras],
            },
            "loras_offered": list(s.loras_offered),
            "controlnet": sorted(s.controlnet),
        }
        for s in rules.catalog.styles.values()
    ]
    limits = {
        "steps": [20, 50],
        "cfg_scale": [5, 15],
        "seed": [-1, 2**32 - 1],
        "batch_size": [1, 4],
        "denoise": [0.2, 0.9],
        "lora_weight": [0, 1],
        "max_loras": 3,
        "max_prompt_chars": rules.max_prompt_chars,
        "max_image_bytes": rules.images.max_bytes,
        "max_image_pixels": rules.images.max_pixels,
        "min_image_side": 64,
        "output_formats": ["png", "webp", "jpeg"],
        "samplers": sorted(rules.samplers),
        "schedulers": sorted(rules.schedulers),
    }
    return {
        "styles": styles,
        "modes": _modes(),
        "limits": limits,
        "content_policy": content_policy,
    }
