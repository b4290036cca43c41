"""Admin commands: /stats and /broadcast work for admins only."""

from __future__ import annotations

import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.procs import Service
from tests.telegram_bot.conftest import ADMIN_ID, Chat
from tests.telegram_bot.stub_backend import StubBackend

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def test_stats_reports_jobs_failures_and_queue(
    telegram: FakeTelegram, bot: Service, backend: StubBackend, uid: int
) -> None:
    """/stats reads /health: jobs created today, failures today and the queue depth."""
    user = Chat(telegram, uid)
    styles = user.say("one job for the stats")
    user.press(styles, "Realism", method="sendPhoto")
    admin = Chat(telegram, ADMIN_ID)
    stats = admin.say("/stats", contains="Backend")
    failed = sum(1 for j in backend.jobs.values() if j.status == "failed")
    assert stats.text.splitlines() == [
        "📊 Backend: ok",
        f"Jobs today: {len(backend.jobs)}",
        f"Failures today: {failed}",
        "Queue: 0",
    ]
    assert backend.seen("GET", "/health")


def test_admin_commands_are_refused_to_others(chat: Chat) -> None:
    """A user outside ADMIN_USER_IDS gets a refusal for /stats and /broadcast."""
    assert chat.say("/stats").text == "This command is for administrators."
    assert chat.say("/broadcast hi").text == "This command is for administrators."


def test_broadcast_reaches_every_known_user(telegram: FakeTelegram, bot: Service, uid: int) -> None:
    """/broadcast sends the text to every user who talked to the bot in private."""
    first, second = Chat(telegram, uid), Chat(telegram, uid + 700_000)
    first.say("/start")
    second.say("/start")
    admin = Chat(telegram, ADMIN_ID)
    assert admin.say("/broadcast").text == "Usage: /broadcast <text>"
    since = telegram.mark()
    done = admin.say("/broadcast Maintenance at 22:00", contains="Sent to")
    for user in (first, second):
        assert user.wait("sendMessage", contains="Maintenance at 22:00", since=since)
    sent, total = done.text.removeprefix("Sent to ").removesuffix(" users.").split(" of ")
    assert sent == total
    assert int(total) >= 3
