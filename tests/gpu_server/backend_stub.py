"""A loopback stand-in for the backend's /worker routes that follows the worker protocol exactly."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from common.protocol import JobFailure, JobResult, JobSpec, Lease, LeaseRequest, ProgressReport

TOKEN = "stub-worker-token"


@dataclass
class StubBackend:
    """Queue of jobs, current lease per job, everything the worker sent, and faults."""

    jobs: asyncio.Queue[JobSpec] = field(default_factory=asyncio.Queue)
    current_lease: dict[str, str] = field(default_factory=dict)
    cancel: set[str] = field(default_factory=set)
    lease_requests: list[tuple[float, LeaseRequest]] = field(default_factory=list)
    progress: list[tuple[str, ProgressReport]] = field(default_factory=list)
    results: list[tuple[str, JobResult]] = field(default_factory=list)
    failures: list[tuple[str, JobFailure]] = field(default_factory=list)
    fail_next_results: int = 0  # answer 503 to this many result posts (after storing nothing)
    done: dict[str, JobResult | JobFailure] = field(default_factory=dict)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    lease_ttl_s: float = 30.0
    _runner: web.AppRunner | None = None
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/worker/lease", self._lease)
        app.router.add_post("/worker/jobs/{job_id}/progress", self._progress)
        app.router.add_post("/worker/jobs/{job_id}/result", self._result)
        app.router.add_post("/worker/jobs/{job_id}/failure", self._failure)
        return app

    async def start(self, port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error_code": "unauthorized"}, status=401)
        return await handler(request)

    async def _lease(self, request: web.Request) -> web.Response:
        body = LeaseRequest.model_validate(await request.json())
        self.lease_requests.append((time.monotonic(), body))
        try:
            job = await asyncio.wait_for(self.jobs.get(), timeout=body.wait_s)
        except TimeoutError:
            return web.Response(status=204)
        lease_id = uuid.uuid4().hex
        self.current_lease[job.job_id] = lease_id
        lease = Lease(lease_id=lease_id, lease_ttl_s=self.lease_ttl_s, attempt=1, job=job)
        return web.json_response(text=lease.model_dump_json())

    def _stale(self, job_id: str, lease_id: str) -> web.Response | None:
        if self.current_lease.get(job_id) != lease_id:
            return web.json_response({"error_code": "lease_stale"}, status=409)
        return None

    async def _progress(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        report = ProgressReport.model_validate(await request.json())
        self.progress.append((job_id, report))
        stale = self._stale(job_id, report.lease_id)
        if stale is not None:
            return stale
        return web.json_response({"cancel": job_id in self.cancel, "lease_ttl_s": self.lease_ttl_s})

    async def _result(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        result = JobResult.model_validate(await request.json())
        self.results.append((job_id, result))
        if self.fail_next_results > 0:
            self.fail_next_results -= 1
            return web.Response(status=503)
        return self._finish(job_id, result.lease_id, result)

    async def _failure(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        failure = JobFailure.model_validate(await request.json())
        self.failures.append((job_id, failure))
        return self._finish(job_id, failure.lease_id, failure)

    def _finish(self, job_id: str, lease_id: str, outcome: JobResult | JobFailure) -> web.Response:
        stale = self._stale(job_id, lease_id)
        if stale is not None:
            return stale
        self.done.setdefault(job_id, outcome)  # a repeat with the same lease is a no-op
        self.finished.set()
        return web.json_response({"ok": True})

    async def wait_done(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.done) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.done)} of {count} jobs finished: {self.done}")
            await asyncio.sleep(0.02)
