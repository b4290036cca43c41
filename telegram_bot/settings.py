"""Settings of the Telegram bot deployable, read once in main() from the environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from common.settings import ServiceSettings

GroupMode = Literal["private_only", "addressed"]


def _split_ids(value: object) -> object:
    """Accept `1,2,3` (what people write in .env) as well as a JSON list."""
    if isinstance(value, str):
        return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class BotSettings(ServiceSettings):
    """Everything the bot reads from the environment (or `telegram_bot/.env`)."""

    model_config = SettingsConfigDict(
        env_file=(".env", "telegram_bot/.env"), extra="ignore", env_file_encoding="utf-8"
    )

    telegram_bot_token: SecretStr
    telegram_api_url: str | None = None
    backend_api_url: str = "http://127.0.0.1:8000"
    backend_api_key: SecretStr = SecretStr("changeme-bot-key")
    backend_timeout_s: float = Field(default=30.0, gt=0, le=600)
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_user_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    max_image_size_mb: float = Field(default=10.0, gt=0, le=50)
    max_prompt_chars: int = Field(default=1000, ge=10, le=10000)
    conversation_timeout: float = Field(default=900.0, gt=0)
    redis_url: str | None = None
    group_mode: GroupMode = "addressed"
    progress_edit_interval: float = Field(default=1.5, ge=0, le=60)
    flood_max_retries: int = Field(default=5, ge=0, le=20)
    flood_max_wait_s: float = Field(default=60.0, gt=0)
    job_timeout_s: float = Field(default=600.0, gt=0)
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    polling_timeout: int = Field(default=10, ge=0, le=50)

    _split_allowed = field_validator("allowed_user_ids", "admin_user_ids", mode="before")(
        _split_ids
    )

    @property
    def max_image_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.max_image_size_mb * 1024 * 1024)

    def secrets_to_check(self) -> dict[str, SecretStr | None]:
        """The bot token and the backend key must be real in production."""
        return {
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
            "BACKEND_API_KEY": self.backend_api_key,
        }
