# ruff: noqa: RUF001  # Russian sentences are Cyrillic on purpose
"""Backend errors become friendly sentences, with Retry only where retrying makes sense."""

from __future__ import annotations

import pytest

from tests.telegram_bot.conftest import Chat
from tests.telegram_bot.stub_backend import StubBackend
from tests.telegram_bot.test_photos import jpeg

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def _run_prompt(chat: Chat, prompt: str, contains: str) -> object:
    styles = chat.say(prompt)
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    return chat.wait("editMessageText", contains=contains, since=since)


@pytest.mark.parametrize(
    ("status", "code", "retry_after", "sentence", "retry"),
    [
        (429, "rate_limited", 7, "Too many requests. Please try again in 7 s.", True),
        (422, "policy_minors", None, "content involving minors is not allowed", False),
        (422, "policy_real_person", None, "sexual content about real people", False),
        (503, "busy", None, "All image servers are busy", True),
        (504, "timeout", None, "That took too long", True),
        (502, None, None, "The image service is unreachable", True),
        (403, "user_suspended", None, "Your access has been suspended", False),
    ],
)
def test_submit_errors_are_explained(
    chat: Chat,
    backend: StubBackend,
    status: int,
    code: str | None,
    retry_after: int | None,
    sentence: str,
    retry: bool,
) -> None:
    """Each refusal of POST /tasks edits the status message into its sentence (+ Retry)."""
    backend.fail_next_create(status, code, retry_after)
    answer = _run_prompt(chat, f"picture for {code}", sentence)
    labels = [b["text"] for b in answer.buttons()]
    assert ("🔄 Retry" in labels) is retry
    assert "🏠 Menu" in labels
    assert code is None or "_" not in code or code not in answer.text  # no raw codes


def test_retry_after_a_rate_limit_runs_the_same_request(chat: Chat, backend: StubBackend) -> None:
    """Retry resubmits the very same request and this time delivers the photo."""
    backend.fail_next_create(429, "rate_limited", 3)
    answer = _run_prompt(chat, "a retry-able castle", "try again in 3 s")
    photo = chat.press(answer, "Retry", method="sendPhoto")
    assert photo.params["caption"].startswith("realism")
    bodies = [r[3] for r in backend.seen("POST", "/tasks")[-2:]]
    assert bodies[0] == bodies[1]


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        ("output_blocked", "The result broke the content rules"),
        ("out_of_memory", "All image servers are busy"),
        ("comfy_execution", "Something went wrong on our side"),
    ],
)
def test_job_failures_are_explained(
    chat: Chat, backend: StubBackend, code: str, sentence: str
) -> None:
    """A job that fails on the worker ends with the friendly sentence and a Retry button."""
    backend.fail_next_job(code)
    answer = _run_prompt(chat, f"a job that fails with {code}", sentence)
    assert "🔄 Retry" in [b["text"] for b in answer.buttons()]


def test_invalid_photo_is_explained_without_retry(chat: Chat, backend: StubBackend) -> None:
    """image_invalid on a restyle asks for another photo and offers no Retry."""
    menu = chat.say("/start")
    chat.press(menu, "Restyle a photo")
    since = chat.tg.mark()
    chat.tg.send_photo(chat.uid, jpeg())
    styles = chat.wait("sendMessage", contains="Pick a style", since=since)
    backend.fail_next_create(422, "image_invalid")
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Lux")
    answer = chat.wait("editMessageText", contains="couldn't read that photo", since=since)
    assert [b["text"] for b in answer.buttons()] == ["🏠 Menu"]


def test_russian_user_gets_russian_sentences(telegram, bot, backend: StubBackend, uid: int) -> None:
    """A user whose Telegram language is Russian gets the menu and errors in Russian."""
    chat = Chat(telegram, uid, lang="ru")
    menu = chat.say("/start")
    assert menu.text == "Что создадим?"
    backend.fail_next_create(429, "rate_limited", 12)
    styles = chat.say("замок в горах")
    since = telegram.mark()
    telegram.press(uid, styles, "Realism")
    answer = chat.wait("editMessageText", contains="через 12 с", since=since)
    assert "🔄 Повторить" in [b["text"] for b in answer.buttons()]
    switched = chat.say("/language")
    assert switched.text == "Language: English."
