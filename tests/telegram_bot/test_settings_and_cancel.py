"""Settings change what is sent to the backend; /cancel stops a running job; one job per user."""

from __future__ import annotations

import pytest

from tests.telegram_bot.conftest import Chat
from tests.telegram_bot.stub_backend import StubBackend, image_bytes

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def test_settings_apply_to_the_next_job(chat: Chat, backend: StubBackend) -> None:
    """Format webp, size 832x1216 and fixed seed 42 reach the backend and the original file."""
    screen = chat.say("/settings", contains="Settings")
    assert "Format: png" in screen.text
    picker = chat.press(screen, "Format")
    saved = chat.press(picker, "WEBP", contains="Format: webp")
    sizes = chat.press(saved, "Size")
    assert [b["text"] for b in sizes.buttons()][:2] == ["1024 x 1024", "832 x 1216"]
    saved = chat.press(sizes, "832 x 1216", contains="Size: 832 x 1216")
    seeds = chat.press(saved, "Seed")
    ask = chat.press(seeds, "Fixed")
    assert "seed" in ask.text
    assert "not a valid seed" in chat.say("minus five").text
    assert "Seed: 42" in chat.say("42", contains="Settings").text

    styles = chat.say("a quiet harbour")
    photo = chat.press(styles, "Realism", method="sendPhoto")
    extra = backend.seen("POST", "/tasks")[-1][3]["extra_params"]
    assert extra == {
        "seed": 42,
        "output_format": "webp",
        "width": 832,
        "height": 1216,
    }
    document = chat.press(photo, "Original file", method="sendDocument")
    assert document.upload("document") == image_bytes(1, "webp")


def test_size_not_offered_by_the_style_is_left_to_the_backend(
    chat: Chat, backend: StubBackend
) -> None:
    """A saved size the picked style does not list is not sent (the style's default applies)."""
    screen = chat.say("/settings", contains="Settings")
    sizes = chat.press(screen, "Size")
    chat.press(sizes, "832 x 1216", contains="Size")
    styles = chat.say("a mountain lake")
    chat.press(styles, "Lux", method="sendPhoto")
    extra = backend.seen("POST", "/tasks")[-1][3]["extra_params"]
    assert "width" not in extra
    assert extra["seed"] == -1


def test_cancel_mid_job_cancels_on_the_backend(chat: Chat, backend: StubBackend) -> None:
    """/cancel while a job runs: DELETE /tasks/{id} reaches the backend, the status says so,
    and the menu comes back."""
    styles = chat.say("a slow boat on a river")
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    chat.wait("editMessageText", contains="step 2/4", since=since)
    task_id = backend.last_job().task_id
    menu = chat.say("/cancel", contains="Cancelled")
    assert "🎨 Free generation" in [b["text"] for b in menu.buttons()]
    chat.wait("editMessageText", contains="✖️ Cancelled.", since=since)
    assert backend.seen("DELETE", f"/tasks/{task_id}")
    assert backend.jobs[task_id].status == "cancelled"
    assert not chat.tg.calls_to(chat.uid, "sendPhoto", since)


def test_second_job_waits_for_the_first(chat: Chat, backend: StubBackend) -> None:
    """While one job runs, another request gets a 'still in progress' answer with its step."""
    styles = chat.say("a slow train through fog")
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    chat.wait("editMessageText", contains="step 2/4", since=since)
    jobs_before = len(backend.jobs)
    more = chat.say("another picture")
    busy = chat.press(more, "Lux", contains="already have an image")
    assert "step 2/4" in busy.text
    assert len(backend.jobs) == jobs_before
    backend.release(backend.last_job().task_id)
    chat.wait("sendPhoto", since=since)


def test_cancel_with_nothing_running_shows_the_menu(chat: Chat) -> None:
    """/cancel in the middle of a conversation leaves it and shows the menu."""
    menu = chat.say("/start")
    chat.press(menu, "Free generation")
    answer = chat.say("/cancel")
    assert answer.text == "Nothing to cancel. Here is the menu."
    assert "Describe" not in chat.say("hello there", contains="Pick a style").text


def test_a_double_tap_on_a_style_runs_one_job(chat: Chat, backend: StubBackend) -> None:
    """Two presses of the same style button at once start exactly one job."""
    styles = chat.say("a double tapped heron")
    jobs_before = len(backend.jobs)
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    chat.tg.press(chat.uid, styles, "Realism")
    chat.wait("sendPhoto", since=since)
    assert len(backend.jobs) == jobs_before + 1
