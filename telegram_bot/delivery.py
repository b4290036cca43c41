"""Sending finished images back to the user: photo, media group or document."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup, InputMediaPhoto

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient, TaskView
from telegram_bot.prefs import Job
from telegram_bot.texts import t

log = logging.getLogger(__name__)
PHOTO_FORMAT = "jpeg"  # Telegram recompresses photos anyway; the original comes as a document


def _name(task_id: str, index: int, fmt: str) -> str:
    ext = "jpg" if fmt == "jpeg" else fmt
    return f"genpod-{task_id[:8]}-{index + 1}.{ext}"


async def send_result(bot: Bot, backend: BackendClient, job: Job, view: TaskView) -> None:
    """Send a finished task the way its mode calls for."""
    if job.request.mode == "upscale":
        await send_originals(
            bot,
            backend,
            chat_id=job.chat_id,
            user_id=job.user_id,
            view=view,
            fmt=job.request.output_format,
            markup=keyboards.home(job.lang),
        )
    elif view.image_count > 1:
        await _send_group(bot, backend, job, view)
    else:
        await _send_photo(bot, backend, job, view)


async def _send_photo(bot: Bot, backend: BackendClient, job: Job, view: TaskView) -> None:
    data = await backend.image(job.user_id, view.task_id, 0, PHOTO_FORMAT)
    upload = BufferedInputFile(data, _name(view.task_id, 0, PHOTO_FORMAT))
    caption = t(job.lang, "caption", style=job.request.style or "", seed=view.seed)
    markup = keyboards.result(job.lang, job.rid)
    try:
        await bot.send_photo(
            job.chat_id, upload, caption=caption, has_spoiler=view.adult, reply_markup=markup
        )
    except TelegramBadRequest as exc:
        # Telegram refuses photos with extreme sizes or aspect ratios; a document always works
        log.info("photo refused (%s), sending a document", exc.message)
        await bot.send_document(job.chat_id, upload, caption=caption, reply_markup=markup)


async def _send_group(bot: Bot, backend: BackendClient, job: Job, view: TaskView) -> None:
    media: list[Any] = []  # aiogram types this list differently across 3.x releases
    for index in range(view.image_count):
        data = await backend.image(job.user_id, view.task_id, index, PHOTO_FORMAT)
        upload = BufferedInputFile(data, _name(view.task_id, index, PHOTO_FORMAT))
        media.append(InputMediaPhoto(media=upload, has_spoiler=view.adult))
    await bot.send_media_group(job.chat_id, media=media)
    # a media group cannot carry buttons, so they follow in their own message
    markup = keyboards.result(job.lang, job.rid)
    await bot.send_message(job.chat_id, t(job.lang, "done"), reply_markup=markup)


async def send_originals(
    bot: Bot,
    backend: BackendClient,
    *,
    chat_id: int,
    user_id: int,
    view: TaskView,
    fmt: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Every image of a task as an uncompressed document in the user's format."""
    last = view.image_count - 1
    for index in range(view.image_count):
        data = await backend.image(user_id, view.task_id, index, fmt)
        upload = BufferedInputFile(data, _name(view.task_id, index, fmt))
        await bot.send_document(chat_id, upload, reply_markup=markup if index == last else None)
