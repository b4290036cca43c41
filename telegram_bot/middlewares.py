"""Outer middlewares (who may talk to the bot, language, conversation timeout) and flood control."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.fsm.context import FSMContext
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User

from telegram_bot.prefs import PrefsStore
from telegram_bot.settings import BotSettings
from telegram_bot.texts import lang_of, t

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
STAMP = "_touched_at"


async def addressed(message: Message, bot: Bot) -> bool:
    """In a group: a command, a mention of the bot, or a reply to one of its messages."""
    me = await bot.me()
    text = message.text or message.caption or ""
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == me.id:
        return True
    return bool(me.username) and f"@{me.username}".lower() in text.lower()


class GateMiddleware(BaseMiddleware):
    """Drops what the bot must not answer; adds `lang` and `user_prefs`; expires idle talks."""

    def __init__(self, settings: BotSettings, prefs: PrefsStore) -> None:
        self._settings = settings
        self._prefs = prefs

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Run handler only for users and chats the bot serves."""
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is None or user.is_bot:
            return None
        private = chat is None or chat.type == "private"
        if not private and not await self._group_ok(event, data["bot"]):
            return None
        prefs = await self._prefs.get(user.id)
        lang = prefs.lang or lang_of(user.language_code)
        allowed = self._settings.allowed_user_ids
        if allowed and user.id not in allowed and user.id not in self._settings.admin_user_ids:
            if isinstance(event, CallbackQuery):
                await event.answer(t(lang, "private_bot"), show_alert=True)
            elif private and isinstance(event, Message):
                await event.answer(t(lang, "private_bot"))
            return None
        if private:
            await self._prefs.add_user(user.id)
        data["user_prefs"], data["lang"] = prefs, lang
        state: FSMContext = data["state"]
        if await self._expired(state):
            await state.clear()
            data["raw_state"] = None  # state filters read this snapshot, taken before us
        result = await handler(event, data)
        if await state.get_state() is not None:
            await state.update_data({STAMP: time.time()})
        return result

    async def _group_ok(self, event: TelegramObject, bot: Bot) -> bool:
        if self._settings.group_mode == "private_only":
            return False
        return not isinstance(event, Message) or await addressed(event, bot)

    async def _expired(self, state: FSMContext) -> bool:
        """True for a conversation idle longer than CONVERSATION_TIMEOUT."""
        if await state.get_state() is None:
            return False
        touched = (await state.get_data()).get(STAMP)
        timeout = self._settings.conversation_timeout
        return isinstance(touched, float) and time.time() - touched > timeout


class RetryAfterMiddleware(BaseRequestMiddleware):
    """Honours Telegram's 429 retry_after: wait and send again, a bounded number of times."""

    def __init__(self, max_retries: int, max_wait_s: float) -> None:
        self._max_retries = max_retries
        self._max_wait = max_wait_s

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Send method; on 429 sleep retry_after seconds and try again."""
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                attempt += 1
                if attempt > self._max_retries or exc.retry_after > self._max_wait:
                    raise
                log.warning(
                    "flood control on %s: waiting %ss", method.__api_method__, exc.retry_after
                )
                await asyncio.sleep(exc.retry_after)
