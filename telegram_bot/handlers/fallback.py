"""Whatever no step expects: shortcuts for text and photos, a polite answer for the rest."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient
from telegram_bot.handlers.common import AlbumGate, chat_of
from telegram_bot.handlers.free import got_prompt
from telegram_bot.handlers.restyle import take_restyle_photo
from telegram_bot.handlers.states import Free, Restyle
from telegram_bot.settings import BotSettings
from telegram_bot.texts import t


async def text_as_prompt(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    backend: BackendClient,
    settings: BotSettings,
    bot: Bot,
) -> None:
    """Text outside a conversation is taken as a description for free generation."""
    await state.set_state(Free.prompt)
    await got_prompt(message, state=state, lang=lang, backend=backend, settings=settings, bot=bot)


async def photo_to_restyle(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    settings: BotSettings,
    albums: AlbumGate,
    backend: BackendClient,
) -> None:
    """A photo outside a conversation starts a restyle."""
    if not albums.first(message):
        return  # the rest of an album whose first photo was already taken
    await state.set_state(Restyle.photo)
    await take_restyle_photo(message, state=state, lang=lang, settings=settings, backend=backend)


async def unsupported(message: Message, lang: str) -> None:
    """Stickers, voice, video, locations, unknown commands..."""
    await message.answer(t(lang, "unsupported"), reply_markup=keyboards.home(lang))


async def stale_button(query: CallbackQuery, state: FSMContext, lang: str, bot: Bot) -> None:
    """A button from a conversation that is over (finished, timed out, or before a restart)."""
    await query.answer()
    await state.clear()
    chat_id = chat_of(query)
    await bot.send_message(
        chat_id, t(lang, "expired_conversation"), reply_markup=keyboards.menu(lang)
    )


def register(router: Router) -> None:
    """Must be registered last: it catches everything the steps did not."""
    is_text = F.text & ~F.text.startswith("/")
    router.message.register(text_as_prompt, StateFilter(None), is_text)
    is_image = F.photo | (F.document & F.document.mime_type.startswith("image/"))
    router.message.register(photo_to_restyle, StateFilter(None), is_image)
    router.message.register(unsupported)
    router.callback_query.register(stale_button)
