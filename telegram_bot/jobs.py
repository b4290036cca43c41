"""Running one job for one user: submit, follow progress, deliver or explain the failure."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.chat_action import ChatActionSender

from telegram_bot import keyboards
from telegram_bot.backend_client import BackendClient, TaskEvent, TaskView
from telegram_bot.delivery import send_result
from telegram_bot.errors import BackendError, BackendUnavailable, InputRejected
from telegram_bot.prefs import ActiveJob, Job, PrefsStore
from telegram_bot.progress import ProgressMessage, running_text
from telegram_bot.texts import error_text, t

log = logging.getLogger(__name__)
POLL_INTERVAL_S = 1.0


def _raise_for_final(status: str, error_code: str | None, error: str | None) -> None:
    """Turn a failed/cancelled/expired outcome into a BackendError."""
    if status == "failed":
        raise BackendError(error_code or "internal_error", error or "")
    if status in {"cancelled", "expired"}:
        raise BackendError(status, status)


class JobRunner:
    """Runs jobs with at most one active job per user."""

    def __init__(
        self,
        backend: BackendClient,
        prefs: PrefsStore,
        *,
        edit_interval_s: float,
        timeout_s: float,
        max_image_bytes: int,
    ) -> None:
        self._backend = backend
        self._prefs = prefs
        self._interval = edit_interval_s
        self._timeout = timeout_s
        self._max_bytes = max_image_bytes
        self._active: dict[int, Job] = {}
        self._cancel_asked: set[int] = set()
        self._resuming: set[asyncio.Task[None]] = set()

    async def start(self, bot: Bot, job: Job) -> None:
        """Run job now unless the user already has one, or 18+ confirmation is pending."""
        if job.user_id in self._active:
            await self._tell_busy(bot, job)
            return
        self._active[job.user_id] = job  # claimed before any await: a double tap runs one job
        try:
            adult = await self._adult_ok(bot, job)
            if adult is not None:
                await self._run(bot, job, adult)
        finally:
            self._release(job)

    async def _adult_ok(self, bot: Bot, job: Job) -> bool | None:
        """The X-Adult-Confirmed value to send, or None when the job must not run (yet)."""
        try:
            catalog = await self._backend.catalog()
        except BackendError as exc:
            await self._fail_fresh(bot, job, exc)
            return None
        prefs = await self._prefs.get(job.user_id)
        if catalog.content_policy == "adult" and not prefs.adult_confirmed:
            markup = keyboards.adult(job.lang, job.rid)
            await bot.send_message(job.chat_id, t(job.lang, "adult_ask"), reply_markup=markup)
            return None
        return prefs.adult_confirmed

    def _release(self, job: Job) -> None:
        """Free the user's slot if job still holds it (a new job may hold it already)."""
        if self._active.get(job.user_id) is job:
            del self._active[job.user_id]
            self._cancel_asked.discard(job.user_id)

    async def cancel(self, user_id: int) -> bool:
        """Cancel the user's job on the backend; False when nothing was running."""
        if user_id not in self._active:
            return False
        task_id = self._active[user_id].request.task_id
        if task_id is None:
            self._cancel_asked.add(user_id)  # cancelled as soon as the backend names the task
            return True
        try:
            await self._backend.cancel(user_id, task_id)
        except BackendError as exc:
            log.info("cancel of %s answered %s", task_id, exc.error_code)
        return True

    async def _run(self, bot: Bot, job: Job, adult: bool) -> None:
        first = await bot.send_message(job.chat_id, t(job.lang, "generating"))
        status = ProgressMessage.of(bot, first, self._interval)
        await self._complete(bot, job, status, self._submit(bot, job, status, adult))

    async def _complete(
        self, bot: Bot, job: Job, status: ProgressMessage, outcome: Awaitable[TaskView]
    ) -> None:
        """Wait for the outcome, then deliver it or explain why not."""
        try:
            async with ChatActionSender.upload_photo(chat_id=job.chat_id, bot=bot):
                view = await outcome
                # the slot is free once the backend is done: buttons under the result work at once
                self._release(job)
                await status.show(t(job.lang, "done"), force=True)
                await send_result(bot, self._backend, job, view)
        except BackendError as exc:
            await self._explain(status, job, exc)
        except InputRejected as exc:
            await status.show(t(job.lang, exc.reason, limit=self._max_bytes // 2**20), force=True)
        # not in a finally: a job cut short by a shutdown stays tracked and is resumed
        await self._prefs.untrack(job.user_id, job.request.task_id)

    async def _submit(self, bot: Bot, job: Job, status: ProgressMessage, adult: bool) -> TaskView:
        image = await self._image_b64(bot, job.request.file_id) if job.request.file_id else None
        task = await self._backend.create_task(job.user_id, job.request.body(image), adult=adult)
        job.request.task_id = task.task_id
        await self._prefs.remember(job.user_id, job.request, job.rid)
        active = ActiveJob(
            user_id=job.user_id,
            chat_id=job.chat_id,
            lang=job.lang,
            rid=job.rid,
            task_id=task.task_id,
            message_id=status.message_id,
        )
        await self._prefs.track(active)
        if job.user_id in self._cancel_asked:
            await self.cancel(job.user_id)
        return await self._outcome(job, task.task_id, status)

    async def _outcome(self, job: Job, task_id: str, status: ProgressMessage) -> TaskView:
        try:
            return await asyncio.wait_for(self._follow(job, task_id, status), self._timeout)
        except TimeoutError:
            await self.cancel(job.user_id)
            raise BackendError("timeout", "the job took too long") from None

    async def resume_all(self, bot: Bot) -> None:
        """After a restart: follow and deliver every job the last run left undelivered."""
        for active in await self._prefs.tracked():
            task = asyncio.create_task(self._resume(bot, active))
            self._resuming.add(task)  # keep a reference until it finishes
            task.add_done_callback(self._resuming.discard)

    async def _resume(self, bot: Bot, active: ActiveJob) -> None:
        request = await self._prefs.recall(active.user_id, active.rid)
        if request is None or active.user_id in self._active:
            await self._prefs.untrack(active.user_id, active.task_id)
            return
        request.task_id = active.task_id
        job = Job(active.chat_id, active.user_id, active.lang, request, active.rid)
        self._active[job.user_id] = job
        status = ProgressMessage(bot, job.chat_id, active.message_id, "", self._interval)
        try:
            await self._complete(bot, job, status, self._outcome(job, active.task_id, status))
        finally:
            self._release(job)

    async def _image_b64(self, bot: Bot, file_id: str) -> str:
        try:
            file = await bot.get_file(file_id)
            if file.file_size and file.file_size > self._max_bytes:
                raise InputRejected("too_large")
            buffer = await bot.download_file(file.file_path or "")
        except TelegramAPIError as exc:
            raise BackendError("image_invalid", f"download failed: {exc}") from exc
        data = buffer.read() if buffer else b""
        if len(data) > self._max_bytes:
            raise InputRejected("too_large")
        return base64.b64encode(data).decode("ascii")

    async def _follow(self, job: Job, task_id: str, status: ProgressMessage) -> TaskView:
        """Follow the event stream; fall back to polling if it breaks."""
        try:
            async for event in self._backend.events(job.user_id, task_id):
                final = await self._on_event(job, event, status)
                if final is not None:
                    return final
        except BackendUnavailable as exc:
            log.info("event stream lost (%s), polling instead", exc.message)
        return await self._poll(job, task_id, status)

    async def _on_event(
        self, job: Job, event: TaskEvent, status: ProgressMessage
    ) -> TaskView | None:
        data = event.data
        if event.kind == "queued":
            await status.show(t(job.lang, "queued", position=data.get("position", "?")))
        elif event.kind == "running" and int(data.get("total", 0)) > 0:
            # a job that has started but not sampled yet reports 0/0: keep the last text
            await status.show(running_text(job.lang, int(data["step"]), int(data["total"])))
        elif event.kind == "done":
            return await self._backend.task(job.user_id, str(job.request.task_id))
        elif event.kind != "running":
            _raise_for_final(event.kind, data.get("error_code"), data.get("error"))
        return None

    async def _poll(self, job: Job, task_id: str, status: ProgressMessage) -> TaskView:
        while True:
            view = await self._backend.task(job.user_id, task_id)
            if view.status == "done":
                return view
            _raise_for_final(view.status, view.error_code, view.error)
            if view.status == "queued" and view.queue_position is not None:
                await status.show(t(job.lang, "queued", position=view.queue_position))
            elif view.progress and view.progress.total:
                await status.show(running_text(job.lang, view.progress.step, view.progress.total))
            await asyncio.sleep(POLL_INTERVAL_S)

    async def _explain(self, status: ProgressMessage, job: Job, exc: BackendError) -> None:
        if exc.error_code == "cancelled":
            await status.show(t(job.lang, "cancelled"), force=True)
            return
        if exc.error_code == "adult_confirmation_required":
            await self._reset_adult(job.user_id)
        text, retryable = error_text(job.lang, exc.error_code, exc.retry_after)
        markup = keyboards.retry(job.lang, job.rid if retryable else None)
        await status.show(text, force=True, markup=markup)

    async def _fail_fresh(self, bot: Bot, job: Job, exc: BackendError) -> None:
        text, retryable = error_text(job.lang, exc.error_code, exc.retry_after)
        markup = keyboards.retry(job.lang, job.rid if retryable else None)
        await bot.send_message(job.chat_id, text, reply_markup=markup)

    async def _reset_adult(self, user_id: int) -> None:
        prefs = await self._prefs.get(user_id)
        await self._prefs.save(user_id, prefs.model_copy(update={"adult_confirmed": False}))

    async def _tell_busy(self, bot: Bot, job: Job) -> None:
        where = t(job.lang, "where_starting")
        running = self._active.get(job.user_id)
        task_id = running.request.task_id if running else None
        if task_id:
            try:
                view = await self._backend.task(job.user_id, task_id)
                where = _where(job.lang, view) or where
            except BackendError:
                pass
        await bot.send_message(job.chat_id, t(job.lang, "busy_running", where=where))


def _where(lang: str, view: TaskView) -> str | None:
    if view.status == "queued" and view.queue_position is not None:
        return t(lang, "where_queued", position=view.queue_position)
    if view.progress and view.progress.total:
        return t(lang, "where_running", step=view.progress.step, total=view.progress.total)
    return None
