"""In-process pieces: backend client (httpx MockTransport), SSE parsing, settings, progress bar."""

from __future__ import annotations

import json

import httpx
import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from pydantic import ValidationError

from common.error_codes import ErrorCode
from telegram_bot.app import build_storage
from telegram_bot.backend_client import BackendClient
from telegram_bot.errors import BackendError, BackendUnavailable
from telegram_bot.progress import bar
from telegram_bot.settings import BotSettings
from telegram_bot.texts import LANGS, error_text, mapped_codes


def _client(handler: httpx.MockTransport) -> BackendClient:
    http = httpx.AsyncClient(
        base_url="http://backend", transport=handler, headers={"X-API-Key": "k"}
    )
    return BackendClient(http)


async def test_errors_become_typed_with_retry_after() -> None:
    """A 429 answer becomes BackendError(rate_limited) carrying Retry-After."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-End-User-Id"] == "5"
        assert request.headers["X-Adult-Confirmed"] == "true"
        return httpx.Response(
            429,
            json={"error_code": "rate_limited", "error": "slow down"},
            headers={"Retry-After": "9"},
        )

    client = _client(httpx.MockTransport(handler))
    with pytest.raises(BackendError) as caught:
        await client.create_task(5, {"mode": "free"}, adult=True)
    assert caught.value.error_code == "rate_limited"
    assert caught.value.retry_after == 9


async def test_unreachable_or_garbled_backend_is_unavailable() -> None:
    """Connection errors and non-JSON error pages both mean 'backend down'."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(BackendUnavailable):
        await _client(httpx.MockTransport(refuse)).task(1, "t")
    garbled = httpx.MockTransport(lambda r: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(BackendUnavailable):
        await _client(garbled).task(1, "t")


async def test_event_stream_is_parsed_until_the_final_event() -> None:
    """SSE frames (with comments and keep-alives) become events; the final one ends the stream."""
    stream = (
        ": keep-alive\n\n"
        'event: queued\ndata: {"position": 3}\n\n'
        'event: running\ndata: {"step": 5,\n'
        'event: running\ndata: {"step": 6, "total": 30}\n\n'
        "event: done\ndata: " + json.dumps({"task_id": "t", "status": "done"}) + "\n\n"
        'event: running\ndata: {"step": 7, "total": 30}\n\n'
    )
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text=stream))
    events = [e async for e in _client(transport).events(1, "t")]
    assert [e.kind for e in events] == ["queued", "running", "done"]
    assert events[0].data == {"position": 3}
    assert events[2].data["status"] == "done"


async def test_styles_accept_a_list_or_a_mapping() -> None:
    """/styles may list styles or key them by id; both give the same catalog."""
    as_map = {
        "content_policy": "adult",
        "styles": {"anime": {"display_name": "Anime", "resolutions": [[512, 768]]}},
    }
    client = _client(httpx.MockTransport(lambda r: httpx.Response(200, json=as_map)))
    catalog = await client.catalog()
    assert catalog.content_policy == "adult"
    assert catalog.style("anime").resolutions == [(512, 768)]  # type: ignore[union-attr]


def test_settings_need_a_token_and_parse_id_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """TELEGRAM_BOT_TOKEN is required; id lists accept '1, 2'; placeholders fail in production."""
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ValidationError):
        BotSettings(_env_file=None)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:abc")
    monkeypatch.setenv("ADMIN_USER_IDS", "1, 2")
    assert BotSettings(_env_file=None).admin_user_ids == [1, 2]
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("BACKEND_API_KEY", "changeme")
    with pytest.raises(ValidationError):
        BotSettings(_env_file=None)


def test_storage_is_redis_only_when_configured() -> None:
    """Memory storage by default, RedisStorage when REDIS_URL is set."""
    plain = BotSettings(_env_file=None, telegram_bot_token="1:a")
    assert isinstance(build_storage(plain), MemoryStorage)
    redis = BotSettings(_env_file=None, telegram_bot_token="1:a", redis_url="redis://127.0.0.1:1/0")
    assert isinstance(build_storage(redis), RedisStorage)


def test_progress_bar() -> None:
    """The bar fills in tenths and never past full."""
    assert bar(0, 0) == ("░" * 10, 0)
    assert bar(15, 30) == ("▓" * 5 + "░" * 5, 50)
    assert bar(40, 30) == ("▓" * 10, 100)


def test_every_error_code_has_a_sentence_in_both_languages() -> None:
    """No error_code falls through to the generic sentence, and none leaks the raw code."""
    assert set(ErrorCode) <= mapped_codes()
    for lang in LANGS:
        for code in mapped_codes():
            text, _ = error_text(lang, code, 5)
            assert text
            assert "_" not in code or code not in text  # e.g. "rate_limited" never shows
