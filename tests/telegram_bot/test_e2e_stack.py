"""The bot as a real process against the fake Telegram API and the real stack:
backend + gpu_server worker + fake ComfyUI, all real processes on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.support.fake_telegram import FakeTelegram
from tests.support.procs import Service
from tests.support.stack import API_KEY, Stack, run_stack
from tests.telegram_bot.conftest import ADMIN_ID, Chat, running_bot

pytestmark = pytest.mark.e2e


def gradient_jpeg() -> bytes:
    """A blue-green gradient photo (a flat skin-like colour would trip the nudity screen)."""
    image = Image.new("RGB", (320, 256))
    image.putdata([(0, (x * 255) // 320, 200) for _ in range(256) for x in range(320)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=95)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    """An image from bytes, loaded."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def same_picture(a: Image.Image, b: Image.Image) -> bool:
    """True when two encodings show the same picture (JPEG loss allowed)."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return a.size == b.size and max(ImageStat.Stat(diff).mean) < 8


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API of this module's own: its bots must not share one with the session's."""
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Fake ComfyUI, backend and one worker."""
    base = tmp_path_factory.mktemp("stack")
    with run_stack(base) as running:
        yield running


@pytest.fixture(scope="module")
def stack_bot(
    telegram: FakeTelegram, stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The bot process pointed at the real backend."""
    log_dir = tmp_path_factory.mktemp("stack-bot")
    with running_bot(telegram, stack.backend_url, log_dir, BACKEND_API_KEY=API_KEY) as svc:
        yield svc
        assert "Traceback" not in svc.log(), svc.log()


SAFE_SEED = "7"  # the demo engine's pattern for some seeds trips the real nudity screen


@pytest.fixture
def user(telegram: FakeTelegram, stack_bot: Service, uid: int) -> Chat:
    """A fresh user of the bot on the real backend, with a fixed seed set through /settings."""
    chat = Chat(telegram, uid)
    seeds = chat.press(chat.say("/settings", contains="Settings"), "Seed")
    chat.press(seeds, "Fixed", contains="seed")
    assert f"Seed: {SAFE_SEED}" in chat.say(SAFE_SEED, contains="Settings").text
    return chat


