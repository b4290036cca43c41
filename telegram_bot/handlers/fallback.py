"""Whatever no step expects: shortcuts for text and photos, a polite answer for the rest."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot import keyboards
from telegram_bot.handlers.common import chat_of
from telegram_bot.handlers.free import got_prompt
from telegram_bot.handlers.restyle import got_restyle_photo
from telegram_bot.texts import t


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
    router.message.register(got_prompt, StateFilter(None), is_text)  # a shortcut into the step
    is_image = F.photo | (F.document & F.document.mime_type.startswith("image/"))
    router.message.register(got_restyle_photo, StateFilter(None), is_image)  # likewise
    router.message.register(unsupported)
    router.callback_query.register(stale_button)
