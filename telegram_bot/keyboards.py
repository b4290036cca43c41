"""Inline keyboards and their callback data."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from telegram_bot.backend_client import StyleInfo
from telegram_bot.texts import t


class MenuCb(CallbackData, prefix="m"):
    """Main menu buttons: free, restyle, upscale, settings, help, menu."""

    action: str


class StyleCb(CallbackData, prefix="s"):
    """A style picked inside a conversation."""

    style: str


class ResultCb(CallbackData, prefix="r"):
    """Buttons under a result: again, var(iations), orig(inal file)."""

    action: str
    rid: str


class RetryCb(CallbackData, prefix="retry"):
    """Submit a remembered request again."""

    rid: str


class AdultCb(CallbackData, prefix="adult"):
    """The 18+ confirmation; rid is the request waiting for it."""

    ok: bool
    rid: str


class SetCb(CallbackData, prefix="set"):
    """Settings: what to change and the value (empty opens the picker)."""

    what: str
    value: str = ""


def _markup(builder: InlineKeyboardBuilder, *sizes: int) -> InlineKeyboardMarkup:
    builder.adjust(*sizes) if sizes else builder.adjust(1)
    return builder.as_markup()


def menu(lang: str) -> InlineKeyboardMarkup:
    """The main menu."""
    kb = InlineKeyboardBuilder()
    for action in ("free", "restyle", "upscale", "settings", "help"):
        kb.button(text=t(lang, f"btn_{action}"), callback_data=MenuCb(action=action))
    return _markup(kb, 1, 2, 2)


def home(lang: str) -> InlineKeyboardMarkup:
    """Just the 🏠 Menu button."""
    kb = InlineKeyboardBuilder()
    kb.button(text=t(lang, "btn_menu"), callback_data=MenuCb(action="menu"))
    return kb.as_markup()


def styles(styles_: list[StyleInfo]) -> InlineKeyboardMarkup:
    """One button per style the backend offers."""
    kb = InlineKeyboardBuilder()
    for style in styles_:
        kb.button(text=style.title, callback_data=StyleCb(style=style.id))
    return _markup(kb, 2)


def result(lang: str, rid: str, *, again: bool = True) -> InlineKeyboardMarkup:
    """Buttons under a finished image."""
    kb = InlineKeyboardBuilder()
    if again:
        kb.button(text=t(lang, "btn_again"), callback_data=ResultCb(action="again", rid=rid))
        kb.button(text=t(lang, "btn_variations"), callback_data=ResultCb(action="var", rid=rid))
    kb.button(text=t(lang, "btn_original"), callback_data=ResultCb(action="orig", rid=rid))
    kb.button(text=t(lang, "btn_menu"), callback_data=MenuCb(action="menu"))
    return _markup(kb, 2)


def retry(lang: str, rid: str | None) -> InlineKeyboardMarkup:
    """Retry (when it makes sense) and Menu."""
    kb = InlineKeyboardBuilder()
    if rid:
        kb.button(text=t(lang, "btn_retry"), callback_data=RetryCb(rid=rid))
    kb.button(text=t(lang, "btn_menu"), callback_data=MenuCb(action="menu"))
    return _markup(kb, 2)


def adult(lang: str, rid: str) -> InlineKeyboardMarkup:
    """The 18+ confirmation."""
    kb = InlineKeyboardBuilder()
    kb.button(text=t(lang, "btn_adult_yes"), callback_data=AdultCb(ok=True, rid=rid))
    kb.button(text=t(lang, "btn_adult_no"), callback_data=AdultCb(ok=False, rid=rid))
    return _markup(kb, 2)


def settings(lang: str) -> InlineKeyboardMarkup:
    """The settings screen."""
    kb = InlineKeyboardBuilder()
    for what in ("style", "format", "size", "seed"):
        kb.button(text=t(lang, f"btn_set_{what}"), callback_data=SetCb(what=what))
    kb.button(text=t(lang, "btn_menu"), callback_data=MenuCb(action="menu"))
    return _markup(kb, 2, 2, 1)


def choices(lang: str, what: str, options: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """A picker: (label, value) pairs for one setting, plus Back."""
    kb = InlineKeyboardBuilder()
    for label, value in options:
        kb.button(text=label, callback_data=SetCb(what=what, value=value))
    back = InlineKeyboardButton(
        text=t(lang, "btn_back"), callback_data=MenuCb(action="settings").pack()
    )
    kb.adjust(2).row(back)
    return kb.as_markup()
