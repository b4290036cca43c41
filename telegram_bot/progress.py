"""One status message edited in place: throttled, and only when its text changes."""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message

from telegram_bot.texts import t

log = logging.getLogger(__name__)
BAR_WIDTH = 10


def bar(step: int, total: int) -> tuple[str, int]:
    """A text progress bar and the percentage for step/total."""
    fraction = min(1.0, max(0.0, step / total)) if total > 0 else 0.0
    filled = round(fraction * BAR_WIDTH)
    return "▓" * filled + "░" * (BAR_WIDTH - filled), round(fraction * 100)


def running_text(lang: str, step: int, total: int) -> str:
    """The 'step n/m' line with its bar."""
    progress_bar, percent = bar(step, total)
    return t(lang, "running", step=step, total=total, bar=progress_bar, percent=percent)


class ProgressMessage:
    """A message whose text follows a job; edits respect a minimum interval."""

    def __init__(
        self, bot: Bot, chat_id: int, message_id: int, text: str, interval_s: float
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self.message_id = message_id
        self._text = text
        self._interval = interval_s
        self._edited_at = 0.0

    @classmethod
    def of(cls, bot: Bot, message: Message, interval_s: float) -> ProgressMessage:
        """Follow a message the bot just sent."""
        return cls(bot, message.chat.id, message.message_id, message.text or "", interval_s)

    async def show(
        self, text: str, *, force: bool = False, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Edit the message to text, unless nothing changed or the last edit was too recent."""
        now = time.monotonic()
        if text == self._text and markup is None:
            return
        if not force and now - self._edited_at < self._interval:
            return
        try:
            await self._bot.edit_message_text(
                text=text, chat_id=self._chat_id, message_id=self.message_id, reply_markup=markup
            )
        except TelegramBadRequest as exc:
            # an identical edit is not an error for us; anything else is worth a log line
            if "not modified" not in exc.message:
                log.warning("progress edit refused: %s", exc.message)
        except TelegramAPIError as exc:
            log.warning("progress edit failed: %s", exc)
        self._text, self._edited_at = text, time.monotonic()
