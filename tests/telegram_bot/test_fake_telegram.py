"""The fake Telegram Bot API itself: body encodings, Telegram's answers, long polling, 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.telegram_bot.stub_backend import image_bytes


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """A fresh fake with one known user."""
    with FakeTelegram() as telegram:
        telegram.user(7)
        yield telegram


def _url(fake: FakeTelegram, method: str) -> str:
    return f"{fake.url}/bot{fake.token}/{method}"


def test_json_form_and_multipart_bodies_are_all_understood(fake: FakeTelegram) -> None:
    """sendMessage works as JSON and as a form; sendPhoto takes an attach:// multipart part."""
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    as_json = httpx.post(_url(fake, "sendMessage"), json={"chat_id": 7, "text": "hi"}).json()
    as_form = httpx.post(
        _url(fake, "sendMessage"), data={"chat_id": "7", "text": "yo", "reply_markup": markup}
    ).json()
    assert as_json["ok"]
    assert as_json["result"]["chat"] == {"id": 7, "type": "private", "first_name": "Tester"}
    assert as_form["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
    png = image_bytes(3)
    sent = httpx.post(
        _url(fake, "sendPhoto"),
        data={"chat_id": "7", "photo": "attach://f1"},
        files={"f1": ("p.png", png, "image/png")},
    ).json()
    assert sent["result"]["photo"][0]["width"] == 64
    assert fake.wait_call("sendPhoto").upload("photo") == png
    file_id = sent["result"]["photo"][0]["file_id"]
    path = httpx.post(_url(fake, "getFile"), json={"file_id": file_id}).json()["result"][
        "file_path"
    ]
    assert httpx.get(f"{fake.url}/file/bot{fake.token}/{path}").content == png


def test_identical_edit_is_refused_like_telegram(fake: FakeTelegram) -> None:
    """editMessageText with unchanged text answers 400 'message is not modified'."""
    sent = httpx.post(_url(fake, "sendMessage"), json={"chat_id": 7, "text": "a"}).json()["result"]
    edit = {"chat_id": 7, "message_id": sent["message_id"], "text": "b"}
    assert httpx.post(_url(fake, "editMessageText"), json=edit).json()["result"]["text"] == "b"
    again = httpx.post(_url(fake, "editMessageText"), json=edit)
    assert again.status_code == 400
    assert again.json()["description"].startswith("Bad Request: message is not modified")


def test_injected_429_carries_retry_after(fake: FakeTelegram) -> None:
    """fail_next answers one call with 429 and parameters.retry_after, then works again."""
    fake.fail_next("sendMessage", retry_after=3)
    first = httpx.post(_url(fake, "sendMessage"), json={"chat_id": 7, "text": "a"})
    assert first.status_code == 429
    assert first.json()["parameters"] == {"retry_after": 3}
    second = httpx.post(_url(fake, "sendMessage"), json={"chat_id": 7, "text": "a"})
    assert second.json()["ok"]


def test_get_updates_is_a_real_long_poll_with_offsets(fake: FakeTelegram) -> None:
    """getUpdates waits until an update arrives; offset confirms and drops earlier ones."""
    threading.Timer(0.3, lambda: fake.send_text(7, "late")).start()
    started = time.monotonic()
    updates = httpx.post(_url(fake, "getUpdates"), json={"timeout": 5}, timeout=10).json()["result"]
    assert 0.25 < time.monotonic() - started < 4
    assert updates[0]["message"]["text"] == "late"
    offset = updates[0]["update_id"] + 1
    started = time.monotonic()
    empty = httpx.post(_url(fake, "getUpdates"), json={"offset": offset, "timeout": 1}).json()
    assert empty["result"] == []
    assert time.monotonic() - started >= 0.9


def test_wrong_token_and_unknown_method(fake: FakeTelegram) -> None:
    """A wrong token is 401 and an unknown method 404, in Telegram's error shape."""
    wrong = httpx.post(f"{fake.url}/bot1:wrong/getMe")
    assert (wrong.status_code, wrong.json()["ok"]) == (401, False)
    unknown = httpx.post(_url(fake, "sendTelepathy"))
    assert unknown.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
