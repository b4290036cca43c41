"""The bot's only way to the backend: one httpx.AsyncClient over the public API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telegram_bot.errors import BackendError, BackendUnavailable

STYLES_TTL_S = 60.0
FINAL_EVENTS = frozenset({"done", "failed", "cancelled", "expired"})


class Progress(BaseModel):
    """Sampler progress of a running task."""

    step: int = 0
    total: int = 0


class TaskView(BaseModel):
    """What the backend tells about one task (GET /tasks/{id})."""

    model_config = ConfigDict(extra="ignore")

    task_id: str
    status: str
    mode: str | None = None
    style: str | None = None
    queue_position: int | None = None
    progress: Progress | None = None
    error: str | None = None
    error_code: str | None = None
    seed: int | None = None
    adult: bool = False
    image_count: int = 1

    @property
    def final(self) -> bool:
        """True once the task will not change any more."""
        return self.status in FINAL_EVENTS


class StyleInfo(BaseModel):
    """One style as /styles lists it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    display_name: str = ""
    resolutions: list[tuple[int, int]] = Field(default_factory=list)

    @property
    def title(self) -> str:
        """The name shown on buttons."""
        return self.display_name or self.id.capitalize()


class Catalog(BaseModel):
    """The parts of /styles the bot uses."""

    content_policy: str = "sfw"
    styles: list[StyleInfo] = Field(default_factory=list)

    def style(self, style_id: str | None) -> StyleInfo | None:
        """The style with this id, if the backend offers it."""
        return next((s for s in self.styles if s.id == style_id), None)


class TaskEvent(BaseModel):
    """One server-sent event of GET /tasks/{id}/events."""

    kind: str
    data: dict[str, Any] = Field(default_factory=dict)


def _catalog(payload: dict[str, Any]) -> Catalog:
    """Accept styles as a list of objects or as a mapping keyed by id."""
    styles = payload.get("styles", [])
    if isinstance(styles, dict):
        styles = [{"id": key, **value} for key, value in styles.items()]
    return Catalog(content_policy=payload.get("content_policy", "sfw"), styles=styles)


def _error_from(response: httpx.Response) -> BackendError:
    """Turn an error answer into a typed error; anything unparsable means the backend is down."""
    try:
        body = response.json()
        code, message = str(body["error_code"]), str(body.get("error", ""))
    except (ValueError, KeyError, TypeError):
        return BackendUnavailable(f"backend answered {response.status_code}")
    retry_after = response.headers.get("Retry-After")
    wait = float(retry_after) if retry_after and retry_after.isdigit() else None
    return BackendError(code, message, status=response.status_code, retry_after=wait)


class BackendClient:
    """Typed calls to the backend; every failure is a BackendError."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._http = client
        self._catalog: tuple[float, Catalog] | None = None

    @staticmethod
    def build_http(base_url: str, api_key: str, timeout_s: float) -> httpx.AsyncClient:
        """The one AsyncClient of the process, with the bot's key and explicit timeouts."""
        return httpx.AsyncClient(
            base_url=base_url,
            headers={"X-API-Key": api_key},
            timeout=httpx.Timeout(timeout_s, connect=5.0),
        )

    async def _request(self, method: str, url: str, user_id: int | None, **kw: Any) -> Any:
        headers = _user_headers(user_id, kw.pop("adult", False))
        try:
            response = await self._http.request(method, url, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    async def catalog(self, *, fresh: bool = False) -> Catalog:
        """Styles and the content policy, cached for a minute."""
        now = time.monotonic()
        if not fresh and self._catalog and now - self._catalog[0] < STYLES_TTL_S:
            return self._catalog[1]
        response = await self._request("GET", "/styles", None)
        try:
            catalog = _catalog(response.json())
        except (ValueError, ValidationError) as exc:
            raise BackendUnavailable("unreadable /styles answer") from exc
        self._catalog = (now, catalog)
        return catalog

    async def create_task(self, user_id: int, body: dict[str, Any], *, adult: bool) -> TaskView:
        """POST /tasks: queue a job for this Telegram user."""
        response = await self._request("POST", "/tasks", user_id, json=body, adult=adult)
        return _task(response)

    async def task(self, user_id: int, task_id: str) -> TaskView:
        """GET /tasks/{id}."""
        return _task(await self._request("GET", f"/tasks/{task_id}", user_id))

    async def cancel(self, user_id: int, task_id: str) -> TaskView:
        """DELETE /tasks/{id}: ask the backend to cancel."""
        return _task(await self._request("DELETE", f"/tasks/{task_id}", user_id))

    async def image(self, user_id: int, task_id: str, index: int = 0, fmt: str = "png") -> bytes:
        """GET /tasks/{id}/image: one finished image in the format asked for."""
        params = {"index": index, "format": fmt}
        url = f"/tasks/{task_id}/image"
        response = await self._request("GET", url, user_id, params=params)
        return bytes(response.content)

    async def health(self) -> dict[str, Any]:
        """GET /health as a dict."""
        data = (await self._request("GET", "/health", None)).json()
        return data if isinstance(data, dict) else {"status": data}

    async def events(self, user_id: int, task_id: str) -> AsyncIterator[TaskEvent]:
        """Follow GET /tasks/{id}/events until its final event."""
        headers = _user_headers(user_id, False)
        timeout = httpx.Timeout(None, connect=5.0)
        url = f"/tasks/{task_id}/events"
        try:
            async with self._http.stream("GET", url, headers=headers, timeout=timeout) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise _error_from(resp)
                async for event in _parse_sse(resp.aiter_lines()):
                    yield event
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"event stream broke: {exc}") from exc


def _user_headers(user_id: int | None, adult: bool) -> dict[str, str]:
    headers = {} if user_id is None else {"X-End-User-Id": str(user_id)}
    if adult:
        headers["X-Adult-Confirmed"] = "true"
    return headers


def _task(response: httpx.Response) -> TaskView:
    try:
        return TaskView.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise BackendUnavailable("unreadable task answer") from exc


async def _parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[TaskEvent]:
    """Minimal text/event-stream parser: `event:` names, `data:` JSON, blank line ends one."""
    kind, data = "message", ""
    async for line in lines:
        if line.startswith(":"):
            continue
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line.strip() and (data or kind != "message"):
            yield TaskEvent(kind=kind, data=_json_object(data))
            if kind in FINAL_EVENTS:
                return
            kind, data = "message", ""


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {"value": value}
