"""A job cut short by a shutdown is resumed by the next run when the storage persists
(RedisStorage in production; here one storage object shared by two runners, as Redis would be)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from aiogram.fsm.storage.memory import MemoryStorage

from telegram_bot.app import build_bot
from telegram_bot.backend_client import BackendClient
from telegram_bot.jobs import JobRunner
from telegram_bot.prefs import Job, JobRequest, PrefsStore
from telegram_bot.settings import BotSettings
from tests.support.fake_telegram import FakeTelegram
from tests.telegram_bot.stub_backend import API_KEY, StubBackend, image_bytes


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fake Bot API of this test's own (no bot process polls it)."""
    with FakeTelegram() as telegram:
        yield telegram


def _runner(backend: BackendClient, prefs: PrefsStore) -> JobRunner:
    return JobRunner(backend, prefs, edit_interval_s=0, timeout_s=60, max_image_bytes=2**20)


async def test_a_job_interrupted_by_shutdown_is_delivered_after_restart(
    fake: FakeTelegram, backend: StubBackend
) -> None:
    """Run 1 submits a slow job and is cancelled mid-way (shutdown); run 2, on the same
    storage, follows the same task, edits the same status message and sends the photo."""
    settings = BotSettings(_env_file=None, telegram_bot_token=fake.token, telegram_api_url=fake.url)
    user_id = 31_337
    fake.user(user_id)
    storage = MemoryStorage()
    bot = build_bot(settings)
    async with httpx.AsyncClient(base_url=backend.url, headers={"X-API-Key": API_KEY}) as http:
        client = BackendClient(http)
        prefs = PrefsStore(storage, bot.id)
        request = JobRequest(mode="free", style="realism", prompt="a slow resumable comet")
        rid = await prefs.remember(user_id, request)
        first = asyncio.create_task(
            _runner(client, prefs).start(bot, Job(user_id, user_id, "en", request, rid))
        )
        edit = await asyncio.to_thread(
            fake.wait_call, "editMessageText", user_id, contains="step 2/4"
        )
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        assert [a.task_id for a in await prefs.tracked()] == [backend.last_job().task_id]

        second = _runner(client, PrefsStore(storage, bot.id))
        since = fake.mark()
        await second.resume_all(bot)
        backend.release(backend.last_job().task_id)
        photo = await asyncio.to_thread(fake.wait_call, "sendPhoto", user_id, since=since)
        done = await asyncio.to_thread(
            fake.wait_call, "editMessageText", user_id, since=since, contains="Done"
        )
        assert photo.upload("photo") == image_bytes(1, "jpeg")
        assert done.params["message_id"] == edit.params["message_id"]
        for _ in range(50):
            if not await prefs.tracked():
                break
            await asyncio.sleep(0.05)
        assert await prefs.tracked() == []
    await bot.session.close()