def gradient_png(blue: int) -> bytes:
    """A gradient picture the real screens pass, tinted by blue."""
    size = (1024, 1024)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    image = Image.merge("RGB", (Image.new("L", size, 0), green, Image.new("L", size, blue)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def set_faults(stack: Stack, **faults: object) -> None:
    """Change the fake ComfyUI's faults (step_time makes jobs slow)."""
    httpx.post(f"{stack.comfy_url}/fake/faults", json=faults, timeout=5).raise_for_status()


def test_free_generation_through_the_real_stack(user: Chat) -> None:
    """Description → style → progress edits from the real event stream → the real image as a
    photo; Original file is the same picture as an uncompressed PNG."""
    styles = user.say("a lighthouse at dusk, oil painting")
    assert sorted(b["text"] for b in styles.buttons()) == ["Anime", "ChatGPT", "Lux", "Realism"]
    since = user.tg.mark()
    user.tg.press(user.uid, styles, "Realism")
    photo = user.wait("sendPhoto", since=since, timeout=60)
    picture = decoded(photo.upload("photo"))
    assert picture.format == "JPEG"
    assert picture.size == (1024, 1024)
    texts = [c.text for c in user.tg.calls_to(user.uid, "editMessageText", since)]
    assert any(t.startswith("🎨 Drawing: step ") for t in texts), texts
    assert texts[-1] == "✅ Done."
    document = user.press(photo, "Original file", method="sendDocument", timeout=30)
    original = decoded(document.upload("document"))
    assert original.format == "PNG"
    assert same_picture(original, picture)


def test_variations_come_back_as_a_media_group_of_four(user: Chat, stack: Stack) -> None:
    """🎲 Variations runs one batch-of-4 job on the worker and sends 4 distinct photos."""
    styles = user.say("a paper boat on a pond")
    photo = user.press(styles, "Lux", method="sendPhoto", timeout=60)
    for blue in (60, 120, 180, 240):  # Variations use random seeds: pin the engine's outputs
        answer = httpx.post(f"{stack.comfy_url}/fake/next_output", content=gradient_png(blue))
        answer.raise_for_status()
    group = user.press(photo, "Variations", method="sendMediaGroup", timeout=60)
    pictures = [decoded(data) for data in group.media_uploads()]
    assert len(pictures) == 4
    assert all(p.format == "JPEG" for p in pictures)
    assert len({p.tobytes() for p in pictures}) == 4


def test_restyle_and_upscale_through_the_real_stack(user: Chat) -> None:
    """A photo is restyled into a photo, and upscaled 4x into a PNG document."""
    menu = user.say("/start")
    user.press(menu, "Restyle a photo")
    since = user.tg.mark()
    user.tg.send_photo(user.uid, gradient_jpeg())
    styles = user.wait("sendMessage", contains="Pick a style", since=since)
    restyled = user.press(styles, "Anime", method="sendPhoto")
    assert decoded(restyled.upload("photo")).format == "JPEG"

    menu = user.say("/start")
    user.press(menu, "Upscale")
    since = user.tg.mark()
    user.tg.send_photo(user.uid, gradient_jpeg())
    document = user.wait("sendDocument", since=since, timeout=60)
    upscaled = decoded(document.upload("document"))
    assert upscaled.format == "PNG"
    assert upscaled.size == (1280, 1024)


def test_policy_refusal_from_the_real_prompt_screen(user: Chat) -> None:
    """The backend's prompt screen refuses nudity under the sfw policy: category sentence only,
    no Retry button."""
    styles = user.say("nude woman on a beach")
    since = user.tg.mark()
    user.tg.press(user.uid, styles, "Realism")
    answer = user.wait("editMessageText", contains="nudity is not allowed", since=since)
    assert [b["text"] for b in answer.buttons()] == ["🏠 Menu"]


def test_cancel_mid_job_cancels_on_the_real_backend(user: Chat, stack: Stack) -> None:
    """/cancel during a slow job: the worker's job ends cancelled and no photo is sent."""
    set_faults(stack, step_time=0.3)
    try:
        styles = user.say("a slow sunrise over hills")
        since = user.tg.mark()
        user.tg.press(user.uid, styles, "Realism")
        user.wait("editMessageText", contains="step ", since=since, timeout=60)
        user.say("/cancel", contains="Cancelled. Back to the menu.")
        user.wait("editMessageText", contains="✖️ Cancelled.", since=since, timeout=30)
    finally:
        set_faults(stack, step_time=None)
    assert not user.tg.calls_to(user.uid, "sendPhoto", since)


def test_flood_control_with_the_real_stack(user: Chat) -> None:
    """A 429 on sendPhoto is waited out and the real image is still delivered."""
    styles = user.say("a kite over the sea")
    user.tg.fail_next("sendPhoto", retry_after=1)
    since = user.tg.mark()
    user.tg.press(user.uid, styles, "ChatGPT")
    delivered = user.tg.wait_for(
        lambda c: c.method == "sendPhoto" and c.chat_id == user.uid and c.result is not None,
        since=since,
        timeout=60,
    )
    assert len(user.tg.calls_to(user.uid, "sendPhoto", since)) == 2
    assert decoded(delivered.upload("photo")).size[0] > 0


def test_admin_stats_read_the_real_backend(telegram: FakeTelegram, stack_bot: Service) -> None:
    """/stats shows the real backend's status, today's job and failure counts and queue depth."""
    admin = Chat(telegram, ADMIN_ID)
    lines = admin.say("/stats", contains="Backend").text.splitlines()
    assert lines[0] == "📊 Backend: ok"
    assert int(lines[1].removeprefix("Jobs today: ")) >= 1
    assert int(lines[2].removeprefix("Failures today: ")) >= 0
    assert lines[3] == "Queue: 0"


def test_restart_mid_conversation_with_the_real_stack(
    stack: Stack, tmp_path: Path, uid: int
) -> None:
    """The bot is restarted between the description and the style button: the pressed button
    is still answered after the restart, and the user then gets a real image."""
    with FakeTelegram() as telegram:  # its own fake: the module's bot must not see these users
        user = Chat(telegram, uid)
        env = {"BACKEND_API_KEY": API_KEY}
        with running_bot(telegram, stack.backend_url, tmp_path, name="bot-a", **env):
            styles = user.say("a windmill before the restart")
        since = telegram.mark()
        telegram.press(uid, styles, "Realism")
        with running_bot(telegram, stack.backend_url, tmp_path, name="bot-b", **env) as svc:
            user.wait("sendMessage", contains="expired", since=since, timeout=30)
            seeds = user.press(user.say("/settings", contains="Settings"), "Seed")
            user.press(seeds, "Fixed", contains="seed")
            user.say(SAFE_SEED, contains="Settings")
            styles = user.say("a windmill after the restart")
            photo = user.press(styles, "Realism", method="sendPhoto", timeout=60)
            assert decoded(photo.upload("photo")).size == (1024, 1024)
            assert "Traceback" not in svc.log()
