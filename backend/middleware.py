"""Pure ASGI middleware: request body size limit and per-route request metrics."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.services.metrics import Metrics
from common.error_codes import ErrorCode

BODYLESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error_code": ErrorCode.BODY_TOO_LARGE,
            "error": f"The request body is larger than {limit / 1_000_000:g} MB.",
            "task_id": None,
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitAndMetrics:
    """Refuses bodies over the limit (declared or streamed) and counts answers by route."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the body, run the app, count the answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        if scope["method"] not in BODYLESS:
            replay = await self._read_body(scope, receive)
            if replay is None:
                await _too_large(counting_send, self.max_body_bytes)
                self._count(scope, 413)
                return
            receive = replay
        try:
            await self.app(scope, receive, counting_send)
        finally:
            self._count(scope, status["code"])

    async def _read_body(self, scope: Scope, receive: Receive) -> Receive | None:
        """The whole body (None when over the limit), replayed to the app as one message."""
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                break
        first: dict[str, Any] = {
            "type": "http.request",
            "body": b"".join(chunks),
            "more_body": False,
        }
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return first
            return await receive()

        return replay

    def _count(self, scope: Scope, status: int) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.request(path, status)
