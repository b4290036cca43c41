"""The worker side of the worker protocol: lease, progress, result and failure calls."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from common.protocol import (
    JobFailure,
    JobResult,
    Lease,
    LeaseRequest,
    ProgressAnswer,
    ProgressReport,
)
from gpu_server.errors import BackendUnavailable, LeaseLost


class BackendClient:
    """Calls the backend's /worker routes with the worker token."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, token: str, *, timeout_s: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout_s = timeout_s

    async def lease(self, request: LeaseRequest) -> Lease | None:
        """Long-poll for one job; None when the backend had none within wait_s (204)."""
        timeout = self._timeout_s + request.wait_s
        response = await self._post("/worker/lease", request, timeout_s=timeout)
        if response.status_code == 204:
            return None
        return _parse(Lease, response)

    async def progress(self, job_id: str, report: ProgressReport) -> ProgressAnswer:
        """Report progress (renews the lease); the answer may ask to cancel."""
        response = await self._post(f"/worker/jobs/{job_id}/progress", report)
        return _parse(ProgressAnswer, response)

    async def result(self, job_id: str, result: JobResult) -> None:
        """Submit a job's images; repeating it with the same lease is a no-op."""
        await self._post(f"/worker/jobs/{job_id}/result", result)

    async def failure(self, job_id: str, failure: JobFailure) -> None:
        """Report that a job failed; repeating it with the same lease is a no-op."""
        await self._post(f"/worker/jobs/{job_id}/failure", failure)

    async def _post(
        self, path: str, body: BaseModel, *, timeout_s: float | None = None
    ) -> httpx.Response:
        try:
            response = await self._http.post(
                f"{self.base_url}{path}",
                content=body.model_dump_json(),
                headers={**self._headers, "Content-Type": "application/json"},
                timeout=timeout_s or self._timeout_s,
            )
        except httpx.TransportError as exc:
            raise BackendUnavailable(f"backend unreachable on {path}: {exc!r}") from exc
        if response.status_code == 409:
            raise LeaseLost(f"backend says the lease is stale on {path}: {response.text[:200]}")
        retry_later = {401, 403, 429} | ({404} if path == "/worker/lease" else set())
        if response.status_code >= 500 or response.status_code in retry_later:
            # 401/403 while the token rotates, 404 on /lease during a deploy: retry later.
            raise BackendUnavailable(f"backend answered {response.status_code} on {path}")
        if response.status_code >= 400:
            raise LeaseLost(f"backend refused {path}: {response.status_code} {response.text[:200]}")
        return response


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        data: Any = response.json()
        return model.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise BackendUnavailable(f"backend sent an unreadable {model.__name__}: {exc}") from exc
