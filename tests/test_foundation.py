"""Foundation checks: the shared protocol and settings behave as documented."""

import pytest
from pydantic import SecretStr, ValidationError

from common.protocol import JobParams, JobSpec, Mode
from common.settings import ServiceSettings, is_placeholder


def test_placeholder_secrets_are_detected() -> None:
    """Example values from .env.example count as placeholders; real-looking ones do not."""
    assert is_placeholder(SecretStr("changeme-worker-token"))
    assert is_placeholder(SecretStr(""))
    assert not is_placeholder(SecretStr("9f8e7d6c5b4a"))


def test_jobspec_rejects_unknown_fields() -> None:
    """The worker protocol is strict: a typo in a field name is an error, not ignored."""
    params = JobParams(
        steps=20, cfg=7, seed=1, sampler="euler", scheduler="normal", width=512, height=512
    )
    JobSpec(job_id="j", mode=Mode.FREE, style="anime", params=params)
    with pytest.raises(ValidationError):
        JobSpec.model_validate(
            {"job_id": "j", "mode": "free", "style": "a", "params": params.model_dump(), "x": 1}
        )


def test_production_refuses_placeholder_secrets() -> None:
    """A subclass that declares secrets cannot start in production with placeholders."""

    class S(ServiceSettings):
        token: SecretStr = SecretStr("changeme")

        def secrets_to_check(self) -> dict[str, SecretStr | None]:
            return {"token": self.token}

    with pytest.raises(ValidationError):
        S(environment="production")
    assert S(environment="development").token.get_secret_value() == "changeme"
