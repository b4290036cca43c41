"""A loopback stand-in for the backend's public API (docs/architecture.md, "Public API").

Follows the contract at the HTTP boundary: POST /tasks (202 TaskView), GET /tasks/{id},
GET /tasks/{id}/events (SSE), GET /tasks/{id}/image, DELETE /tasks/{id}, GET /styles,
GET /health, GET /metrics, error shape {error_code, error}. Jobs advance on their own
(queued 2 → 1 → steps 1..4 → done); tests can script errors and slow jobs.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image

from tests.support.fake_telegram import ThreadedServer

API_KEY = "stub-bot-key"
STYLES = [
    {"id": "realism", "display_name": "Realism", "resolutions": [[1024, 1024], [832, 1216]]},
    {"id": "lux", "display_name": "Lux", "resolutions": [[1024, 1024]]},
    {"id": "anime", "display_name": "Anime", "resolutions": [[512, 768], [768, 512]]},
    {"id": "chatgpt", "display_name": "ChatGPT", "resolutions": [[1024, 1024]]},
]
FINAL = {"done", "failed", "cancelled", "expired"}
PANORAMA = (8000, 2100)  # beyond Telegram's photo limit (width + height <= 10000)


@dataclass
class StubJob:
    """One task and the events it produced so far."""

    task_id: str
    body: dict[str, Any]
    user: str
    status: str = "queued"
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error_code: str | None = None
    step: int = 0
    adult: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def count(self) -> int:
        """How many images the job makes."""
        return int(self.body.get("extra_params", {}).get("batch_size", 1))

    def view(self) -> dict[str, Any]:
        """The TaskView of the contract."""
        return {
            "task_id": self.task_id,
            "status": self.status,
            "mode": self.body.get("mode"),
            "style": self.body.get("style"),
            "queue_position": 1 if self.status == "queued" else None,
            "progress": {"step": self.step, "total": 4},
            "error": self.error_code,
            "error_code": self.error_code,
            "seed": 1234,
            "adult": self.adult,
            "image_count": self.count,
            "created_at": "2026-01-01T00:00:00Z",
            "started_at": None,
            "finished_at": None,
        }


def image_bytes(seed: int, fmt: str = "png", size: int | tuple[int, int] = 64) -> bytes:
    """A distinct image for a seed (square by default), encoded as fmt."""
    color = ((seed * 53) % 256, (seed * 97) % 256, (seed * 191) % 256)
    out = io.BytesIO()
    dims = (size, size) if isinstance(size, int) else size
    Image.new("RGB", dims, color).save(out, format="JPEG" if fmt == "jpeg" else fmt.upper())
    return out.getvalue()


class StubBackend:
    """The stub; use as a context manager. Every request is recorded in `requests`."""

    def __init__(self, policy: str = "sfw", step_delay: float = 0.05) -> None:
        self.policy = policy
        self.step_delay = step_delay
        self.jobs: dict[str, StubJob] = {}
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self._create_errors: list[tuple[int, str | None, int | None]] = []
        self._job_failures: list[str] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_get("/styles", self._styles)
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/tasks", self._create)
        app.router.add_get("/tasks/{id}", self._task)
        app.router.add_delete("/tasks/{id}", self._cancel)
        app.router.add_get("/tasks/{id}/events", self._events)
        app.router.add_get("/tasks/{id}/image", self._image)
        self.server = ThreadedServer(app)

    def __enter__(self) -> StubBackend:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for job in list(self.jobs.values()):
            self.server.call(job.release.set)
        self.server.stop()

    @property
    def url(self) -> str:
        """Value for BACKEND_API_URL."""
        return self.server.url

    # --- scripting --------------------------------------------------------------------------
    def fail_next_create(
        self, status: int, code: str | None, retry_after: int | None = None
    ) -> None:
        """The next POST /tasks answers status with code (None: a non-JSON 502-style page)."""
        with self._lock:
            self._create_errors.append((status, code, retry_after))

    def fail_next_job(self, code: str) -> None:
        """The next job ends with a failed event carrying code."""
        with self._lock:
            self._job_failures.append(code)

    def release(self, task_id: str) -> None:
        """Let a job held by the word 'slow' in its prompt finish."""
        self.server.call(self.jobs[task_id].release.set)

    def seen(self, method: str, path_part: str) -> list[tuple[str, str, dict[str, str], Any]]:
        """Recorded requests of method whose path contains path_part."""
        with self._lock:
            return [r for r in self.requests if r[0] == method and path_part in r[1]]

    def last_job(self) -> StubJob:
        """The newest job."""
        return list(self.jobs.values())[-1]

    # --- HTTP -------------------------------------------------------------------------------
    def _record(self, request: web.Request, body: Any = None) -> web.Response | None:
        with self._lock:
            self.requests.append((request.method, request.path_qs, dict(request.headers), body))
        if request.path.startswith("/tasks") and request.headers.get("X-API-Key") != API_KEY:
            return _error(401, "unauthorized", "A valid X-API-Key is required.")
        return None

    async def _styles(self, request: web.Request) -> web.Response:
        self._record(request)
        return web.json_response({"content_policy": self.policy, "styles": STYLES})

    async def _health(self, request: web.Request) -> web.Response:
        self._record(request)
        queued = sum(1 for j in self.jobs.values() if j.status == "queued")
        failed = sum(1 for j in self.jobs.values() if j.status == "failed")
        return web.json_response(
            {
                "status": "ok",
                "queue_depth": queued,
                "jobs_today": len(self.jobs),
                "failures_today": failed,
            }
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        self._record(request)
        done = sum(1 for j in self.jobs.values() if j.status == "done")
        failed = sum(1 for j in self.jobs.values() if j.status == "failed")
        text = (
            "# TYPE genpod_jobs_submitted_total counter\n"
            f'genpod_jobs_submitted_total{{mode="free",style="realism"}} {len(self.jobs) - done}\n'
            f'genpod_jobs_submitted_total{{mode="free",style="lux"}} {done}\n'
            f'genpod_job_failures_total{{error_code="output_blocked"}} {failed}\n'
        )
        return web.Response(text=text, content_type="text/plain")

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        denied = self._record(request, body)
        if denied:
            return denied
        with self._lock:
            scripted = self._create_errors.pop(0) if self._create_errors else None
        if scripted:
            status, code, retry_after = scripted
            if code is None:
                return web.Response(
                    status=status, text="<html>Bad Gateway</html>", content_type="text/html"
                )
            headers = {"Retry-After": str(retry_after)} if retry_after else {}
            return _error(status, code, f"refused: {code}", headers)
        job = StubJob(uuid.uuid4().hex, body, request.headers.get("X-End-User-Id", ""))
        job.adult = self.policy == "adult" and "adult" in str(body.get("prompt", ""))
        self.jobs[job.task_id] = job
        with self._lock:
            failure = self._job_failures.pop(0) if self._job_failures else None
        asyncio.get_running_loop().create_task(self._advance(job, failure))
        return web.json_response(job.view(), status=202)

    async def _advance(self, job: StubJob, failure: str | None) -> None:
        for position in (2, 1):
            self._emit(job, "queued", {"position": position})
            await asyncio.sleep(self.step_delay)
        for step in range(1, 5):
            if job.status in FINAL:
                return
            job.status, job.step = "running", step
            self._emit(job, "running", {"step": step, "total": 4})
            if step == 2 and "slow" in str(job.body.get("prompt", "")):
                await job.release.wait()
            await asyncio.sleep(self.step_delay)
        if job.status in FINAL:
            return
        if failure:
            job.status, job.error_code = "failed", failure
            self._emit(job, "failed", {"error_code": failure, "error": "stub failure"})
        else:
            job.status = "done"
            self._emit(job, "done", job.view())

    def _emit(self, job: StubJob, kind: str, data: dict[str, Any]) -> None:
        job.events.append((kind, data))

    async def _task(self, request: web.Request) -> web.Response:
        denied = self._record(request)
        job = self.jobs.get(request.match_info["id"])
        if denied or job is None:
            return denied or _error(404, "not_found", "No such task.")
        return web.json_response(job.view())

    async def _cancel(self, request: web.Request) -> web.Response:
        denied = self._record(request)
        job = self.jobs.get(request.match_info["id"])
        if denied or job is None:
            return denied or _error(404, "not_found", "No such task.")
        if job.status in FINAL:
            return _error(409, "task_finished", "The task is already finished.")
        job.status = "cancelled"
        self._emit(job, "cancelled", {})
        job.release.set()
        return web.json_response(job.view())

    async def _events(self, request: web.Request) -> web.StreamResponse:
        denied = self._record(request)
        job = self.jobs.get(request.match_info["id"])
        if denied or job is None:
            return denied or _error(404, "not_found", "No such task.")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        sent = 0
        while True:
            while sent < len(job.events):
                kind, data = job.events[sent]
                sent += 1
                await response.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
                if kind in FINAL:
                    return response
            await asyncio.sleep(0.01)

    async def _image(self, request: web.Request) -> web.Response:
        denied = self._record(request)
        job = self.jobs.get(request.match_info["id"])
        if denied or job is None:
            return denied or _error(404, "not_found", "No such task.")
        if job.status != "done":
            return _error(409, "task_not_finished", "Not finished.")
        index = int(request.query.get("index", 0))
        if index >= job.count:
            return _error(404, "not_found", "No such image.")
        fmt = request.query.get("format", "png")
        size: int | tuple[int, int] = 256 if job.body.get("mode") == "upscale" else 64
        if "panorama" in str(job.body.get("prompt", "")):
            size = PANORAMA
        return web.Response(body=image_bytes(index + 1, fmt, size), content_type=f"image/{fmt}")


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error_code": code, "error": message, "task_id": None}, status=status, headers=headers
    )
