"""A loopback fake of the Telegram Bot API for tests: real HTTP, real long polling.

Serves `/bot<token>/<method>` and `/file/bot<token>/<path>` from an aiohttp app running in its
own thread, so synchronous tests can drive a bot process: inject updates (messages, photos,
documents, callback queries, stickers, edits, group messages), then wait for the bot's calls.
Every call is recorded with its parameters and uploaded file bytes. Bodies may be
form-urlencoded, JSON or multipart (with aiogram's `attach://` parts). 429s can be injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

JSON_FIELDS = {
    "reply_markup",
    "media",
    "entities",
    "caption_entities",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "results",
    "commands",
}
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


@dataclass
class Call:
    """One request the bot made: method, decoded params, uploaded files by param/attach name."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        """The chat the call targets, as an int."""
        value = self.params.get("chat_id")
        return int(value) if value is not None and str(value).lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        """text or caption of the call."""
        return str(self.params.get("text") or self.params.get("caption") or "")

    def upload(self, name: str) -> bytes:
        """Bytes uploaded for a parameter (photo, document) or an attach:// name."""
        value = self.params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return self.files[value[len("attach://") :]]
        return self.files[name]

    def media_uploads(self) -> list[bytes]:
        """The bytes of each item of a sendMediaGroup, in order."""
        return [self.files[item["media"][len("attach://") :]] for item in self.params["media"]]

    def buttons(self) -> list[dict[str, Any]]:
        """Every inline button of the call's reply_markup, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, text_part: str) -> dict[str, Any]:
        """The first inline button whose text contains text_part."""
        for button in self.buttons():
            if text_part in button["text"]:
                return button
        raise KeyError(f"no button with {text_part!r} in {self.buttons()}")


class ThreadedServer:
    """An aiohttp app on 127.0.0.1 in its own thread and event loop."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> None:
        """Start serving; returns once the port is bound."""
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("server thread did not start")

    def call(self, fn: Callable[[], Any]) -> None:
        """Run fn in the server's loop (thread-safe)."""
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:
        return (0, 0)


