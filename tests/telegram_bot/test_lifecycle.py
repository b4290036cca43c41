"""Start-up, restart mid-conversation, access settings, conversation timeout, webhook mode, 18+."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.procs import REPO, free_port
from tests.telegram_bot.conftest import Chat, running_bot
from tests.telegram_bot.stub_backend import StubBackend, image_bytes

pytestmark = pytest.mark.e2e  # the bot runs as a real process


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API of this module's own: its bots must not share one with the session's."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def adult_backend() -> Iterator[StubBackend]:
    """A stub backend whose /styles reports content_policy: adult."""
    with StubBackend(policy="adult") as stub:
        yield stub


def test_missing_token_stops_with_a_clear_message(tmp_path: Path) -> None:
    """Without TELEGRAM_BOT_TOKEN the bot exits 2 and says how to get one from @BotFather."""
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    proc = subprocess.run(
        [sys.executable, "-m", "telegram_bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in proc.stderr
    assert "@BotFather" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_restart_mid_conversation_loses_no_update(
    telegram: FakeTelegram, backend: StubBackend, tmp_path: Path, uid: int
) -> None:
    """A button pressed while the bot is down is handled after the restart (memory storage:
    the conversation is gone, so the user is told and led back); nothing is answered twice."""
    chat = Chat(telegram, uid)
    with running_bot(telegram, backend.url, tmp_path, name="bot-1"):
        styles = chat.say("a castle before the restart")
    since = telegram.mark()
    telegram.press(uid, styles, "Realism")
    with running_bot(telegram, backend.url, tmp_path, name="bot-2") as svc:
        expired = chat.wait("sendMessage", contains="expired", since=since)
        assert "🎨 Free generation" in [b["text"] for b in expired.buttons()]
        styles = chat.say("a castle after the restart")
        photo = chat.press(styles, "Realism", method="sendPhoto")
        assert photo.upload("photo") == image_bytes(1, "jpeg")
        asks = [c for c in telegram.calls_to(uid, "sendMessage") if c.text == "Pick a style:"]
        assert len(asks) == 2
        assert "Traceback" not in svc.log()


def test_allow_list_private_only_and_conversation_timeout(
    telegram: FakeTelegram, backend: StubBackend, tmp_path: Path, uid: int
) -> None:
    """Strangers are turned away, groups are ignored in private_only mode, and a conversation
    idle for longer than CONVERSATION_TIMEOUT is forgotten."""
    stranger = Chat(telegram, uid + 500_000)
    member = Chat(telegram, uid)
    env = {"ALLOWED_USER_IDS": str(uid), "GROUP_MODE": "private_only", "CONVERSATION_TIMEOUT": "1"}
    with running_bot(telegram, backend.url, tmp_path, **env):
        assert stranger.say("/start").text == "Sorry, this bot is private."
        since = telegram.mark()
        telegram.press_data(
            stranger.uid,
            {"message_id": 1, "date": 0, "chat": {"id": stranger.uid, "type": "private"}},
            "m:free",
        )
        refused = telegram.wait_call("answerCallbackQuery", since=since)
        assert refused.params["text"] == "Sorry, this bot is private."
        group = telegram.group(-42_000 - uid)
        since = telegram.mark()
        telegram.send_text(uid, "/start@genpod_test_bot", chat=group)
        styles = member.say("an idle request")
        assert not telegram.calls_to(group["id"], since=since)
        time.sleep(1.3)
        expired = member.press(styles, "Realism", contains="expired")
        assert "🎨 Free generation" in [b["text"] for b in expired.buttons()]


def test_webhook_mode_registers_and_serves_updates(
    telegram: FakeTelegram, backend: StubBackend, tmp_path: Path, uid: int
) -> None:
    """With WEBHOOK_URL set the bot registers its webhook and answers updates posted to it."""
    port = free_port()
    env = {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": "test-secret",
    }
    chat = Chat(telegram, uid)
    with running_bot(telegram, backend.url, tmp_path, ready="setWebhook", **env):
        assert telegram.webhook_url == f"http://127.0.0.1:{port}/telegram/webhook"
        update = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "/start",
                "chat": {"id": uid, "type": "private"},
                "from": telegram.user(uid),
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": "test-secret"}
        url = telegram.webhook_url
        since = telegram.mark()
        assert httpx.post(url, json=update, headers=headers).status_code == 200
        assert chat.wait("sendMessage", since=since).text == "What shall we make?"
        bad = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
        assert bad.status_code == 401


def test_adult_policy_asks_once_and_sends_spoilers(
    telegram: FakeTelegram, adult_backend: StubBackend, tmp_path: Path, uid: int
) -> None:
    """With content_policy adult: one 18+ question before the first job, the header on every
    job after it, and images marked adult arrive under a spoiler."""
    chat = Chat(telegram, uid)
    with running_bot(telegram, adult_backend.url, tmp_path):
        styles = chat.say("an adult portrait of a dancer")
        ask = chat.press(styles, "Realism", contains="18")
        assert not adult_backend.seen("POST", "/tasks")
        no = chat.press(ask, "No", contains="confirmation")
        assert no.text.startswith("Okay.")
        photo = chat.press(ask, "I am 18+", method="sendPhoto")
        assert photo.params["has_spoiler"] in (True, "true")
        _, _, headers, _ = adult_backend.seen("POST", "/tasks")[-1]
        assert headers["X-Adult-Confirmed"] == "true"
        styles = chat.say("a landscape")
        since = telegram.mark()
        telegram.press(uid, styles, "Lux")
        plain = chat.wait("sendPhoto", since=since)
        assert "has_spoiler" not in plain.params or plain.params["has_spoiler"] in (False, "false")
        assert not [c for c in telegram.calls_to(uid, "sendMessage", since) if "18" in c.text]
