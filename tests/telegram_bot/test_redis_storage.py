"""The bot on a real Redis (REDIS_URL set): settings, a conversation half-way and a job in
flight all survive the bot process being killed and started again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.redis import redis_server
from tests.telegram_bot.conftest import Chat, running_bot
from tests.telegram_bot.stub_backend import StubBackend, image_bytes

pytestmark = pytest.mark.e2e  # the bot runs as a real process


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API of this module's own: its bots must not share one with the session's."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on loopback, without persistence."""
    with redis_server() as url:
        yield url


def test_settings_and_conversation_survive_a_killed_bot(
    telegram: FakeTelegram, backend: StubBackend, tmp_path: Path, uid: int, redis_url: str
) -> None:
    """Format set to WEBP, then a prompt waiting for its style; the bot is SIGKILLed and the
    style is pressed while it is down. The next bot continues the same conversation (no
    'expired' restart) and submits the job with the saved format."""
    chat = Chat(telegram, uid)
    with running_bot(telegram, backend.url, tmp_path, name="bot-1", REDIS_URL=redis_url) as one:
        screen = chat.say("/settings", contains="Settings")
        picker = chat.press(screen, "Format")
        chat.press(picker, "WEBP", contains="Format: webp")
        styles = chat.say("a lighthouse before the crash")
        one.kill()
    since = telegram.mark()
    telegram.press(uid, styles, "Realism")
    with running_bot(telegram, backend.url, tmp_path, name="bot-2", REDIS_URL=redis_url) as two:
        photo = chat.wait("sendPhoto", since=since, timeout=20)
        assert photo.upload("photo") == image_bytes(1, "jpeg")
        job = backend.last_job()
        assert job.body["prompt"] == "a lighthouse before the crash"
        assert job.body["extra_params"]["output_format"] == "webp"
        texts = [c.text for c in telegram.calls_to(uid, "sendMessage", since=since)]
        assert not any("expired" in t for t in texts), texts
        assert "Traceback" not in two.log()


def test_job_in_flight_is_delivered_by_the_next_bot(
    telegram: FakeTelegram, backend: StubBackend, tmp_path: Path, uid: int, redis_url: str
) -> None:
    """A slow job is running when the bot is SIGKILLed; the next bot follows the same backend
    task (no second submission), edits the same status message and sends the photo."""
    chat = Chat(telegram, uid)
    with running_bot(telegram, backend.url, tmp_path, name="bot-3", REDIS_URL=redis_url) as one:
        styles = chat.say("a slow comet over the sea")
        status = chat.press(styles, "Realism", method="editMessageText", contains="step 2/4")
        one.kill()
    task_id = backend.last_job().task_id
    submitted = len(backend.seen("POST", "/tasks"))
    since = telegram.mark()
    with running_bot(telegram, backend.url, tmp_path, name="bot-4", REDIS_URL=redis_url) as two:
        backend.release(task_id)
        photo = chat.wait("sendPhoto", since=since, timeout=20)
        done = chat.wait("editMessageText", contains="Done", since=since)
        assert photo.upload("photo") == image_bytes(1, "jpeg")
        assert done.params["message_id"] == status.params["message_id"]
        assert len(backend.seen("POST", "/tasks")) == submitted
        assert backend.last_job().task_id == task_id
        assert "Traceback" not in two.log()