class FakeTelegram:
    """The fake Bot API. Use as a context manager; inject updates and wait for calls."""

    def __init__(self, token: str = "123456789:TEST-fake-token", username: str = "genpod_test_bot"):
        self.token = token
        self.bot_id = int(token.split(":", maxsplit=1)[0])
        self.me = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "genpod",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.webhook_url: str | None = None
        self._cond = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._ids = itertools.count(1000)
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (path, bytes)
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._failures: dict[str, list[int]] = {}
        self._new_update: asyncio.Event | None = None
        self.server = ThreadedServer(self._app())

    # --- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakeTelegram:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        """Value for TELEGRAM_API_URL."""
        return self.server.url

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        return app

    # --- users, chats, files ---------------------------------------------------------------
    def user(self, user_id: int, lang: str = "en", name: str = "Tester") -> dict[str, Any]:
        """A Telegram User object (and its private chat) for injection."""
        user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": lang}
        self._users[user_id] = user
        self._chats.setdefault(user_id, {"id": user_id, "type": "private", "first_name": name})
        return user

    def group(self, chat_id: int, title: str = "Test group") -> dict[str, Any]:
        """A group Chat object."""
        chat = {"id": chat_id, "type": "group", "title": title}
        self._chats[chat_id] = chat
        return chat

    def add_file(self, data: bytes, path: str) -> str:
        """Serve data under a new file_id; returns the id."""
        file_id = f"FILE{next(self._ids)}"
        self._files[file_id] = (path, data)
        return file_id

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes behind a file_id (files the bot uploaded are served too)."""
        return self._files[file_id][1]

    # --- injecting updates ------------------------------------------------------------------
    def inject(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (update_id is filled in)."""
        update = {"update_id": next(self._update_ids), **update}
        self.server.call(lambda: self._push(update))
        return update

    def _push(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        waiting, self._new_update = self._new_update, None
        if waiting is not None:
            waiting.set()  # wakes every pending long poll

    def _incoming(self, user_id: int, chat: dict[str, Any] | None, **fields: Any) -> dict[str, Any]:
        user = self._users.get(user_id) or self.user(user_id)
        chat = chat or self._chats[user_id]
        msg = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            **fields,
        }
        self._messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def send_text(
        self, user_id: int, text: str, *, chat: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """The user sends text (commands get a bot_command entity, as Telegram does)."""
        if text.startswith("/"):
            length = len(text.split(maxsplit=1)[0])
            fields.setdefault("entities", [{"type": "bot_command", "offset": 0, "length": length}])
        msg = self._incoming(user_id, chat, text=text, **fields)
        self.inject({"message": msg})
        return msg

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        media_group_id: str | None = None,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (two sizes, both served by getFile)."""
        width, height = _image_size(data)
        sizes = []
        for scale in (4, 1):
            file_id = self.add_file(data, f"photos/file_{next(self._ids)}.jpg")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": width // scale,
                    "height": height // scale,
                    "file_size": len(data),
                }
            )
        extra: dict[str, Any] = {"photo": sizes}
        if media_group_id:
            extra["media_group_id"] = media_group_id
        if caption:
            extra["caption"] = caption
        msg = self._incoming(user_id, chat, **extra)
        self.inject({"message": msg})
        return msg

    def send_document(
        self,
        user_id: int,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        file_size: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; file_size can claim more than data holds (Telegram's limit)."""
        file_id = self.add_file(data, f"documents/{file_name}")
        doc = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": file_size if file_size is not None else len(data),
        }
        msg = self._incoming(user_id, None, document=doc)
        self.inject({"message": msg})
        return msg

    def send_sticker(self, user_id: int) -> dict[str, Any]:
        """The user sends a sticker."""
        sticker = {
            "file_id": self.add_file(b"RIFF", "stickers/s.webp"),
            "file_unique_id": "st",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        msg = self._incoming(user_id, None, sticker=sticker)
        self.inject({"message": msg})
        return msg

    def send_voice(self, user_id: int) -> dict[str, Any]:
        """The user sends a voice note."""
        voice = {
            "file_id": self.add_file(b"OggS", "voice/v.ogg"),
            "file_unique_id": "vo",
            "duration": 3,
            "mime_type": "audio/ogg",
        }
        msg = self._incoming(user_id, None, voice=voice)
        self.inject({"message": msg})
        return msg

    def edit_text(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """The user edits an earlier message."""
        edited = {**message, "text": text, "edit_date": int(time.time())}
        self.inject({"edited_message": edited})
        return edited

    def press(self, user_id: int, call: Call, button_text: str) -> dict[str, Any]:
        """The user presses an inline button of the message the bot sent in call."""
        data = call.button(button_text)["callback_data"]
        return self.press_data(user_id, call.result, data)

    def press_data(self, user_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """A callback query with arbitrary data on a bot message."""
        user = self._users.get(user_id) or self.user(user_id)
        query = {
            "id": str(next(self._ids)),
            "from": user,
            "message": message,
            "chat_instance": "ci",
            "data": data,
        }
        self.inject({"callback_query": query})
        return query

    # --- failures ---------------------------------------------------------------------------
    def fail_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of method with 429 and retry_after."""
        with self._cond:
            self._failures.setdefault(method, []).extend([retry_after] * times)

    # --- observing calls --------------------------------------------------------------------
    def mark(self) -> int:
        """An index into calls; pass as since= to wait only for later calls."""
        with self._cond:
            return len(self.calls)

    def wait_for(
        self, predicate: Callable[[Call], bool], *, since: int = 0, timeout: float = 15.0
    ) -> Call:
        """The first call (from index since) matching predicate, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self.calls[since:]:
                    if predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.text[:60]) for c in self.calls[since:]]
                    raise TimeoutError(f"no matching call within {timeout}s; calls: {seen}")
                self._cond.wait(left)

    def wait_call(
        self,
        method: str,
        chat_id: int | None = None,
        *,
        since: int = 0,
        contains: str = "",
        timeout: float = 15.0,
    ) -> Call:
        """The first call of method (to chat_id, with text containing contains)."""
        return self.wait_for(
            lambda c: (
                c.method == method
                and (chat_id is None or c.chat_id == chat_id)
                and contains in c.text
            ),
            since=since,
            timeout=timeout,
        )

    def calls_to(self, chat_id: int, method: str | None = None, since: int = 0) -> list[Call]:
        """Calls so far to one chat (optionally of one method)."""
        with self._cond:
            return [
                c
                for c in self.calls[since:]
                if c.chat_id == chat_id and (method is None or c.method == method)
            ]

    # --- HTTP -------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = dict(request.query)
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = value
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                params[key] = json.loads(params[key])
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params, files = await self._params(request)
        call = Call(method, params, files)
        retry_after = self._take_failure(method)
        if retry_after is not None:
            self._record(call)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
                status=429,
            )
        if method != "getUpdates":
            self._record(call)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = (
                await handler(params, files) if method == "getUpdates" else handler(params, files)
            )
        except _ApiError as exc:
            return _error(exc.status, exc.description)
        call.result = result
        return web.json_response({"ok": True, "result": result})

    def _take_failure(self, method: str) -> int | None:
        with self._cond:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        for file_path, data in self._files.values():
            if file_path == path:
                return web.Response(body=data)
        return _error(404, "Not Found")

    # --- methods ----------------------------------------------------------------------------
    async def _m_getUpdates(self, params: dict[str, Any], _: dict[str, bytes]) -> list[Any]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            if self._new_update is None:
                self._new_update = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[:limit]

    def _m_getMe(self, *_: Any) -> dict[str, Any]:
        return self.me

    def _m_deleteWebhook(self, *_: Any) -> bool:
        self.webhook_url = None
        return True

    def _m_setWebhook(self, params: dict[str, Any], _: dict[str, bytes]) -> bool:
        self.webhook_url = params.get("url")
        return True

    def _m_getWebhookInfo(self, *_: Any) -> dict[str, Any]:
        return {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        if chat_id not in self._chats:
            raise _ApiError(400, "Bad Request: chat not found")
        return self._chats[chat_id]

    def _outgoing(self, params: dict[str, Any], **fields: Any) -> dict[str, Any]:
        msg = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self._chat(params),
            "from": {k: self.me[k] for k in ("id", "is_bot", "first_name", "username")},
            **fields,
        }
        if params.get("reply_markup"):
            msg["reply_markup"] = params["reply_markup"]
        self._messages[(msg["chat"]["id"], msg["message_id"])] = msg
        return msg

    def _m_sendMessage(self, params: dict[str, Any], _: dict[str, bytes]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._outgoing(params, text=text)

    def _upload(self, params: dict[str, Any], files: dict[str, bytes], name: str) -> bytes:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            return files[value[len("attach://") :]]
        if name in files:
            return files[name]
        if isinstance(value, str) and value in self._files:
            return self._files[value][1]
        raise _ApiError(400, f"Bad Request: there is no {name} in the request")

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        width, height = _image_size(data)
        if not width:
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise _ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        file_id = self.add_file(data, f"photos/sent_{next(self._ids)}.jpg")
        return [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": width,
                "height": height,
                "file_size": len(data),
            }
        ]

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"caption": params["caption"]} if params.get("caption") else {}

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        sizes = self._photo_sizes(self._upload(params, files, "photo"))
        spoiler = str(params.get("has_spoiler", "")).lower() == "true"
        extra = {"has_media_spoiler": True} if spoiler else {}
        return self._outgoing(params, photo=sizes, **self._caption(params), **extra)

    def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        data = self._upload(params, files, "document")
        file_id = self.add_file(data, f"documents/sent_{next(self._ids)}")
        doc = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data)}
        return self._outgoing(params, document=doc, **self._caption(params))

    def _m_sendMediaGroup(self, params: dict[str, Any], files: dict[str, bytes]) -> list[Any]:
        media = params.get("media") or []
        if not 2 <= len(media) <= 10:
            raise _ApiError(400, "Bad Request: wrong number of media in the group")
        group_id = str(next(self._ids))
        out = []
        for item in media:
            data = self._upload({"media": item["media"]}, files, "media")
            extra = {"has_media_spoiler": True} if item.get("has_spoiler") else {}
            out.append(
                self._outgoing(
                    {"chat_id": params["chat_id"]},
                    media_group_id=group_id,
                    photo=self._photo_sizes(data),
                    **extra,
                )
            )
        return out

    def _stored(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self._messages:
            raise _ApiError(400, "Bad Request: message to edit not found")
        return self._messages[key]

    def _m_editMessageText(self, params: dict[str, Any], _: dict[str, bytes]) -> dict[str, Any]:
        msg = self._stored(params)
        markup = params.get("reply_markup")
        if msg.get("text") == params.get("text") and msg.get("reply_markup") == markup:
            raise _ApiError(400, NOT_MODIFIED)
        msg["text"], msg["edit_date"] = params.get("text"), int(time.time())
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        return msg

    def _m_editMessageCaption(self, params: dict[str, Any], _: dict[str, bytes]) -> dict[str, Any]:
        msg = self._stored(params)
        if msg.get("caption") == params.get("caption"):
            raise _ApiError(400, NOT_MODIFIED)
        msg["caption"] = params.get("caption")
        return msg

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], _: dict[str, bytes]) -> Any:
        msg = self._stored(params)
        if msg.get("reply_markup") == params.get("reply_markup"):
            raise _ApiError(400, NOT_MODIFIED)
        msg["reply_markup"] = params.get("reply_markup")
        return msg

    def _m_deleteMessage(self, params: dict[str, Any], _: dict[str, bytes]) -> bool:
        self._messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return True

    def _m_sendChatAction(self, params: dict[str, Any], _: dict[str, bytes]) -> bool:
        self._chat(params)
        return True

    def _m_answerCallbackQuery(self, *_: Any) -> bool:
        return True

    def _m_getFile(self, params: dict[str, Any], _: dict[str, bytes]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, data = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    def _m_close(self, *_: Any) -> bool:
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _error(status: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": status, "description": description}, status=status
    )
