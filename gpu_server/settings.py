"""gpu_server settings, read once from the environment in main() and passed to create_app."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings
from common.styles import DEFAULT_STYLES_PATH, REPO_ROOT


class GpuServerSettings(ServiceSettings):
    """Everything the worker process needs; field names map to upper-case env vars."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    comfyui_url: str = "http://127.0.0.1:8188"
    gpu_server_host: str = "127.0.0.1"
    gpu_server_port: int = Field(default=8100, ge=1, le=65535)
    worker_token: SecretStr = SecretStr("")
    backend_url: str | None = None
    worker_id: str = Field(default="gpu-worker-1", min_length=1, max_length=128)
    workflows_dir: Path = REPO_ROOT / "workflows"
    styles_path: Path = DEFAULT_STYLES_PATH
    object_info_path: Path = REPO_ROOT / "config" / "comfyui" / "object_info-0.3.64.json"
    comfy_connect_timeout_s: float = Field(default=3.0, gt=0)
    comfy_request_timeout_s: float = Field(default=30.0, gt=0)
    comfy_poll_interval_s: float = Field(default=1.0, gt=0)
    job_deadline_s: float = Field(default=170.0, gt=0, description="Deadline for /generate jobs.")
    prefetch: int = Field(default=1, ge=0, le=4, description="Jobs queued in ComfyUI ahead.")
    lease_wait_s: float = Field(default=20.0, ge=0, le=60)
    backend_timeout_s: float = Field(default=10.0, gt=0)
    backoff_max_s: float = Field(default=10.0, gt=0)
    progress_interval_s: float = Field(default=2.0, gt=0)
    max_request_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)

    safety_nudity_threshold: float = Field(
        default=0.30, description="Exposed-part score that blocks; only lower (stricter) values."
    )
    safety_open_nsfw_threshold: float = Field(
        default=0.40, description="Open-NSFW score that blocks photo jobs; only lower values."
    )
    safety_open_nsfw_on_text_only: bool = Field(
        default=False, description="Also run Open-NSFW on text-only outputs (stricter, slower)."
    )

    def safety_overrides(self) -> dict[str, object]:
        """The content-safety fields as gpu_server.safety.GuardConfig arguments."""
        return {
            "nudity_threshold": self.safety_nudity_threshold,
            "open_nsfw_threshold": self.safety_open_nsfw_threshold,
            "open_nsfw_on_text_only": self.safety_open_nsfw_on_text_only,
        }

    def secrets_to_check(self) -> dict[str, SecretStr | None]:
        """The worker token must be real in production."""
        return {"WORKER_TOKEN": self.worker_token}
