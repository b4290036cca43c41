"""Restyle and upscale: ask for one photo; restyle then asks for a style."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot.backend_client import BackendClient
from telegram_bot.errors import InputRejected
from telegram_bot.handlers.common import (
    AlbumGate,
    ask_style,
    build_request,
    chat_of,
    image_file_id,
    launch,
    style_step,
)
from telegram_bot.handlers.states import Restyle, Upscale
from telegram_bot.jobs import JobRunner
from telegram_bot.keyboards import MenuCb, StyleCb
from telegram_bot.prefs import PrefsStore, UserPrefs
from telegram_bot.settings import BotSettings
from telegram_bot.texts import t


async def ask_restyle_photo(query: CallbackQuery, bot: Bot, state: FSMContext, lang: str) -> None:
    """🖼 button: ask for a photo."""
    await query.answer()
    await state.set_state(Restyle.photo)
    await bot.send_message(chat_of(query), t(lang, "ask_photo_restyle"))


async def ask_upscale_photo(query: CallbackQuery, bot: Bot, state: FSMContext, lang: str) -> None:
    """🔍 button: ask for a photo."""
    await query.answer()
    await state.set_state(Upscale.photo)
    await bot.send_message(chat_of(query), t(lang, "ask_photo_upscale"))


async def _accepted(message: Message, lang: str, settings: BotSettings) -> str | None:
    """The photo's file id, or None after telling the user what is wrong with it."""
    try:
        file_id = image_file_id(message, settings.max_image_bytes)
    except InputRejected as exc:
        await message.answer(t(lang, exc.reason, limit=round(settings.max_image_size_mb)))
        return None
    if message.media_group_id:
        await message.answer(t(lang, "album"))
    return file_id


async def got_restyle_photo(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    settings: BotSettings,
    albums: AlbumGate,
    backend: BackendClient,
) -> None:
    """A photo to restyle (in this step, or any photo outside a conversation): offer the styles."""
    if not albums.first(message):
        return  # the rest of an album whose first photo was already taken
    await state.set_state(Restyle.photo)  # a photo outside a conversation enters this step
    file_id = await _accepted(message, lang, settings)
    if file_id is None:
        return
    await state.set_state(Restyle.style)
    await state.update_data(file_id=file_id)
    await ask_style(message, backend, lang)


got_restyle_style = style_step("restyle", "file_id")
"""A style for the photo: run the job on the kept photo."""


async def got_upscale_photo(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    settings: BotSettings,
    albums: AlbumGate,
    bot: Bot,
    backend: BackendClient,
    runner: JobRunner,
    prefs: PrefsStore,
    user_prefs: UserPrefs,
) -> None:
    """A photo to upscale: run the job."""
    file_id = await _accepted(message, lang, settings) if albums.first(message) else None
    if file_id is None:
        return
    await state.clear()
    request = await build_request(backend, user_prefs, "upscale", None, file_id=file_id)
    await launch(message, bot=bot, runner=runner, prefs=prefs, lang=lang, request=request)


async def need_photo(message: Message, lang: str) -> None:
    """Anything but a photo while one is expected."""
    await message.answer(t(lang, "need_photo"))


def register(router: Router) -> None:
    """The restyle and upscale steps."""
    is_image = F.photo | F.document
    router.callback_query.register(ask_restyle_photo, MenuCb.filter(F.action == "restyle"))
    router.callback_query.register(ask_upscale_photo, MenuCb.filter(F.action == "upscale"))
    router.message.register(got_restyle_photo, StateFilter(Restyle.photo), is_image)
    router.message.register(need_photo, StateFilter(Restyle.photo))
    router.callback_query.register(got_restyle_style, StateFilter(Restyle.style), StyleCb.filter())
    router.message.register(got_upscale_photo, StateFilter(Upscale.photo), is_image)
    router.message.register(need_photo, StateFilter(Upscale.photo))
