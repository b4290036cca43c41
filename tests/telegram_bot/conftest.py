"""Fixtures: the fake Telegram API, the stub backend and the bot as a real process."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.fake_telegram import Call, FakeTelegram
from tests.support.procs import Service, service
from tests.telegram_bot.stub_backend import API_KEY, StubBackend

ADMIN_ID = 900
_user_ids = itertools.count(10_000)


def bot_env(telegram: FakeTelegram, backend_url: str, **extra: str) -> dict[str, str]:
    """Environment for `python -m telegram_bot` against the fakes."""
    env = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "BACKEND_API_URL": backend_url,
        "BACKEND_API_KEY": API_KEY,
        "PROGRESS_EDIT_INTERVAL": "0",
        "POLLING_TIMEOUT": "2",
        "ADMIN_USER_IDS": str(ADMIN_ID),
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": "",
    }
    return {**env, **extra}


@contextmanager
def running_bot(
    telegram: FakeTelegram,
    backend_url: str,
    log_dir: Path,
    name: str = "bot",
    ready: str = "deleteWebhook",
    **extra: str,
) -> Iterator[Service]:
    """Start the bot process and wait for its first call of `ready` (polling: deleteWebhook)."""
    since = telegram.mark()
    env = bot_env(telegram, backend_url, **extra)
    with service(name, ["-m", "telegram_bot"], health_url=None, env=env, log_dir=log_dir) as svc:
        try:
            telegram.wait_call(ready, since=since, timeout=20)
        except TimeoutError:
            raise RuntimeError(f"bot did not start:\n{svc.log()}") from None
        yield svc


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    """The fake Bot API shared by the session's bot (modules that start their own bots
    override this with a fresh one, since two bots cannot poll one fake)."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="session")
def backend() -> Iterator[StubBackend]:
    """The stub backend, shared by the session."""
    with StubBackend() as stub:
        yield stub


@pytest.fixture(scope="session")
def bot(
    telegram: FakeTelegram, backend: StubBackend, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """One bot process for the session; tests use distinct users so they do not interfere."""
    with running_bot(telegram, backend.url, tmp_path_factory.mktemp("bot")) as svc:
        yield svc
        assert "Traceback" not in svc.log(), svc.log()


@pytest.fixture
def uid() -> int:
    """A fresh Telegram user id (and private chat id) for one test."""
    return next(_user_ids)


class Chat:
    """Drives one user's private chat with the bot through the fake Telegram API."""

    def __init__(self, telegram: FakeTelegram, user_id: int, lang: str = "en") -> None:
        self.tg = telegram
        self.uid = user_id
        telegram.user(user_id, lang=lang)

    def say(self, text: str, method: str = "sendMessage", contains: str = "") -> Call:
        """Send text; return the bot's next call of method to this chat."""
        since = self.tg.mark()
        self.tg.send_text(self.uid, text)
        return self.tg.wait_call(method, self.uid, since=since, contains=contains)

    def press(
        self,
        call: Call,
        button: str,
        method: str = "sendMessage",
        contains: str = "",
        timeout: float = 15,
    ) -> Call:
        """Press a button under the message of call; return the bot's next call of method."""
        since = self.tg.mark()
        self.tg.press(self.uid, call, button)
        return self.tg.wait_call(method, self.uid, since=since, contains=contains, timeout=timeout)

    def wait(self, method: str, contains: str = "", since: int = 0, timeout: float = 15) -> Call:
        """The next call of method to this chat."""
        return self.tg.wait_call(method, self.uid, since=since, contains=contains, timeout=timeout)


@pytest.fixture
def chat(telegram: FakeTelegram, bot: Service, uid: int) -> Chat:
    """A private chat of a fresh English-speaking user with the module's bot."""
    return Chat(telegram, uid)
