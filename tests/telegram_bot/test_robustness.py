"""The bot never crashes on odd input, honours Telegram's flood control and group etiquette."""

from __future__ import annotations

import time

import pytest

from tests.support.fake_telegram import FakeTelegram
from tests.support.procs import Service
from tests.telegram_bot.conftest import Chat
from tests.telegram_bot.test_photos import jpeg

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def test_flood_control_429_is_retried_after_retry_after(chat: Chat) -> None:
    """A 429 with retry_after=1 on sendPhoto is waited out and the photo is sent again."""
    styles = chat.say("a fox under flood control")
    chat.tg.fail_next("sendPhoto", retry_after=1)
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    photo = chat.wait("sendPhoto", since=since)
    assert photo.result is None  # the first attempt got the 429
    retried = chat.tg.wait_for(
        lambda c: c.method == "sendPhoto" and c.chat_id == chat.uid and c.result is not None,
        since=since,
    )
    assert retried.at - photo.at >= 1.0
    assert retried.upload("photo") == photo.upload("photo")


@pytest.mark.parametrize("kind", ["sticker", "voice", "unknown_command"])
def test_unsupported_messages_get_a_polite_answer(chat: Chat, kind: str) -> None:
    """Stickers, voice notes and unknown commands get a hint, not silence or a crash."""
    since = chat.tg.mark()
    if kind == "sticker":
        chat.tg.send_sticker(chat.uid)
    elif kind == "voice":
        chat.tg.send_voice(chat.uid)
    else:
        chat.tg.send_text(chat.uid, "/frobnicate")
    answer = chat.wait("sendMessage", since=since)
    assert "I can't use that" in answer.text


def test_huge_text_is_refused_with_the_limit(chat: Chat) -> None:
    """A 5000-character description is refused with the limit; the bot then waits for one."""
    answer = chat.say("x" * 5000)
    assert answer.text == "That description is too long: keep it under 1000 characters."
    since = chat.tg.mark()
    chat.tg.send_sticker(chat.uid)
    assert chat.wait("sendMessage", since=since).text == "Please send the description as text."


def test_edited_messages_and_garbage_buttons_do_not_break_the_bot(chat: Chat, bot: Service) -> None:
    """Edits are ignored, a button with unknown data is answered, and the bot keeps working."""
    message = chat.tg.send_text(chat.uid, "/help")
    chat.wait("sendMessage", contains="I turn descriptions")
    since = chat.tg.mark()
    chat.tg.edit_text(message, "/start")
    chat.tg.press_data(chat.uid, message, "zzz:not-ours")
    expired = chat.wait("sendMessage", contains="expired", since=since)
    assert chat.tg.wait_call("answerCallbackQuery", since=since)
    assert not [c for c in chat.tg.calls_to(chat.uid, "sendMessage", since) if c is not expired]
    assert chat.say("/start").text == "What shall we make?"
    assert bot.proc.poll() is None


def test_an_album_is_taken_as_its_first_photo(chat: Chat) -> None:
    """Three photos sent as one album give one style question and a note, not three."""
    menu = chat.say("/start")
    chat.press(menu, "Restyle a photo")
    since = chat.tg.mark()
    for _ in range(3):
        chat.tg.send_photo(chat.uid, jpeg(), media_group_id="album-1")
    chat.wait("sendMessage", contains="Pick a style", since=since)
    chat.wait("sendMessage", contains="just one photo", since=since)
    time.sleep(0.5)
    asks = [c for c in chat.tg.calls_to(chat.uid, "sendMessage", since) if "Pick a style" in c.text]
    assert len(asks) == 1


def test_group_chats_get_answers_only_when_addressed(
    telegram: FakeTelegram, bot: Service, uid: int
) -> None:
    """In a group the bot ignores chatter, answers commands and mentions addressed to it."""
    telegram.user(uid)
    group = telegram.group(-500_000 - uid)
    since = telegram.mark()
    telegram.send_text(uid, "hello everyone", chat=group)
    telegram.send_text(uid, "/start@genpod_test_bot", chat=group)
    menu = telegram.wait_call("sendMessage", group["id"], since=since)
    assert menu.text == "What shall we make?"
    since = telegram.mark()
    telegram.send_text(uid, "@genpod_test_bot a cat on a roof", chat=group)
    styles = telegram.wait_call("sendMessage", group["id"], since=since)
    assert styles.text == "Pick a style:"
    assert len(telegram.calls_to(group["id"], "sendMessage")) == 2
