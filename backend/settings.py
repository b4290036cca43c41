"""Backend settings: one pydantic-settings class, read once in main()."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from common.settings import ServiceSettings
from common.styles import DEFAULT_STYLES_PATH

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OBJECT_INFO = REPO_ROOT / "config" / "comfyui" / "object_info-0.3.64.json"


class BackendSettings(ServiceSettings):
    """Everything the backend process reads from the environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    backend_host: str = "127.0.0.1"
    backend_port: int = Field(default=8000, ge=1, le=65535)
    database_url: str | None = None
    api_keys: SecretStr = SecretStr("")
    worker_token: SecretStr = SecretStr("")
    request_timeout: float = Field(default=180.0, gt=0, le=900)
    max_image_mb: float = Field(default=10.0, gt=0, le=100)
    max_image_pixels: int = Field(default=4096 * 4096, ge=64 * 64)
    max_body_mb: float = Field(default=32.0, gt=0, le=256)
    max_prompt_chars: int = Field(default=1500, ge=1, le=20000)
    rate_limit_per_key: int = Field(default=600, ge=1, description="job submissions per minute")
    rate_limit_per_user: int = Field(default=20, ge=1, description="job submissions per minute")
    strikes_rate_limit_at: int = Field(default=2, ge=1)
    strikes_suspend_at: int = Field(default=4, ge=1)
    strike_cooldown_s: float = Field(default=600.0, ge=0)
    job_deadline_s: float = Field(default=170.0, gt=0, description="run-time limit on a worker")
    lease_ttl_s: float = Field(default=30.0, gt=0, le=600)
    max_attempts: int = Field(default=3, ge=1, le=20)
    queue_deadline_s: float = Field(default=600.0, gt=0)
    affinity_max_wait_s: float = Field(default=20.0, ge=0)
    lease_recheck_s: float = Field(
        default=1.0, gt=0, le=60, description="waiting lease calls re-read the queue this often"
    )
    result_retention_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    reaper_interval_s: float = Field(default=1.0, gt=0, le=60)
    retention_interval_s: float = Field(default=600.0, gt=0)
    worker_seen_window_s: float = Field(default=90.0, gt=0)
    content_policy: Literal["sfw", "adult"] = "sfw"
    styles_path: Path = DEFAULT_STYLES_PATH
    object_info_path: Path = DEFAULT_OBJECT_INFO
    access_log: bool = False

    def secrets_to_check(self) -> dict[str, SecretStr | None]:
        """API keys and the worker token must be real in production."""
        return {"api_keys": self.api_keys, "worker_token": self.worker_token}

    def resolved_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under the data dir when unset."""
        if self.database_url:
            return self.database_url
        path = (self.data_dir / "genpod.sqlite3").resolve()
        return f"sqlite+aiosqlite:///{path}"

    def api_key_names(self) -> dict[str, str]:
        """Parse API_KEYS (`key:name,key2:name2`) into key -> client name."""
        keys: dict[str, str] = {}
        for item in self.api_keys.get_secret_value().split(","):
            key, _, name = item.strip().partition(":")
            if key:
                keys[key] = name or "default"
        return keys
