"""Helpers shared by the handlers: who and where, starting a job, the style step, image checks."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient
from telegram_bot.errors import BackendError, InputRejected
from telegram_bot.jobs import JobRunner
from telegram_bot.keyboards import StyleCb
from telegram_bot.prefs import Job, JobRequest, Mode, PrefsStore, UserPrefs
from telegram_bot.texts import error_text, t

ALBUM_MEMORY = 256
StyleStep = Callable[..., Awaitable[None]]


def chat_of(query: CallbackQuery) -> int:
    """The chat a button was pressed in."""
    return query.message.chat.id if query.message else query.from_user.id


def sender_of(message: Message) -> int:
    """The user who sent a message (the chat itself when Telegram names no sender)."""
    return message.from_user.id if message.from_user else message.chat.id


def origin(event: Message | CallbackQuery) -> tuple[int, int]:
    """The chat and the user behind a message or a button press."""
    if isinstance(event, CallbackQuery):
        return chat_of(event), event.from_user.id
    return event.chat.id, sender_of(event)


async def launch(
    event: Message | CallbackQuery,
    *,
    bot: Bot,
    runner: JobRunner,
    prefs: PrefsStore,
    lang: str,
    request: JobRequest,
    rid: str | None = None,
) -> None:
    """Remember the request (for Again/Retry) and run it for whoever sent event, in its chat."""
    chat_id, user_id = origin(event)
    rid = await prefs.remember(user_id, request, rid)
    await runner.start(bot, Job(chat_id, user_id, lang, request, rid))


async def build_request(
    backend: BackendClient, user_prefs: UserPrefs, mode: Mode, style: str | None, **fields: str
) -> JobRequest:
    """A request that follows the user's settings (size only when the style offers it)."""
    size = user_prefs.size
    if size is not None and mode != "upscale":
        info = (await backend.catalog()).style(style)
        size = size if info and tuple(size) in {tuple(r) for r in info.resolutions} else None
    return JobRequest(
        mode=mode,
        style=style,
        seed=user_prefs.seed,
        size=size,
        output_format=user_prefs.output_format,
        **fields,
    )


def style_step(mode: Mode, kept: str) -> StyleStep:
    """The handler for the style button that ends a conversation which kept its input as kept."""

    async def got_style(
        query: CallbackQuery,
        *,
        callback_data: StyleCb,
        state: FSMContext,
        lang: str,
        bot: Bot,
        backend: BackendClient,
        runner: JobRunner,
        prefs: PrefsStore,
        user_prefs: UserPrefs,
    ) -> None:
        """A style was picked: end the conversation and run the job on what it kept."""
        await query.answer()
        value = str((await state.get_data()).get(kept, ""))
        await state.clear()
        request = await build_request(
            backend, user_prefs, mode, callback_data.style, **{kept: value}
        )
        await launch(query, bot=bot, runner=runner, prefs=prefs, lang=lang, request=request)

    return got_style


async def ask_style(message: Message, backend: BackendClient, lang: str) -> None:
    """Offer the backend's styles as buttons (or explain why we cannot)."""
    try:
        catalog = await backend.catalog()
    except BackendError as exc:
        text, _ = error_text(lang, exc.error_code, exc.retry_after)
        await message.answer(text, reply_markup=keyboards.home(lang))
        return
    await message.answer(t(lang, "ask_style"), reply_markup=keyboards.styles(catalog.styles))


def image_file_id(message: Message, max_bytes: int) -> str:
    """The file id of the image in a photo or image-document message, or InputRejected."""
    if message.photo:
        photo = message.photo[-1]  # Telegram lists sizes smallest first
        size, file_id = photo.file_size, photo.file_id
    elif message.document:
        mime = message.document.mime_type or ""
        if not mime.startswith("image/"):
            raise InputRejected("not_image")
        size, file_id = message.document.file_size, message.document.file_id
    else:
        raise InputRejected("need_photo")
    if size and size > max_bytes:
        raise InputRejected("too_large")
    return file_id


class AlbumGate:
    """Lets the first item of an album through and swallows the rest."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first(self, message: Message) -> bool:
        """True for a single photo or the first one seen of its album."""
        group = message.media_group_id
        if group is None:
            return True
        if group in self._seen:
            return False
        self._seen[group] = time.monotonic()
        while len(self._seen) > ALBUM_MEMORY:
            self._seen.popitem(last=False)
        return True
