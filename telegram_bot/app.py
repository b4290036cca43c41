"""Building the bot, its dispatcher and its resources, and running it (polling or webhook)."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import ErrorEvent
from aiohttp import web

from telegram_bot.backend_client import BackendClient
from telegram_bot.handlers import build_conversation
from telegram_bot.handlers.common import AlbumGate
from telegram_bot.jobs import JobRunner
from telegram_bot.middlewares import GateMiddleware, RetryAfterMiddleware
from telegram_bot.prefs import PrefsStore
from telegram_bot.settings import BotSettings

log = logging.getLogger(__name__)


def build_storage(settings: BotSettings) -> BaseStorage:
    """FSM storage: Redis when REDIS_URL is set (survives restarts), memory otherwise."""
    if settings.redis_url:
        from aiogram.fsm.storage.base import DefaultKeyBuilder  # noqa: PLC0415
        from aiogram.fsm.storage.redis import RedisStorage  # noqa: PLC0415 - redis is optional

        # prefs live under their own `destiny` keys; the default builder refuses any destiny
        keys = DefaultKeyBuilder(with_destiny=True)
        return RedisStorage.from_url(settings.redis_url, key_builder=keys)
    return MemoryStorage()


def build_bot(settings: BotSettings) -> Bot:
    """The Bot with flood control, pointed at TELEGRAM_API_URL when set."""
    api = (
        TelegramAPIServer.from_base(settings.telegram_api_url)
        if settings.telegram_api_url
        else None
    )
    session = AiohttpSession(api=api) if api else AiohttpSession()
    session.middleware(RetryAfterMiddleware(settings.flood_max_retries, settings.flood_max_wait_s))
    return Bot(settings.telegram_bot_token.get_secret_value(), session=session)


async def on_error(event: ErrorEvent) -> bool:
    """Log a handler failure; the update is dropped and the bot keeps serving others."""
    log.error(
        "update %s failed: %r", event.update.update_id, event.exception, exc_info=event.exception
    )
    return True


def build_dispatcher(
    settings: BotSettings, backend: BackendClient, storage: BaseStorage, bot_id: int
) -> Dispatcher:
    """The dispatcher with the conversation, its middlewares and injected dependencies."""
    prefs = PrefsStore(storage, bot_id)
    runner = JobRunner(
        backend,
        prefs,
        edit_interval_s=settings.progress_edit_interval,
        timeout_s=settings.job_timeout_s,
        max_image_bytes=settings.max_image_bytes,
    )
    dp = Dispatcher(storage=storage)
    dp.workflow_data.update(
        settings=settings, backend=backend, prefs=prefs, runner=runner, albums=AlbumGate()
    )
    gate = GateMiddleware(settings, prefs)
    dp.message.outer_middleware(gate)
    dp.callback_query.outer_middleware(gate)
    dp.include_router(build_conversation())
    dp.errors.register(on_error)
    dp.startup.register(runner.resume_all)
    return dp


async def run(settings: BotSettings) -> None:
    """Start the bot with all its resources; returns when it is stopped."""
    async with AsyncExitStack() as stack:
        http = BackendClient.build_http(
            settings.backend_api_url,
            settings.backend_api_key.get_secret_value(),
            settings.backend_timeout_s,
        )
        stack.push_async_callback(http.aclose)
        storage = build_storage(settings)
        stack.push_async_callback(storage.close)
        bot = build_bot(settings)
        stack.push_async_callback(bot.session.close)
        dp = build_dispatcher(settings, BackendClient(http), storage, bot.id)
        if settings.webhook_url:
            await _run_webhook(settings, bot, dp)
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            await dp.start_polling(
                bot,
                polling_timeout=settings.polling_timeout,
                handle_as_tasks=True,
                allowed_updates=dp.resolve_used_update_types(),
                close_bot_session=False,
            )


async def _run_webhook(settings: BotSettings, bot: Bot, dp: Dispatcher) -> None:
    from aiogram.webhook.aiohttp_server import (  # noqa: PLC0415 - only webhook mode needs it
        SimpleRequestHandler,
        setup_application,
    )

    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = web.Application()
    handler: Any = SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret)
    handler.register(app, path=settings.webhook_path)
    setup_application(app, dp, bot=bot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    # register only once the site listens, so Telegram's first delivery finds it
    await bot.set_webhook(
        str(settings.webhook_url).rstrip("/") + settings.webhook_path,
        secret_token=secret,
        allowed_updates=dp.resolve_used_update_types(),
    )
    log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await _forever()
    finally:
        await runner.cleanup()


async def _forever() -> None:
    await asyncio.Event().wait()
