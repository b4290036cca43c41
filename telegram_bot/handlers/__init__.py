"""The conversation, assembled in one place; the diagram is in README.md beside this file."""

from __future__ import annotations

from aiogram import Router

from telegram_bot.handlers import admin, fallback, free, menu, preferences, restyle, results


def build_conversation() -> Router:
    """A fresh router holding every step; order matters: commands first, fallbacks last."""
    router = Router(name="conversation")
    for module in (menu, admin, preferences, results, free, restyle, fallback):
        module.register(router)
    return router
