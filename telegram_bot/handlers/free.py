"""Free generation: ask for a description, then a style, then run the job."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot.backend_client import BackendClient
from telegram_bot.handlers.common import ask_style, chat_of, style_step
from telegram_bot.handlers.states import Free
from telegram_bot.keyboards import MenuCb, StyleCb
from telegram_bot.settings import BotSettings
from telegram_bot.texts import t


async def ask_prompt(
    query: CallbackQuery, bot: Bot, state: FSMContext, lang: str, settings: BotSettings
) -> None:
    """🎨 button: ask for the description."""
    await query.answer()
    await state.set_state(Free.prompt)
    text = t(lang, "ask_prompt", limit=settings.max_prompt_chars)
    await bot.send_message(chat_of(query), text)


async def got_prompt(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    backend: BackendClient,
    settings: BotSettings,
    bot: Bot,
) -> None:
    """A description (in this step, or any text outside a conversation): keep it, offer styles."""
    await state.set_state(Free.prompt)  # text outside a conversation enters this step
    prompt = strip_mention(message.text or "", (await bot.me()).username)
    if len(prompt) > settings.max_prompt_chars:
        await message.answer(t(lang, "prompt_too_long", limit=settings.max_prompt_chars))
        return
    await state.set_state(Free.style)
    await state.update_data(prompt=prompt)
    await ask_style(message, backend, lang)


async def need_text(message: Message, lang: str) -> None:
    """Anything but text while a description is expected."""
    await message.answer(t(lang, "need_text"))


got_style = style_step("free", "prompt")
"""A style was picked: run the job on the kept description."""


def strip_mention(text: str, username: str | None) -> str:
    """The text without the bot's @mention (how people address a bot in groups)."""
    if username:
        text = text.replace(f"@{username}", " ")
    return " ".join(text.split())


def register(router: Router) -> None:
    """The free-generation steps."""
    router.callback_query.register(ask_prompt, MenuCb.filter(F.action == "free"))
    is_prompt = F.text & ~F.text.startswith("/")
    router.message.register(got_prompt, StateFilter(Free.prompt), is_prompt)
    router.message.register(need_text, StateFilter(Free.prompt))
    router.callback_query.register(got_style, StateFilter(Free.style), StyleCb.filter())
