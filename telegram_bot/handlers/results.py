"""Buttons under results and errors: Again, Variations, Original file, Retry, 18+."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient
from telegram_bot.delivery import send_originals
from telegram_bot.errors import BackendError
from telegram_bot.handlers.common import chat_of, launch
from telegram_bot.jobs import JobRunner
from telegram_bot.keyboards import AdultCb, ResultCb, RetryCb
from telegram_bot.prefs import JobRequest, PrefsStore, UserPrefs
from telegram_bot.texts import error_text, t


async def _recall(
    query: CallbackQuery,
    rid: str,
    *,
    lang: str,
    bot: Bot,
    prefs: PrefsStore,
    need_task: bool = False,
) -> JobRequest | None:
    """The request behind a button (with its backend task when need_task), or None
    after telling the user it is gone."""
    request = await prefs.recall(query.from_user.id, rid)
    if request is None or (need_task and request.task_id is None):
        await bot.send_message(chat_of(query), t(lang, "gone"), reply_markup=keyboards.menu(lang))
        return None
    return request


async def on_again(
    query: CallbackQuery,
    *,
    callback_data: ResultCb,
    lang: str,
    bot: Bot,
    runner: JobRunner,
    prefs: PrefsStore,
) -> None:
    """🔁 Again (same settings, new seed) and 🎲 Variations (one batch of 4)."""
    await query.answer()
    old = await _recall(query, callback_data.rid, lang=lang, bot=bot, prefs=prefs)
    if old is None:
        return
    batch = 4 if callback_data.action == "var" else 1
    request = old.model_copy(update={"seed": -1, "batch_size": batch, "task_id": None})
    await launch(query, bot=bot, runner=runner, prefs=prefs, lang=lang, request=request)


async def on_original(
    query: CallbackQuery,
    *,
    callback_data: ResultCb,
    lang: str,
    bot: Bot,
    prefs: PrefsStore,
    user_prefs: UserPrefs,
    backend: BackendClient,
) -> None:
    """📄 Original file: every image of that task as an uncompressed document."""
    await query.answer()
    chat_id, user_id = chat_of(query), query.from_user.id
    request = await _recall(
        query, callback_data.rid, lang=lang, bot=bot, prefs=prefs, need_task=True
    )
    if request is None or request.task_id is None:
        return
    try:
        view = await backend.task(user_id, request.task_id)
        await send_originals(
            bot,
            backend=backend,
            chat_id=chat_id,
            user_id=user_id,
            view=view,
            fmt=user_prefs.output_format,
        )
    except BackendError as exc:
        await bot.send_message(chat_id, error_text(lang, exc.error_code, exc.retry_after)[0])


async def on_retry(
    query: CallbackQuery,
    *,
    callback_data: RetryCb,
    lang: str,
    bot: Bot,
    runner: JobRunner,
    prefs: PrefsStore,
) -> None:
    """🔄 Retry: submit the same request again."""
    await query.answer()
    request = await _recall(query, callback_data.rid, lang=lang, bot=bot, prefs=prefs)
    if request is None:
        return
    request = request.model_copy(update={"task_id": None})
    await launch(
        query,
        bot=bot,
        runner=runner,
        prefs=prefs,
        lang=lang,
        request=request,
        rid=callback_data.rid,
    )


async def on_adult(
    query: CallbackQuery,
    *,
    callback_data: AdultCb,
    lang: str,
    bot: Bot,
    runner: JobRunner,
    prefs: PrefsStore,
    user_prefs: UserPrefs,
) -> None:
    """The 18+ answer: remember a yes and run the waiting request."""
    await query.answer()
    chat_id = chat_of(query)
    if not callback_data.ok:
        await bot.send_message(
            chat_id, t(lang, "adult_declined"), reply_markup=keyboards.menu(lang)
        )
        return
    await prefs.save(query.from_user.id, user_prefs.model_copy(update={"adult_confirmed": True}))
    await bot.send_message(chat_id, t(lang, "adult_thanks"))
    request = await prefs.recall(query.from_user.id, callback_data.rid)
    if request is not None:
        await launch(
            query,
            bot=bot,
            runner=runner,
            prefs=prefs,
            lang=lang,
            request=request,
            rid=callback_data.rid,
        )


def register(router: Router) -> None:
    """Result, retry and confirmation buttons (valid in any state)."""
    router.callback_query.register(on_original, ResultCb.filter(F.action == "orig"))
    router.callback_query.register(on_again, ResultCb.filter())
    router.callback_query.register(on_retry, RetryCb.filter())
    router.callback_query.register(on_adult, AdultCb.filter())
