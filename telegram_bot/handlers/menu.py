"""Main menu, help, language and /cancel: reachable from every state."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from telegram_bot import keyboards
from telegram_bot.handlers.common import chat_of, sender_of
from telegram_bot.jobs import JobRunner
from telegram_bot.keyboards import MenuCb
from telegram_bot.prefs import PrefsStore, UserPrefs
from telegram_bot.texts import t


async def cmd_start(message: Message, state: FSMContext, lang: str) -> None:
    """/start: leave any conversation and show the menu."""
    await state.clear()
    await message.answer(t(lang, "menu"), reply_markup=keyboards.menu(lang))


async def cmd_help(message: Message, lang: str) -> None:
    """/help."""
    await message.answer(t(lang, "help"), reply_markup=keyboards.home(lang))


async def cmd_language(
    message: Message, prefs: PrefsStore, user_prefs: UserPrefs, lang: str
) -> None:
    """/language: switch between Russian and English."""
    new = "en" if lang == "ru" else "ru"
    await prefs.save(sender_of(message), user_prefs.model_copy(update={"lang": new}))
    await message.answer(t(new, "language_set"), reply_markup=keyboards.menu(new))


async def cmd_cancel(message: Message, state: FSMContext, runner: JobRunner, lang: str) -> None:
    """/cancel: leave the conversation and cancel the running job, if any."""
    await state.clear()
    cancelled = await runner.cancel(sender_of(message))
    text = t(lang, "cancel_done" if cancelled else "nothing_to_cancel")
    await message.answer(text, reply_markup=keyboards.menu(lang))


async def on_menu(query: CallbackQuery, bot: Bot, state: FSMContext, lang: str) -> None:
    """🏠 Menu button."""
    await query.answer()
    await state.clear()
    await bot.send_message(chat_of(query), t(lang, "menu"), reply_markup=keyboards.menu(lang))


async def on_help(query: CallbackQuery, bot: Bot, lang: str) -> None:
    """❓ Help button."""
    await query.answer()
    await bot.send_message(chat_of(query), t(lang, "help"), reply_markup=keyboards.home(lang))


def register(router: Router) -> None:
    """Commands and menu buttons that work in any state."""
    router.message.register(cmd_cancel, Command("cancel"))
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_start, Command("menu"))
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_language, Command("language"))
    router.callback_query.register(on_menu, MenuCb.filter(F.action == "menu"))
    router.callback_query.register(on_help, MenuCb.filter(F.action == "help"))
