"""Settings base shared by every deployable (backend, gpu_server, telegram_bot, infra)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

PLACEHOLDER_MARKERS = ("changeme", "change-me", "placeholder", "your-", "<", "xxx")


def is_placeholder(secret: SecretStr | None) -> bool:
    """True when a secret is empty or still holds an example placeholder."""
    if secret is None:
        return True
    value = secret.get_secret_value().strip().lower()
    return not value or any(marker in value for marker in PLACEHOLDER_MARKERS)


class ServiceSettings(BaseSettings):
    """Fields every service has; each deployable subclasses this with its own."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_file_encoding="utf-8")

    environment: Environment = "development"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    data_dir: Path = Path("data")

    def secrets_to_check(self) -> dict[str, SecretStr | None]:
        """Secrets that must not be placeholders in production; subclasses extend."""
        return {}

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> ServiceSettings:
        if self.environment != "production":
            return self
        bad = [name for name, value in self.secrets_to_check().items() if is_placeholder(value)]
        if bad:
            raise ValueError(f"placeholder or empty secrets in production: {', '.join(bad)}")
        return self
