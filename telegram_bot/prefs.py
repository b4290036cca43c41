"""Per-user state that outlives a conversation: preferences, recent requests, known users.

Kept in the same aiogram storage as the FSM (memory, or Redis when REDIS_URL is set) under
separate `destiny` keys, so /cancel or a finished conversation never wipes them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

from aiogram.fsm.storage.base import BaseStorage, StorageKey
from pydantic import BaseModel, Field, ValidationError

OutputFormat = Literal["png", "webp", "jpeg"]
Mode = Literal["free", "restyle", "upscale"]
MAX_SEED = 2**32 - 1
KEEP_REQUESTS = 30


class UserPrefs(BaseModel):
    """One user's settings."""

    lang: str | None = None
    style: str | None = None
    output_format: OutputFormat = "png"
    size: tuple[int, int] | None = None
    seed: int = Field(default=-1, ge=-1, le=MAX_SEED)
    adult_confirmed: bool = False


class JobRequest(BaseModel):
    """Everything needed to (re)submit one job; images are kept as Telegram file ids."""

    mode: Mode
    style: str | None = None
    prompt: str | None = None
    file_id: str | None = None
    seed: int = -1
    size: tuple[int, int] | None = None
    output_format: OutputFormat = "png"
    batch_size: int = Field(default=1, ge=1, le=4)
    task_id: str | None = None

    def body(self, image_b64: str | None) -> dict[str, Any]:
        """The POST /tasks body for this request."""
        extra: dict[str, Any] = {"seed": self.seed, "output_format": self.output_format}
        if self.size and self.mode != "upscale":
            extra["width"], extra["height"] = self.size
        if self.batch_size > 1:
            extra["batch_size"] = self.batch_size
        body: dict[str, Any] = {"mode": self.mode, "extra_params": extra}
        if self.mode != "upscale":
            body["style"] = self.style
        if self.prompt:
            body["prompt"] = self.prompt
        if image_b64 is not None:
            body["target_image"] = image_b64
        return body


@dataclass
class Job:
    """Who asked for what, and where to answer."""

    chat_id: int
    user_id: int
    lang: str
    request: JobRequest
    rid: str


class ActiveJob(BaseModel):
    """A submitted job whose result is still to be delivered (resumed after a restart)."""

    user_id: int
    chat_id: int
    lang: str
    rid: str
    task_id: str
    message_id: int


class PrefsStore:
    """Typed access to preferences, recent requests and the list of known users."""

    def __init__(self, storage: BaseStorage, bot_id: int) -> None:
        self._storage = storage
        self._bot_id = bot_id

    def _key(self, user_id: int, destiny: str) -> StorageKey:
        return StorageKey(bot_id=self._bot_id, chat_id=user_id, user_id=user_id, destiny=destiny)

    async def get(self, user_id: int) -> UserPrefs:
        """The user's settings (defaults when unknown or unreadable)."""
        data = await self._storage.get_data(self._key(user_id, "prefs"))
        try:
            return UserPrefs.model_validate(data)
        except ValidationError:
            return UserPrefs()

    async def save(self, user_id: int, prefs: UserPrefs) -> None:
        """Store the user's settings."""
        await self._storage.set_data(self._key(user_id, "prefs"), prefs.model_dump(mode="json"))

    async def remember(self, user_id: int, request: JobRequest, rid: str | None = None) -> str:
        """Keep a request under a short id (for Again/Retry buttons); returns the id."""
        rid = rid or secrets.token_hex(4)
        key = self._key(user_id, "requests")
        data = await self._storage.get_data(key)
        data[rid] = request.model_dump(mode="json")
        for old in list(data)[:-KEEP_REQUESTS]:
            del data[old]
        await self._storage.set_data(key, data)
        return rid

    async def recall(self, user_id: int, rid: str) -> JobRequest | None:
        """A remembered request, or None when it is gone (e.g. after a restart)."""
        data = await self._storage.get_data(self._key(user_id, "requests"))
        try:
            return JobRequest.model_validate(data[rid]) if rid in data else None
        except ValidationError:
            return None

    async def add_user(self, user_id: int) -> None:
        """Record a user who talked to the bot in private (for /broadcast)."""
        key = self._key(0, "users")
        data = await self._storage.get_data(key)
        if str(user_id) not in data:
            await self._storage.update_data(key, {str(user_id): 1})

    async def users(self) -> list[int]:
        """Every user recorded by add_user."""
        return [int(uid) for uid in await self._storage.get_data(self._key(0, "users"))]

    async def track(self, active: ActiveJob) -> None:
        """Record a job whose result is not delivered yet."""
        await self._storage.update_data(
            self._key(0, "active"), {str(active.user_id): active.model_dump()}
        )

    async def untrack(self, user_id: int, task_id: str | None) -> None:
        """That job is delivered or explained: nothing to resume (a newer job stays)."""
        key = self._key(0, "active")
        data = await self._storage.get_data(key)
        entry = data.get(str(user_id))
        if task_id is not None and isinstance(entry, dict) and entry.get("task_id") == task_id:
            del data[str(user_id)]
            await self._storage.set_data(key, data)

    async def tracked(self) -> list[ActiveJob]:
        """Jobs left undelivered, e.g. by a restart."""
        data = await self._storage.get_data(self._key(0, "active"))
        jobs = []
        for value in data.values():
            try:
                jobs.append(ActiveJob.model_validate(value))
            except ValidationError:
                continue
        return jobs
