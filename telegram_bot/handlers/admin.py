"""Admin commands: /stats and /broadcast, for the ids in ADMIN_USER_IDS only."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from telegram_bot.backend_client import BackendClient
from telegram_bot.errors import BackendError
from telegram_bot.prefs import PrefsStore
from telegram_bot.settings import BotSettings
from telegram_bot.texts import error_text, t

log = logging.getLogger(__name__)
BROADCAST_PAUSE_S = 0.05  # stays under Telegram's ~30 messages/second


def _is_admin(message: Message, settings: BotSettings) -> bool:
    return message.from_user is not None and message.from_user.id in settings.admin_user_ids


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "—" if value is None else str(value)


async def cmd_stats(
    message: Message, settings: BotSettings, backend: BackendClient, lang: str
) -> None:
    """/stats: jobs today, failures today and queue depth from the backend's /health."""
    if not _is_admin(message, settings):
        await message.answer(t(lang, "not_admin"))
        return
    try:
        health = await backend.health()
    except BackendError as exc:
        await message.answer(error_text(lang, exc.error_code)[0])
        return
    text = t(
        lang,
        "stats",
        status=_show(health.get("status")),
        jobs=_show(health.get("jobs_today")),
        failures=_show(health.get("failures_today")),
        queue=_show(health.get("queue_depth")),
    )
    await message.answer(text)


async def cmd_broadcast(
    message: Message,
    *,
    command: CommandObject,
    settings: BotSettings,
    prefs: PrefsStore,
    bot: Bot,
    lang: str,
) -> None:
    """/broadcast <text>: send text to every user who talked to the bot in private."""
    if not _is_admin(message, settings):
        await message.answer(t(lang, "not_admin"))
        return
    if not command.args:
        await message.answer(t(lang, "broadcast_usage"))
        return
    users = await prefs.users()
    sent = 0
    for user_id in users:
        try:
            await bot.send_message(user_id, command.args)
            sent += 1
        except TelegramAPIError as exc:  # blocked the bot, deleted account...
            log.info("broadcast to %s failed: %s", user_id, exc)
        await asyncio.sleep(BROADCAST_PAUSE_S)
    await message.answer(t(lang, "broadcast_done", sent=sent, total=len(users)))


def register(router: Router) -> None:
    """Admin commands."""
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_broadcast, Command("broadcast"))
