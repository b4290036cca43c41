"""Free generation end to end: the bot process against the fake Telegram API and stub backend."""

from __future__ import annotations

import itertools

import pytest

from tests.support.fake_telegram import Call
from tests.telegram_bot.conftest import Chat
from tests.telegram_bot.stub_backend import PANORAMA, StubBackend, image_bytes

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def test_start_shows_the_main_menu(chat: Chat) -> None:
    """/start answers with the five main-menu buttons."""
    menu = chat.say("/start")
    labels = [b["text"] for b in menu.buttons()]
    assert labels == [
        "🎨 Free generation",
        "🖼 Restyle a photo",
        "🔍 Upscale",
        "⚙️ Settings",
        "❓ Help",
    ]


def test_free_generation_edits_progress_then_sends_the_photo(
    chat: Chat, backend: StubBackend
) -> None:
    """Description → style → one message edited through queue and steps → the photo with buttons."""
    menu = chat.say("/start")
    ask = chat.press(menu, "Free generation")
    assert "Describe" in ask.text
    styles = chat.say("a red fox in the snow")
    assert [b["text"] for b in styles.buttons()] == ["Realism", "Lux", "Anime", "ChatGPT"]
    since = chat.tg.mark()
    status = chat.press(styles, "Realism", contains="Generating")
    photo = chat.wait("sendPhoto", since=since)
    assert photo.upload("photo") == image_bytes(1, "jpeg")
    assert [b["text"] for b in photo.buttons()] == [
        "🔁 Again",
        "🎲 Variations",
        "📄 Original file",
        "🏠 Menu",
    ]
    chat.wait("editMessageText", contains="Done", since=since)
    message_id = str(status.result["message_id"])
    edits = chat.tg.calls_to(chat.uid, "editMessageText", since)
    texts = [c.text for c in edits if str(c.params["message_id"]) == message_id]
    assert "⏳ In the queue: position 2" in texts
    assert "⏳ In the queue: position 1" in texts
    assert any(t.startswith("🎨 Drawing: step 2/4\n▓▓▓▓▓░░░░░ 50%") for t in texts)
    assert texts[-1] == "✅ Done."
    assert all(a != b for a, b in itertools.pairwise(texts)), texts
    _, _, headers, body = backend.seen("POST", "/tasks")[-1]
    assert headers["X-End-User-Id"] == str(chat.uid)
    assert body["mode"] == "free"
    assert body["style"] == "realism"
    assert body["prompt"] == "a red fox in the snow"


def _first_result(chat: Chat, prompt: str) -> tuple[Call, int]:
    """Run one free generation through the menu; return the photo call and a mark before it."""
    styles = chat.say(prompt)
    since = chat.tg.mark()
    chat.press(styles, "Lux", contains="Generating")
    return chat.wait("sendPhoto", since=since), since


def test_again_variations_and_original_file(chat: Chat, backend: StubBackend) -> None:
    """Again reuses the settings with a new seed; Variations is one batch-of-4 job sent as a
    media group; Original file sends the PNG uncompressed as a document."""
    photo, _ = _first_result(chat, "a lighthouse at dusk")
    first_body = backend.seen("POST", "/tasks")[-1][3]

    again = chat.press(photo, "Again", method="sendPhoto")
    again_body = backend.seen("POST", "/tasks")[-1][3]
    assert again.upload("photo") == image_bytes(1, "jpeg")
    assert again_body["prompt"] == first_body["prompt"] == "a lighthouse at dusk"
    assert again_body["style"] == "lux"
    assert again_body["extra_params"]["seed"] == -1
    assert len(backend.seen("POST", "/tasks")) >= 2

    since = chat.tg.mark()
    group = chat.press(photo, "Variations", method="sendMediaGroup")
    assert backend.seen("POST", "/tasks")[-1][3]["extra_params"]["batch_size"] == 4
    assert group.media_uploads() == [image_bytes(i, "jpeg") for i in (1, 2, 3, 4)]
    buttons = chat.wait("sendMessage", contains="Done", since=since)
    assert "🔁 Again" in [b["text"] for b in buttons.buttons()]

    document = chat.press(photo, "Original file", method="sendDocument")
    assert document.upload("document") == image_bytes(1, "png")


def test_a_photo_telegram_refuses_comes_as_a_document(chat: Chat) -> None:
    """An image beyond Telegram's photo dimensions is sent as a document, buttons included."""
    styles = chat.say("a wide panorama of the alps")
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Realism")
    refused = chat.wait("sendPhoto", since=since)
    document = chat.wait("sendDocument", since=since)
    assert (
        document.upload("document") == refused.upload("photo") == image_bytes(1, "jpeg", PANORAMA)
    )
    assert "🔁 Again" in [b["text"] for b in document.buttons()]
