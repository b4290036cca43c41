"""Glue to the text side of the content policy: refusals, strikes and suspensions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from backend.errors import AccessDenied, RateLimited, RequestRejected
from backend.store.jobs import JobStore
from common.error_codes import ErrorCode

Policy = Literal["sfw", "adult"]

# Category-level sentences: a refusal never echoes the matched words.
REFUSALS: dict[str, str] = {
    ErrorCode.POLICY_MINORS: "Refused: sexual content involving minors is never made.",
    ErrorCode.POLICY_REAL_PERSON: "Refused: sexual content about real people is not made.",
    ErrorCode.POLICY_NUDITY: "Refused: nudity is not allowed for this request.",
    ErrorCode.POLICY_UNDRESS: "Refused: undressing people is never offered.",
    ErrorCode.ADULT_CONFIRMATION_REQUIRED: "This request needs a confirmation of being 18+.",
}
DEFAULT_REFUSAL = "This request was refused by the content policy."


class PromptDecisionLike(Protocol):
    """What screen_prompt answers (backend.services.content_policy.PromptDecision)."""

    @property
    def allowed(self) -> bool: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def prompt(self) -> str: ...
    @property
    def negative_prompt(self) -> str: ...
    @property
    def strike(self) -> bool: ...


class PromptScreen(Protocol):
    """Signature of backend.services.content_policy.screen_prompt."""

    def __call__(
        self,
        prompt: str,
        negative_prompt: str,
        *,
        policy: Policy,
        image_conditioned: bool,
        adult_confirmed: bool,
    ) -> PromptDecisionLike: ...


@dataclass(frozen=True)
class StrikeRules:
    """When strikes turn into a cool-down and then a suspension."""

    rate_limit_at: int
    suspend_at: int
    cooldown_s: float


class StrikeBook:
    """Counts policy strikes per end user and refuses users past the thresholds."""

    def __init__(self, store: JobStore, rules: StrikeRules) -> None:
        self._store = store
        self._rules = rules

    async def check(self, user_key: str | None, now: float) -> None:
        """Refuse a suspended or cooling-down end user."""
        if user_key is None:
            return
        row = await self._store.end_user(user_key)
        if row is None:
            return
        if row.strikes >= self._rules.suspend_at:
            raise AccessDenied(
                ErrorCode.USER_SUSPENDED,
                "This user is suspended after repeated content-policy refusals.",
                status=403,
            )
        wait = row.last_strike_at + self._rules.cooldown_s - now
        if row.strikes >= self._rules.rate_limit_at and wait > 0:
            raise RateLimited("Too many refused requests from this user; try again later.", wait)

    async def strike(self, user_key: str | None, now: float) -> None:
        """Count one strike (nothing to count for requests without an end user)."""
        if user_key is not None:
            await self._store.add_strike(user_key, now)


def refusal(decision: PromptDecisionLike) -> RequestRejected:
    """The 422 a refused prompt gets: its code and a category-level sentence."""
    code = decision.error_code or ErrorCode.POLICY_NUDITY
    return RequestRejected(code, REFUSALS.get(code, DEFAULT_REFUSAL))
