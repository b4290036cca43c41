"""Job submission: limits, strikes, request checks, the prompt policy, then the queue."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from backend.schemas.api import GenerateRequest
from backend.services.events import Notifier
from backend.services.metrics import Metrics
from backend.services.policy import Policy, PromptScreen, StrikeBook, refusal
from backend.services.ratelimit import RateLimiter
from backend.services.requests import PreparedJob, RequestRules, prepare
from backend.services.results import ResultFiles
from backend.store.jobs import JobStore
from backend.store.models import JobRow
from common.protocol import ContentContext, JobSpec, JobState


@dataclass(frozen=True)
class Caller:
    """Who is asking: the API key's client name, its end user, the 18+ confirmation."""

    key_name: str
    end_user_id: str | None = None
    adult_confirmed: bool = False

    @property
    def user_key(self) -> str | None:
        """End users are namespaced by client: two bots may share Telegram ids."""
        return None if self.end_user_id is None else f"{self.key_name}:{self.end_user_id}"


@dataclass(frozen=True)
class SubmitConfig:
    """Settings the submission path needs."""

    policy: Policy
    queue_deadline_s: float
    job_deadline_s: float


@dataclass
class Submission:
    """Checks and queues new jobs."""

    store: JobStore
    files: ResultFiles
    notifier: Notifier
    rules: RequestRules
    config: SubmitConfig
    screen: PromptScreen
    strikes: StrikeBook
    key_limiter: RateLimiter
    user_limiter: RateLimiter
    metrics: Metrics
    clock: Callable[[], float]

    async def submit(self, request: GenerateRequest, caller: Caller, priority: int) -> JobRow:
        """Validate, screen and queue one request; returns the stored job."""
        now = self.clock()
        await self.strikes.check(caller.user_key, now)
        self.key_limiter.hit(caller.key_name, now)
        if caller.user_key is not None:
            self.user_limiter.hit(caller.user_key, now)
        heavy = request.target_image is not None or request.extra_params.controlnet is not None
        job = (
            await asyncio.to_thread(prepare, request, self.rules)
            if heavy
            else prepare(request, self.rules)
        )
        await self._screen(job, caller, now)
        row = self._row(job, caller, priority, now)
        for role, image in job.images.items():
            row.input_refs[role] = self.files.save_input(row.id, role, image.png)
        await self.store.insert(row)
        self.metrics.submitted(job.mode.value, job.style.id)
        self.notifier.job_queued()
        return row

    async def _screen(self, job: PreparedJob, caller: Caller, now: float) -> None:
        if not (job.prompt or job.negative_prompt):
            return
        decision = self.screen(
            job.prompt,
            job.negative_prompt,
            policy=self.config.policy,
            image_conditioned=job.image_conditioned,
            adult_confirmed=caller.adult_confirmed,
        )
        if decision.allowed:
            job.prompt, job.negative_prompt = decision.prompt, decision.negative_prompt
            return
        if decision.strike:
            await self.strikes.strike(caller.user_key, now)
        self.metrics.refused(decision.error_code or "policy")
        raise refusal(decision)

    def _row(self, job: PreparedJob, caller: Caller, priority: int, now: float) -> JobRow:
        job_id = secrets.token_hex(12)
        adult_allowed = (
            self.config.policy == "adult" and caller.adult_confirmed and not job.image_conditioned
        )
        spec = JobSpec(
            job_id=job_id,
            mode=job.mode,
            style=job.style.id,
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            params=job.params,
            content=ContentContext(
                policy=self.config.policy,
                image_conditioned=job.image_conditioned,
                adult_allowed=adult_allowed,
            ),
            deadline_s=self.config.job_deadline_s,
        )
        return JobRow(
            id=job_id,
            state=JobState.QUEUED.value,
            mode=job.mode.value,
            style=job.style.id,
            architecture=job.architecture,
            checkpoint=job.checkpoint,
            priority=priority,
            owner=caller.key_name,
            end_user_id=caller.end_user_id,
            spec=spec.model_dump(mode="json", exclude={"images"}),
            input_refs={},
            attempts=0,
            progress_step=0,
            progress_total=0,
            seed=job.params.seed,
            adult=False,
            image_count=0,
            result_refs=[],
            timings={},
            created_at=now,
            deadline_at=now + self.config.queue_deadline_s,
        )
