"""Restyle and upscale: photos and image documents in, results out; bad files get a clear answer."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from tests.telegram_bot.conftest import Chat
from tests.telegram_bot.stub_backend import StubBackend, image_bytes

pytestmark = pytest.mark.e2e  # the bot runs as a real process


def jpeg(width: int = 80, height: int = 60) -> bytes:
    """A small JPEG photo."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(out, format="JPEG")
    return out.getvalue()


def send_photo(chat: Chat, data: bytes, method: str = "sendMessage", contains: str = "") -> object:
    """Send a photo; return the bot's next call of method."""
    since = chat.tg.mark()
    chat.tg.send_photo(chat.uid, data)
    return chat.wait(method, contains=contains, since=since)


def test_restyle_sends_the_photo_to_the_backend_and_returns_the_result(
    chat: Chat, backend: StubBackend
) -> None:
    """Restyle: the photo travels as base64 target_image with the picked style; a photo returns."""
    menu = chat.say("/start")
    ask = chat.press(menu, "Restyle a photo")
    assert "Send one photo" in ask.text
    photo = jpeg()
    since = chat.tg.mark()
    chat.tg.send_photo(chat.uid, photo)
    styles = chat.wait("sendMessage", contains="Pick a style", since=since)
    since = chat.tg.mark()
    chat.tg.press(chat.uid, styles, "Anime")
    result = chat.wait("sendPhoto", since=since)
    assert result.upload("photo") == image_bytes(1, "jpeg")
    body = backend.seen("POST", "/tasks")[-1][3]
    assert body["mode"] == "restyle"
    assert body["style"] == "anime"
    assert base64.b64decode(body["target_image"]) == photo


def test_restyle_accepts_an_image_document(chat: Chat, backend: StubBackend) -> None:
    """A PNG sent as a file is accepted like a photo."""
    menu = chat.say("/start")
    chat.press(menu, "Restyle a photo")
    data = image_bytes(9, "png")
    since = chat.tg.mark()
    chat.tg.send_document(chat.uid, data, "picture.png", "image/png")
    styles = chat.wait("sendMessage", contains="Pick a style", since=since)
    chat.press(styles, "Realism", method="sendPhoto")
    assert base64.b64decode(backend.seen("POST", "/tasks")[-1][3]["target_image"]) == data


def test_non_image_and_too_large_files_get_a_clear_answer(chat: Chat) -> None:
    """A PDF is refused as not an image; a 30 MB image is refused with the size limit."""
    menu = chat.say("/start")
    chat.press(menu, "Restyle a photo")
    since = chat.tg.mark()
    chat.tg.send_document(chat.uid, b"%PDF-1.4", "doc.pdf", "application/pdf")
    assert "not an image" in chat.wait("sendMessage", since=since).text
    since = chat.tg.mark()
    chat.tg.send_document(chat.uid, b"x", "huge.png", "image/png", file_size=30 * 2**20)
    assert "too large: the limit is 10 MB" in chat.wait("sendMessage", since=since).text
    since = chat.tg.mark()
    chat.tg.send_text(chat.uid, "just words")
    assert "send a photo" in chat.wait("sendMessage", since=since).text


def test_upscale_returns_a_document(chat: Chat, backend: StubBackend) -> None:
    """Upscale: one photo in, the bigger image back as an uncompressed document."""
    menu = chat.say("/start")
    chat.press(menu, "Upscale")
    photo = jpeg(40, 30)
    since = chat.tg.mark()
    chat.tg.send_photo(chat.uid, photo)
    document = chat.wait("sendDocument", since=since, timeout=20)
    assert document.upload("document") == image_bytes(1, "png", 256)
    body = backend.seen("POST", "/tasks")[-1][3]
    assert body["mode"] == "upscale"
    assert "style" not in body
    assert base64.b64decode(body["target_image"]) == photo


def test_photo_outside_a_conversation_starts_a_restyle(chat: Chat) -> None:
    """A photo sent without choosing a mode is taken for restyling."""
    styles = send_photo(chat, jpeg(), contains="Pick a style")
    assert styles.buttons()[0]["text"] == "Realism"


def test_too_large_photo_outside_a_conversation_waits_for_another(chat: Chat) -> None:
    """A too-large image sent without choosing a mode is refused, and a photo is then expected."""
    since = chat.tg.mark()
    chat.tg.send_document(chat.uid, b"x", "huge.png", "image/png", file_size=30 * 2**20)
    assert "too large: the limit is 10 MB" in chat.wait("sendMessage", since=since).text
    since = chat.tg.mark()
    chat.tg.send_text(chat.uid, "just words")
    assert "send a photo" in chat.wait("sendMessage", since=since).text
    styles = send_photo(chat, jpeg(), contains="Pick a style")
    assert styles.buttons()[0]["text"] == "Realism"
