"""Settings: default style, output format, image size from the style's list, seed."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient, Catalog
from telegram_bot.errors import BackendError
from telegram_bot.handlers.common import chat_of, sender_of
from telegram_bot.handlers.states import Setup
from telegram_bot.keyboards import MenuCb, SetCb
from telegram_bot.prefs import MAX_SEED, PrefsStore, UserPrefs
from telegram_bot.texts import error_text, t

FORMATS = ("png", "webp", "jpeg")


def _summary(lang: str, p: UserPrefs, catalog: Catalog) -> str:
    info = catalog.style(p.style) or (catalog.styles[0] if catalog.styles else None)
    size = f"{p.size[0]} x {p.size[1]}" if p.size else t(lang, "size_auto")
    seed = t(lang, "seed_random") if p.seed < 0 else str(p.seed)
    return t(
        lang,
        "settings",
        style=info.title if info else "—",
        format=p.output_format,
        size=size,
        seed=seed,
    )


async def _catalog(bot: Bot, chat_id: int, lang: str, backend: BackendClient) -> Catalog | None:
    """The backend's catalog, or None after telling the user why it is not there."""
    try:
        return await backend.catalog()
    except BackendError as exc:
        await bot.send_message(chat_id, error_text(lang, exc.error_code)[0])
        return None


async def _show(bot: Bot, chat_id: int, lang: str, p: UserPrefs, backend: BackendClient) -> None:
    catalog = await _catalog(bot, chat_id, lang, backend)
    if catalog is None:
        return
    await bot.send_message(
        chat_id, _summary(lang, p, catalog), reply_markup=keyboards.settings(lang)
    )


async def cmd_settings(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    user_prefs: UserPrefs,
    bot: Bot,
    backend: BackendClient,
) -> None:
    """/settings."""
    await state.clear()
    await _show(bot, message.chat.id, lang, user_prefs, backend)


async def on_settings(
    query: CallbackQuery,
    *,
    state: FSMContext,
    lang: str,
    user_prefs: UserPrefs,
    bot: Bot,
    backend: BackendClient,
) -> None:
    """⚙️ button."""
    await query.answer()
    await state.clear()
    await _show(bot, chat_of(query), lang, user_prefs, backend)


def _picker(lang: str, what: str, p: UserPrefs, catalog: Catalog) -> InlineKeyboardMarkup:
    if what == "style":
        options = [(s.title, s.id) for s in catalog.styles]
    elif what == "format":
        options = [(f.upper(), f) for f in FORMATS]
    elif what == "size":
        info = catalog.style(p.style) or catalog.styles[0]
        options = [(f"{w} x {h}", f"{w}x{h}") for w, h in info.resolutions]
    else:
        options = [(t(lang, "btn_seed_random"), "random"), (t(lang, "btn_seed_fixed"), "fixed")]
    return keyboards.choices(lang, what, options)


def _apply(p: UserPrefs, what: str, value: str, catalog: Catalog) -> UserPrefs:
    """The settings after choosing value for what (unknown values change nothing)."""
    style = catalog.style(value)
    if what == "style" and style is not None:
        keep = p.size if p.size in {tuple(r) for r in style.resolutions} else None
        return p.model_copy(update={"style": value, "size": keep})
    if what == "format" and value in FORMATS:
        return p.model_copy(update={"output_format": value})
    if what == "size" and "x" in value:
        width, _, height = value.partition("x")
        if width.isdigit() and height.isdigit():
            return p.model_copy(update={"size": (int(width), int(height))})
    if what == "seed" and value == "random":
        return p.model_copy(update={"seed": -1})
    return p


async def on_set(
    query: CallbackQuery,
    *,
    callback_data: SetCb,
    state: FSMContext,
    lang: str,
    bot: Bot,
    user_prefs: UserPrefs,
    prefs: PrefsStore,
    backend: BackendClient,
) -> None:
    """A settings button: open a picker, or store the picked value."""
    await query.answer()
    chat_id, what, value = chat_of(query), callback_data.what, callback_data.value
    catalog = await _catalog(bot, chat_id, lang, backend)
    if catalog is None:
        return
    if what == "seed" and value == "fixed":
        await state.set_state(Setup.seed)
        await bot.send_message(chat_id, t(lang, "ask_seed"))
    elif not value and catalog.styles:
        text = t(lang, "pick_format") if what == "format" else t(lang, f"btn_set_{what}")
        await bot.send_message(chat_id, text, reply_markup=_picker(lang, what, user_prefs, catalog))
    else:
        updated = _apply(user_prefs, what, value, catalog)
        await prefs.save(query.from_user.id, updated)
        await bot.send_message(chat_id, t(lang, "saved"))
        await _show(bot, chat_id, lang, updated, backend)


async def got_seed(
    message: Message,
    *,
    state: FSMContext,
    lang: str,
    bot: Bot,
    user_prefs: UserPrefs,
    prefs: PrefsStore,
    backend: BackendClient,
) -> None:
    """A typed seed: store it if it is a whole number in range."""
    text = (message.text or "").strip()
    if not text.isdigit() or int(text) > MAX_SEED:
        await message.answer(t(lang, "bad_seed"))
        return
    await state.clear()
    updated = user_prefs.model_copy(update={"seed": int(text)})
    await prefs.save(sender_of(message), updated)
    await message.answer(t(lang, "saved"))
    await _show(bot, message.chat.id, lang, updated, backend)


def register(router: Router) -> None:
    """The settings screens."""
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(on_settings, MenuCb.filter(F.action == "settings"))
    router.callback_query.register(on_set, SetCb.filter())
    router.message.register(got_seed, StateFilter(Setup.seed))
