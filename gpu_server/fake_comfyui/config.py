"""Settings of the fake ComfyUI and the faults it can be told to inject."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OBJECT_INFO = REPO / "config" / "comfyui" / "object_info-0.3.64.json"
DEFAULT_STYLES = REPO / "config" / "styles.yaml"
# The model folders a real ComfyUI 0.3.64 lists under GET /models.
MODEL_FOLDERS = [
    "checkpoints", "configs", "loras", "vae", "text_encoders", "diffusion_models", "clip_vision",
    "style_models", "embeddings", "diffusers", "vae_approx", "controlnet", "gligen",
    "upscale_models", "custom_nodes", "hypernetworks", "photomaker", "classifiers",
    "model_patches", "audio_encoders",
]  # fmt: skip
# A demo set that covers the public default profiles, so demo mode works out of the box.
DEMO_MODELS: dict[str, list[str]] = {
    "checkpoints": ["sd_xl_base_1.0.safetensors", "Counterfeit-V3.0_fp16.safetensors"],
    "loras": ["sd_xl_offset_example-lora_1.0.safetensors"],
    "vae": ["sdxl_vae.safetensors", "vae-ft-mse-840000-ema-pruned.safetensors"],
    "controlnet": [
        "controlnet-canny-sdxl-1.0.fp16.safetensors",
        "control_v11p_sd15_canny.pth",
        "control_v11f1p_sd15_depth.pth",
    ],
    "upscale_models": ["RealESRGAN_x4plus.pth"],
}

ErrorKind = Literal["oom", "generic"]
_SETTABLE = {
    "error", "error_count", "error_node_class", "drop_ws_after_step", "drop_count", "down",
    "step_time", "job_time",
}  # fmt: skip


def demo_models(styles_path: Path = DEFAULT_STYLES) -> dict[str, list[str]]:
    """The demo model set plus every file the style profiles name (when the file is there)."""
    models = {folder: list(files) for folder, files in DEMO_MODELS.items()}
    if not styles_path.is_file():
        return models
    doc = yaml.safe_load(styles_path.read_text(encoding="utf-8")) or {}
    for profile in (doc.get("styles") or {}).values():
        _add(models, "checkpoints", profile.get("checkpoint"))
        _add(models, "vae", profile.get("vae"))
        for lora in profile.get("loras") or []:
            _add(models, "loras", lora.get("name") if isinstance(lora, dict) else lora)
        for lora in profile.get("loras_offered") or []:
            _add(models, "loras", lora)
        for name in (profile.get("controlnet") or {}).values():
            _add(models, "controlnet", name)
    _add(models, "upscale_models", (doc.get("upscale") or {}).get("model"))
    return models


def _add(models: dict[str, list[str]], folder: str, name: Any) -> None:
    if isinstance(name, str) and name and name not in models.setdefault(folder, []):
        models[folder].append(name)


@dataclass
class FakeConfig:
    """What the fake serves: schema, installed model files, timing, and where files live."""

    object_info_path: Path = DEFAULT_OBJECT_INFO
    models: dict[str, list[str]] = field(default_factory=demo_models)
    step_time: float = 0.0  # seconds per sampler step
    # Wall-clock seconds an executed prompt occupies the slot beyond its sampler steps,
    # rendering and encoding included (only the remainder is slept); cached prompts: none.
    job_time: float = 0.0
    previews: bool = False  # binary preview frames, as with --preview-method latent2rgb
    output_dir: Path | None = None  # None: a fresh temporary folder per app
    input_dir: Path | None = None
    temp_dir: Path | None = None


@dataclass
class Faults:
    """Faults to inject; counters say how many prompts each one hits (-1: every prompt)."""

    error: ErrorKind | None = None
    error_count: int = 1
    error_node_class: str | None = None  # None: the first sampler, else the first node run
    drop_ws_after_step: int | None = None  # close every socket after this sampler step
    drop_count: int = 1
    down: bool = False  # every ComfyUI route answers 503
    step_time: float | None = None  # overrides FakeConfig.step_time
    job_time: float | None = None  # overrides FakeConfig.job_time (same meaning)
    next_outputs: list[bytes] = field(default_factory=list)

    def take_error(self) -> ErrorKind | None:
        """The error the next prompt must fail with, if any (consumes one use)."""
        if self.error is None or self.error_count == 0:
            return None
        self.error_count -= 1 if self.error_count > 0 else 0
        return self.error

    def take_drop(self) -> int | None:
        """The sampler step after which sockets are dropped for this prompt, if any."""
        if self.drop_ws_after_step is None or self.drop_count == 0:
            return None
        self.drop_count -= 1 if self.drop_count > 0 else 0
        return self.drop_ws_after_step

    def take_output(self) -> bytes | None:
        """Bytes to store instead of the next rendered output image, if any were given."""
        return self.next_outputs.pop(0) if self.next_outputs else None

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON fault request; `reset: true` clears everything first."""
        if changes.get("reset"):
            fresh = Faults()
            self.__dict__.update(fresh.__dict__)
        for key, value in changes.items():
            if key in _SETTABLE:
                setattr(self, key, value)
        if self.error not in (None, "oom", "generic"):
            raise ValueError("error must be 'oom', 'generic' or null")

    def describe(self) -> dict[str, Any]:
        """The current faults as JSON (queued output images by count)."""
        data = {k: v for k, v in self.__dict__.items() if k != "next_outputs"}
        return {**data, "next_outputs": len(self.next_outputs)}
